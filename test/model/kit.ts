/**
 * Pieces every model-based test shares: commands that read like a story when fast-check prints a
 * shrunk counterexample, the clock moves worth trying (the boundaries of every rule, not only
 * random ones), and the check that a refused step left storage byte for byte as it was.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { ErrorCode } from '../../src/domain/errors.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../../src/domain/time.ts';
import type { StepResult } from '../../src/runtime/runtime.ts';
import type { FaultyHost } from '../support/faultyHost.ts';

/** `9m59.999s`, `1h`, `30d`: how a person would say a wait. */
export const human = (ms: number): string => {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(rest % SECOND === 0 ? `${rest / SECOND}s` : `${(rest / SECOND).toFixed(3).replace(/0+$/, '')}s`);
  return parts.join('');
};

/** A command whose `toString` is its line in the story. */
export const step = <M extends object, R>(label: string, run: (model: M, real: R) => Promise<void>, check: (model: Readonly<M>) => boolean = () => true): fc.AsyncCommand<M, R> => ({
  check,
  run,
  toString: () => label,
});

/** One arbitrary that picks its commands by weight (fc.commands alone picks uniformly). */
export const weighted = <T>(choices: readonly (readonly [weight: number, arbitrary: fc.Arbitrary<T>])[]): fc.Arbitrary<T>[] => [
  fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary }))),
];

/** Clock moves around every boundary the policies draw (cooldown, code and link lifetimes, windows), plus any. */
export const clockMoves = (boundaries: readonly number[]): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...boundaries.flatMap((b) => [b - 1, b, b + 1]).filter((b) => b >= 0)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 * MINUTE }) },
  );

/** What the model says a step must answer: applied, or refused with this code (and nothing changed). */
export type Expected = { readonly ok: true } | { readonly error: ErrorCode };
export const applied: Expected = { ok: true };
export const refused = (error: ErrorCode): Expected => ({ error });

/**
 * Runs one step on the real host, then checks its answer against the model's: a refused step
 * must be a typed error with a message, and must leave the stored flow byte-identical.
 */
export const expectStep = async (host: FaultyHost, flowId: string, expected: Expected, act: () => Promise<StepResult>): Promise<StepResult> => {
  const before = host.world.store.raw(flowId);
  const result = await act();
  if ('error' in expected) {
    expect(E.isLeft(result) ? { code: result.left.code, typed: result.left._tag, message: result.left.message.length > 0 } : { applied: result.right.view.state }).toEqual({
      code: expected.error,
      typed: 'FlowError',
      message: true,
    });
    expect(host.world.store.raw(flowId)).toBe(before);
  } else {
    expect(E.isRight(result) ? 'applied' : `${result.left.code}: ${result.left.message}`).toBe('applied');
  }
  return result;
};

/**
 * Two identical requests at once. Exactly one may be applied; the other loses the
 * compare-and-set (`stale_write`) or finds the step gone. Returns how many were applied.
 */
export const concurrently = async (host: FaultyHost, flowId: string, expected: Expected, act: () => Promise<StepResult>): Promise<void> => {
  const before = host.world.store.raw(flowId);
  const results = await Promise.all([act(), act()]);
  const wins = results.filter(E.isRight);
  if ('error' in expected) {
    expect(results.map((r) => (E.isLeft(r) ? r.left.code : 'applied'))).toEqual([expected.error, expected.error]);
    expect(host.world.store.raw(flowId)).toBe(before);
    return;
  }
  expect(wins).toHaveLength(1);
  const loser = results.find(E.isLeft);
  expect(['stale_write', 'event_not_accepted', 'flow_finished']).toContain(loser?.left.code);
};

/** Client events no flow accepts: wrong types, missing fields, internal events forged, junk. */
export const MALFORMED: readonly (readonly [label: string, raw: unknown])[] = [
  ['send null', null],
  ['send a bare string', 'code.submit'],
  ['send an event of no known type', { type: 'no.such.event' }],
  ['send an event with a numeric type', { type: 42 }],
  ['forge the internal clock.tick', { type: 'clock.tick', at: 0 }],
  ['forge delivery.sent', { type: 'delivery.sent' }],
  ['forge account.created', { type: 'account.created', accountId: 'acct-1' }],
  ['forge recovery.applied', { type: 'recovery.applied', revokedSessions: 0, offers: [], recentLogins: [] }],
  ['send an array', [{ type: 'flow.cancel' }]],
];
