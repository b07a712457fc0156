import type { AccountId } from '../domain/account.ts';
import type { Instant } from '../domain/time.ts';

export interface Session {
  readonly id: string;
  readonly accountId: AccountId;
  /** The account's security epoch when the session was issued; older epochs are dead. */
  readonly epoch: number;
  readonly createdAt: Instant;
  readonly device: string;
  readonly place: string;
  readonly revokedAt: Instant | null;
}

export interface LoginRecord {
  readonly at: Instant;
  readonly device: string;
  readonly place: string;
  readonly sessionId: string;
}

export interface Sessions {
  get(sessionId: string): Promise<Session | undefined>;
  list(accountId: AccountId): Promise<readonly Session[]>;
  /** Revokes every live session of the account except `keep`; returns how many it ended. */
  revokeAllExcept(accountId: AccountId, keep: string | null, at: Instant, idempotencyKey: string): Promise<number>;
  revoke(sessionId: string, at: Instant): Promise<void>;
  recentLogins(accountId: AccountId, limit: number): Promise<readonly LoginRecord[]>;
}
