import type { FlowEnvelope } from '../../runtime/envelope.ts';
import type { FlowStore } from '../../ports/flowStore.ts';

/**
 * Flows kept as JSON text, as a database would keep them: what comes back is parsed anew, so a
 * value that does not survive serialisation is caught here and not in production.
 */
export class MemoryFlowStore implements FlowStore {
  readonly #rows = new Map<string, { readonly version: number; readonly json: string }>();

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

  async insert(envelope: FlowEnvelope): Promise<boolean> {
    if (this.#rows.has(envelope.flowId)) return false;
    this.#rows.set(envelope.flowId, { version: envelope.version, json: JSON.stringify(envelope) });
    return true;
  }

  async replace(envelope: FlowEnvelope, expectedVersion: number): Promise<boolean> {
    const row = this.#rows.get(envelope.flowId);
    if (row === undefined || row.version !== expectedVersion) return false;
    this.#rows.set(envelope.flowId, { version: envelope.version, json: JSON.stringify(envelope) });
    return true;
  }

  /** Raw stored text, for tests that tamper with storage or look for leaked secrets. */
  raw(flowId: string): string | undefined {
    return this.#rows.get(flowId)?.json;
  }

  overwriteRaw(flowId: string, json: string): void {
    const row = this.#rows.get(flowId);
    this.#rows.set(flowId, { version: row?.version ?? 0, json });
  }

  ids(): string[] {
    return [...this.#rows.keys()];
  }
}
