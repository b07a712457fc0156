/**
 * Pieces every flow definition shares: the nonce and deadline at start, the "is this event
 * possible here" test that keeps lookups and budgets from running for impossible events.
 */
import type { AnyMachineSnapshot } from 'xstate';
import { bytesToId } from '../runtime/ids.ts';
import type { FlowPorts } from '../runtime/ports.ts';

/** A per-flow nonce from the injected random source: part of every code's binding. */
export const newNonce = (ports: FlowPorts): string => bytesToId(ports.random.bytes(16));

/** Whether some active state (or the root) handles events of this type at all. */
export const handlesEventType = (snapshot: AnyMachineSnapshot, type: string): boolean =>
  snapshot.status === 'active' && snapshot._nodes.some((node) => node.on[type] !== undefined);

/** The state value as one dotted string, for views and reports. */
export const stateName = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([key, child]) => `${key}.${stateName(child)}`)
      .join('|');
  }
  return String(value);
};
