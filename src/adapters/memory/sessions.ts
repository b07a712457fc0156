import type { AccountId } from '../../domain/account.ts';
import type { Instant } from '../../domain/time.ts';
import type { LoginRecord, Session, Sessions } from '../../ports/sessions.ts';

export class MemorySessions implements Sessions {
  readonly #sessions = new Map<string, Session>();
  // By account, in sign-in order: a recovery reads its own account's sessions and logins, not the
  // whole world's, so a world of many accounts costs no more per recovery than a small one.
  readonly #ids = new Map<AccountId, string[]>();
  readonly #logins = new Map<AccountId, LoginRecord[]>();
  readonly #revocations = new Map<string, number>();
  #next = 1;

  /** Signs an account in (tests and simulations); the host's own login does this in production. */
  signIn(accountId: AccountId, epoch: number, at: Instant, device = 'phone', place = 'Shanghai'): Session {
    const session: Session = { id: `sess-${this.#next++}`, accountId, epoch, createdAt: at, device, place, revokedAt: null };
    this.#sessions.set(session.id, session);
    push(this.#ids, accountId, session.id);
    push(this.#logins, accountId, { at, device, place, sessionId: session.id });
    return session;
  }

  async get(sessionId: string): Promise<Session | undefined> {
    return this.#sessions.get(sessionId);
  }

  async list(accountId: AccountId): Promise<readonly Session[]> {
    return (this.#ids.get(accountId) ?? []).map((id) => this.#sessions.get(id) as Session);
  }

  async revokeAllExcept(accountId: AccountId, keep: string | null, at: Instant, idempotencyKey: string): Promise<number> {
    const earlier = this.#revocations.get(idempotencyKey);
    if (earlier !== undefined) return earlier;
    let ended = 0;
    for (const id of this.#ids.get(accountId) ?? []) {
      const session = this.#sessions.get(id) as Session;
      if (session.id !== keep && session.revokedAt === null) {
        this.#sessions.set(session.id, { ...session, revokedAt: at });
        ended++;
      }
    }
    this.#revocations.set(idempotencyKey, ended);
    return ended;
  }

  async revoke(sessionId: string, at: Instant): Promise<void> {
    const session = this.#sessions.get(sessionId);
    if (session !== undefined && session.revokedAt === null) this.#sessions.set(sessionId, { ...session, revokedAt: at });
  }

  async recentLogins(accountId: AccountId, limit: number): Promise<readonly LoginRecord[]> {
    if (limit <= 0) return [];
    // `slice(-0)` would be the whole list: a limit of zero asks for none.
    return (this.#logins.get(accountId) ?? [])
      .slice(-limit)
      .reverse()
      .map(({ at, device, place, sessionId }) => ({ at, device, place, sessionId }));
  }

  /** A session is live when not revoked and issued under the account's current epoch. */
  isLive(sessionId: string, currentEpoch: number): boolean {
    const session = this.#sessions.get(sessionId);
    return session !== undefined && session.revokedAt === null && session.epoch === currentEpoch;
  }
}

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
};
