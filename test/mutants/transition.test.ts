/**
 * The pure stepping layer on a small machine of its own: which transitions a step reports, when an
 * event counts as accepted, and that nothing a step handed back changes afterwards (the actor scope
 * is shared between calls, so a list left attached to it would keep growing in the caller's hands).
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { pureTransition, step } from '../../src/runtime/transition.ts';

const door = createMachine({
  id: 'door',
  initial: 'closed',
  entry: { type: 'greet', params: { to: 'visitor' } },
  states: {
    closed: {
      on: {
        knock: [
          { guard: ({ event }) => (event as { loud?: boolean }).loud === true, target: 'open', actions: { type: 'answer', params: { how: 'loud' } } },
          { actions: { type: 'ignore' } },
        ],
        push: { guard: () => false, target: 'open' },
        wait: {},
      },
    },
    open: { type: 'final' },
  },
});

describe('pure stepping', () => {
  it('should start a machine with its entry actions and no event', () => {
    const [snapshot, actions] = pureTransition(door, undefined, undefined, {});
    expect(snapshot.value).toBe('closed');
    expect(actions).toEqual([{ type: 'greet', params: { to: 'visitor' } }]);
  });

  it('should report each taken transition with its source, event, branch and targets', () => {
    const [start] = pureTransition(door, undefined, undefined, {});
    const loud = step(door, start, { type: 'knock', loud: true } as never, true);
    expect(loud.taken).toEqual([{ source: 'door.closed', event: 'knock', branch: 0, targets: ['door.open'] }]);
    expect(loud.actions).toEqual([{ type: 'answer', params: { how: 'loud' } }]);
    expect(loud.next.value).toBe('open');
    const soft = step(door, start, { type: 'knock' }, true);
    expect(soft.taken).toEqual([{ source: 'door.closed', event: 'knock', branch: 1, targets: [] }]);
    expect(soft.next.value).toBe('closed');
  });

  it('should record nothing unless asked', () => {
    const [start] = pureTransition(door, undefined, undefined, {});
    expect(step(door, start, { type: 'knock', loud: true } as never, false).taken).toEqual([]);
  });

  it('should count an event accepted only when a selected transition has a target or actions', () => {
    const [start] = pureTransition(door, undefined, undefined, {});
    expect(step(door, start, { type: 'knock' }, false).accepted).toBe(true);
    expect(step(door, start, { type: 'push' }, false).accepted).toBe(false);
    expect(step(door, start, { type: 'wait' }, false).accepted).toBe(false);
    expect(step(door, start, { type: 'unknown' }, false).accepted).toBe(false);
  });

  it('should leave what a step handed back untouched by the steps after it', () => {
    const [start] = pureTransition(door, undefined, undefined, {});
    const first = step(door, start, { type: 'knock' }, true);
    const recorded = structuredClone(first.taken);
    const emitted = structuredClone(first.actions);
    pureTransition(door, start, { type: 'knock', loud: true } as never);
    pureTransition(door, undefined, undefined, {});
    step(door, start, { type: 'knock', loud: true } as never, false);
    expect(first.taken).toEqual(recorded);
    expect(first.actions).toEqual(emitted);
  });

  it('should judge acceptance afresh after a plain transition', () => {
    const [start] = pureTransition(door, undefined, undefined, {});
    pureTransition(door, start, { type: 'knock' });
    expect(step(door, start, { type: 'push' }, false).accepted).toBe(false);
  });
});
