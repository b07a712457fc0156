import type { FlowEnvelope } from '../runtime/envelope.ts';

/**
 * Durable flows. `replace` is a compare-and-set on the envelope's version: of two writers
 * that loaded the same version, exactly one succeeds.
 */
export interface FlowStore {
  load(flowId: string): Promise<unknown>;
  insert(envelope: FlowEnvelope): Promise<boolean>;
  replace(envelope: FlowEnvelope, expectedVersion: number): Promise<boolean>;
}
