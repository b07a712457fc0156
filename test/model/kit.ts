/**
 * Pieces every model-based test shares, so that each test file holds only its flow's rules:
 * - commands that read like a story when fast-check prints a shrunk counterexample, built by
 *   `storyKit` around the file's own `agree` (a person's step, two at once, something happening in
 *   the world, waits, the host's tick, a restart, malformed events);
 * - the clock moves worth trying (the boundaries of every rule, not only random ones);
 * - the check that a refused step left storage byte for byte as it was;
 * - the host a story runs on (the real flow, or a broken one the model must catch) and `stories`,
 *   the property that starts a fresh flow per story and runs its commands.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import type { ErrorCode } from '../../src/domain/errors.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../../src/domain/time.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import type { HostSession, StepReply, StepResult } from '../../src/runtime/runtime.ts';
import { type FaultyHost, faultyHost, type FaultyHostOptions } from '../support/faultyHost.ts';

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
 * compare-and-set (`stale_write`) or finds the step gone.
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

// ---------------------------------------------------------------------------------------------
// the host a story runs on
// ---------------------------------------------------------------------------------------------

/** The real side of every story: a host and the one flow the story drives on it. */
export interface Hosted {
  readonly host: FaultyHost;
  readonly flowId: string;
}

/** A model keeps its own clock, moved in step with the host's. */
export interface Clocked {
  now: number;
}

/** A flow that a signed-in account started, and that answers that session only. */
export interface Owned extends Hosted {
  readonly account: Account;
  readonly owner: HostSession;
}

/** A flow definition to run instead of the shipped one: how a test with teeth plants its bug. */
export type Replacement = (ports: FlowPorts) => FlowDefinition;

/** A host running every shipped flow, or only `replacement` when a test plants a bug. */
export const hostWith = (replacement?: Replacement, options: FaultyHostOptions = {}): FaultyHost =>
  faultyHost({ ...options, ...(replacement === undefined ? {} : { definitions: (w) => [replacement(w)] }) });

/** A story cannot begin on a flow that did not start: that is a broken test, not a finding. */
export const startFlow = async (host: FaultyHost, name: string, session?: HostSession): Promise<StepReply> => {
  const started = await host.runtime.start(name, {}, session);
  if (E.isLeft(started)) throw new Error(started.left.message);
  return started.right;
};

/** A new session of the account at epoch 0, the epoch every seeded account starts at. */
export const signIn = (host: FaultyHost, actor: string): HostSession => ({ actor, sessionId: host.world.sessions.signIn(actor as never, 0, host.world.clock.now()).id });

/** The owner signs out elsewhere: the model's session ends with the host's. */
export const ownerSignsOut = (m: Clocked & { sessionLive: boolean }, r: Owned): Promise<void> => {
  m.sessionLive = false;
  return r.host.world.sessions.revoke(r.owner.sessionId as string, m.now);
};

/** What the real flow shows now; a flow that cannot be read is a broken test, not a finding. */
export const readFlow = async (real: Hosted): Promise<StepReply> => {
  const read = await real.host.runtime.read(real.flowId);
  if (E.isLeft(read)) throw new Error(read.left.message);
  return read.right;
};

// ---------------------------------------------------------------------------------------------
// rules and commands
// ---------------------------------------------------------------------------------------------

/** A model whose events the runtime may refuse before its machine sees them. */
export interface Gated {
  state: string;
  gate(type: string): Expected | undefined;
}

/** The rule of an event that only moves the flow on (cancel, a way out, "done"). */
export const exit =
  <M extends Gated>(type: string, to: M['state']) =>
  (m: M): Expected => {
    const gated = m.gate(type);
    if (gated !== undefined) return gated;
    m.state = to;
    return applied;
  };

/** Who sends a step: a session of the host's, or none (the anonymous side of a flow). */
type Sender<M, R> = (model: Readonly<M>, real: R) => HostSession | undefined;

/**
 * The commands every story is told with, around the file's own `agree` (the real flow shows what
 * the model says). A step's answer comes from the model before the real flow is asked, so the
 * model cannot peek; the event is built first, from what the person can see.
 */
export const storyKit = <M extends Clocked, R extends Hosted>(agree: (model: M, real: R) => Promise<void>) => {
  const from = (who: Sender<M, R>) => {
    const tell = async (m: M, r: R, apply: (m: M) => Expected, event: (m: M, r: R) => unknown): Promise<void> => {
      const session = who(m, r);
      const raw = event(m, r);
      await expectStep(r.host, r.flowId, apply(m), () => r.host.runtime.send(r.flowId, raw, session));
      await agree(m, r);
    };
    const act = (label: string, apply: (m: M) => Expected, event: (m: M, r: R) => unknown): fc.AsyncCommand<M, R> => step(label, (m, r) => tell(m, r, apply, event));
    return {
      act,
      /** The same step `n` times in a row, each checked against the model: one line in the story. */
      times: (n: number, label: string, apply: (m: M) => Expected, event: (m: M, r: R) => unknown): fc.AsyncCommand<M, R> =>
        step(label, async (m, r) => {
          for (let i = 0; i < n; i++) await tell(m, r, apply, event);
        }),
      /** The same request twice at once (a double click, a retry racing the first). */
      twice: (label: string, apply: (m: M) => Expected, event: (m: M, r: R) => unknown): fc.AsyncCommand<M, R> =>
        step(`${label}, twice at once`, async (m, r) => {
          const session = who(m, r);
          const raw = event(m, r);
          await concurrently(r.host, r.flowId, apply(m), () => r.host.runtime.send(r.flowId, raw, session));
          await agree(m, r);
        }),
      /** Events no flow accepts: refused as input, nothing changed. */
      malformed: (): fc.Arbitrary<fc.AsyncCommand<M, R>> => fc.constantFrom(...MALFORMED).map(([label, raw]) => act(label, () => refused('invalid_input'), () => raw)),
    };
  };
  return {
    ...from(() => undefined),
    from,
    /** Something changes outside the flow (a provider, the directory, another session); the flow must still agree. */
    world: (label: string, change: (m: M, r: R) => void | Promise<void>, check?: (m: Readonly<M>) => boolean): fc.AsyncCommand<M, R> =>
      step(
        label,
        async (m, r) => {
          await change(m, r);
          await agree(m, r);
        },
        check,
      ),
    /** Time passes for the host and the model alike; nothing is woken. */
    waits: (boundaries: readonly number[]): fc.Arbitrary<fc.AsyncCommand<M, R>> =>
      clockMoves(boundaries).map((ms) =>
        step<M, R>(`wait ${human(ms)}`, async (m, r) => {
          r.host.world.clock.advanceBy(ms);
          m.now += ms;
          await agree(m, r);
        }),
      ),
    /** The host's scheduler wakes the flow; whatever is due happens, in the model by `tick`. */
    wake: (tick: (m: M) => void): fc.AsyncCommand<M, R> =>
      step('the host wakes the flow (clock.tick)', async (m, r) => {
        tick(m);
        expect(E.isRight(await r.host.runtime.tick(r.flowId))).toBe(true);
        await agree(m, r);
      }),
    /** A new runtime over the same storage: nothing the flow promised may be lost. */
    restart: (): fc.AsyncCommand<M, R> =>
      step('the host restarts', async (m, r) => {
        r.host.restart();
        await agree(m, r);
      }),
  };
};

/**
 * The property of every model test: each story starts a fresh flow (`begin`, given what the
 * prologue arbitraries drew, may already take it some steps in), then runs up to `maxCommands`
 * commands, each of which checks the real flow against the model.
 */
export const stories = <M extends object, R, P extends unknown[]>(
  prologue: { readonly [K in keyof P]: fc.Arbitrary<P[K]> },
  commands: fc.Arbitrary<fc.AsyncCommand<M, R>>[],
  maxCommands: number,
  begin: (...drawn: P) => Promise<{ model: M; real: R }>,
): fc.IAsyncPropertyWithHooks<[...P, Iterable<fc.AsyncCommand<M, R>>]> => {
  // fast-check types its properties by arity; the spread keeps the arbitraries exactly as written.
  const property = fc.asyncProperty as unknown as (...args: unknown[]) => fc.IAsyncPropertyWithHooks<[...P, Iterable<fc.AsyncCommand<M, R>>]>;
  return property(...prologue, fc.commands(commands, { maxCommands, size: 'max' }), async (...drawn: unknown[]) => {
    const story = await begin(...(drawn.slice(0, -1) as P));
    await fc.asyncModelRun(() => story, drawn[drawn.length - 1] as Iterable<fc.AsyncCommand<M, R>>);
  });
};
