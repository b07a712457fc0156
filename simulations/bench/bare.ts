/**
 * Mode (b): the SMS-recovery machine stepped through the prepared events with nothing around
 * it — no decoding, no store, no ports, no checks. Two ways: a live actor per flow (what most
 * XState code does) and the runtime's own pure stepping with one reused scope.
 */
import { type AnyMachineSnapshot, type AnyStateMachine, createActor } from 'xstate';
import { stateName } from '../../src/flows/common.ts';
import { pureTransition } from '../../src/runtime/transition.ts';
import type { PreparedFlow } from './events.ts';

export type BareMethod = 'actor' | 'pure';

/** The final state of each flow, with a new actor per flow. */
export const stepWithActors = (machine: AnyStateMachine, flows: readonly PreparedFlow[]): string[] => {
  const outcomes: string[] = [];
  for (const flow of flows) {
    const actor = createActor(machine, { input: flow.input });
    actor.start();
    for (const event of flow.events) actor.send(event);
    outcomes.push(stateName(actor.getSnapshot().value));
    actor.stop();
  }
  return outcomes;
};

/** The final state of each flow, stepped purely (`machine.transition` in a reused scope). */
export const stepPurely = (machine: AnyStateMachine, flows: readonly PreparedFlow[]): string[] => {
  const outcomes: string[] = [];
  for (const flow of flows) {
    let [snapshot] = pureTransition(machine, undefined, undefined, flow.input) as [AnyMachineSnapshot, unknown];
    // Like an actor, a finished flow takes no more events (`transition` alone would not refuse them).
    for (const event of flow.events) if (snapshot.status === 'active') [snapshot] = pureTransition(machine, snapshot, event);
    outcomes.push(stateName(snapshot.value));
  }
  return outcomes;
};

export const stepBare = (method: BareMethod, machine: AnyStateMachine, flows: readonly PreparedFlow[]): string[] =>
  method === 'actor' ? stepWithActors(machine, flows) : stepPurely(machine, flows);
