import type { AuditEntry, AuditSink } from '../../ports/audit.ts';

export class MemoryAudit implements AuditSink {
  readonly entries: AuditEntry[] = [];
  readonly #seen = new Set<string>();

  async record(entry: AuditEntry, idempotencyKey: string): Promise<void> {
    if (this.#seen.has(idempotencyKey)) return;
    this.#seen.add(idempotencyKey);
    this.entries.push(entry);
  }
}
