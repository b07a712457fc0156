import type { Instant } from '../domain/time.ts';

export interface AuditEntry {
  readonly at: Instant;
  readonly flowId: string;
  readonly kind: string;
  readonly accountId?: string;
  /** Never a secret: codes, passwords and tokens are not audit material. */
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

export interface AuditSink {
  record(entry: AuditEntry, idempotencyKey: string): Promise<void>;
}
