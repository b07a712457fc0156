import type { Instant } from '../../domain/time.ts';
import type { FlowIndex, FlowQueries, FlowStore } from '../../ports/flowStore.ts';
import type { FlowEnvelope } from '../../runtime/envelope.ts';

interface Row {
  readonly version: number;
  readonly json: string;
  readonly index: FlowIndex;
  readonly updatedAt: Instant;
}

const NO_INDEX: FlowIndex = { nextDeadline: null, pendingEffects: 0, finished: false };

/**
 * Flows kept as JSON text, as a database would keep them: what comes back is parsed anew, so a
 * value that does not survive serialisation is caught here and not in production.
 */
export class MemoryFlowStore implements FlowStore, FlowQueries {
  readonly #rows = new Map<string, Row>();

  async load(flowId: string): Promise<unknown> {
    const row = this.#rows.get(flowId);
    if (row === undefined) return undefined;
    try {
      return JSON.parse(row.json);
    } catch {
      // Unparseable storage is handed up as it is; decoding refuses it with a typed error.
      return row.json;
    }
  }

  async insert(envelope: FlowEnvelope, index: FlowIndex = NO_INDEX): Promise<boolean> {
    if (this.#rows.has(envelope.flowId)) return false;
    this.#rows.set(envelope.flowId, { version: envelope.version, json: JSON.stringify(envelope), index, updatedAt: envelope.updatedAt });
    return true;
  }

  async replace(envelope: FlowEnvelope, expectedVersion: number, index: FlowIndex = NO_INDEX): Promise<boolean> {
    const row = this.#rows.get(envelope.flowId);
    if (row === undefined || row.version !== expectedVersion) return false;
    this.#rows.set(envelope.flowId, { version: envelope.version, json: JSON.stringify(envelope), index, updatedAt: envelope.updatedAt });
    return true;
  }

  async due(now: Instant, limit: number): Promise<readonly { flowId: string; at: Instant }[]> {
    const due: { flowId: string; at: Instant }[] = [];
    for (const [flowId, row] of this.#rows) {
      const at = row.index.nextDeadline;
      if (at !== null && at <= now) due.push({ flowId, at });
    }
    return due.sort((a, b) => a.at - b.at || (a.flowId < b.flowId ? -1 : 1)).slice(0, limit);
  }

  async nextDeadlineAfter(now: Instant): Promise<Instant | null> {
    let next: Instant | null = null;
    for (const row of this.#rows.values()) {
      const at = row.index.nextDeadline;
      if (at !== null && at > now && (next === null || at < next)) next = at;
    }
    return next;
  }

  async withPendingEffects(limit: number): Promise<readonly string[]> {
    return [...this.#rows].filter(([, row]) => row.index.pendingEffects > 0).map(([flowId]) => flowId).sort().slice(0, limit);
  }

  async sweep(finishedBefore: Instant, abandonedBefore: Instant): Promise<number> {
    let deleted = 0;
    for (const [flowId, row] of this.#rows) {
      if ((row.index.finished && row.updatedAt < finishedBefore) || row.updatedAt < abandonedBefore) {
        this.#rows.delete(flowId);
        deleted++;
      }
    }
    return deleted;
  }

  /** Raw stored text, for tests that tamper with storage or look for leaked secrets. */
  raw(flowId: string): string | undefined {
    return this.#rows.get(flowId)?.json;
  }

  overwriteRaw(flowId: string, json: string): void {
    const row = this.#rows.get(flowId);
    this.#rows.set(flowId, { version: row?.version ?? 0, json, index: row?.index ?? NO_INDEX, updatedAt: row?.updatedAt ?? 0 });
  }

  ids(): string[] {
    return [...this.#rows.keys()];
  }
}
