import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { createManualReviewMachine, REVIEW_FINAL_STATES, reviewCaseState } from '../machines/manualReview.ts';
import { hmacCodeSecrets } from '../src/adapters/codeSecrets.ts';
import { DEFAULT_POLICY, type Policy } from '../src/domain/policy.ts';
import type { Evidence } from '../src/domain/reviewTicket.ts';
import { DAY, HOUR } from '../src/domain/time.ts';
import { manualReviewDeadline } from '../src/flows/manualReview.ts';
import { type EmittedAction, pureTransition } from '../src/runtime/transition.ts';
import { itHasTeeth } from './support/teeth.ts';

/**
 * The machine stepped as the runtime steps it (refuse what it cannot take, feed effect results
 * back), driven by random interleavings of support, the person, the owner and the clock.
 */

const POLICY = DEFAULT_POLICY;
const SECRETS = hmacCodeSecrets(new Uint8Array(32).fill(7));
const T0 = Date.UTC(2026, 0, 1);
const EVIDENCE: Evidence = { nickname: 'Xiaoming', team: null, frequentContacts: ['Li Lei'], pastDevices: [], loginPlaces: [], formerPhone: null, contactEmail: 'me@example.com' };

/** An event as the runtime hands it to the machine: ids resolved, the password already hashed. */
type ReviewEvent = { readonly type: string; readonly [key: string]: unknown };

/** Every script starts with a ticket open about a known account. */
const OPENING: readonly ReviewEvent[] = [
  { type: 'account.submit', named: 'handle:wang_xiaoming', subject: { accountId: 'acct-1', epoch: 0 } },
  { type: 'evidence.submit', evidence: EVIDENCE },
];

const approve = (resetSecondFactor: boolean): ReviewEvent => ({ type: 'review.approve', agentId: 'agent-7', resetSecondFactor });

/** What each command that is only an event sends, whoever sends it. */
const EVENT = {
  reject: { type: 'review.reject', agentId: 'agent-7', reason: null },
  askMore: { type: 'review.askMore', agentId: 'agent-7', question: 'Who is your team lead?' },
  answer: { type: 'evidence.answer', answer: 'Zhang Wei.' },
  ownerStop: { type: 'owner.stop' },
  cancel: { type: 'flow.cancel' },
  password: { type: 'password.submit', passwordHash: 'scrypt$hash' },
  securityDone: { type: 'security.done' },
  bind: { type: 'channel.submit', kind: 'email', value: 'fresh@example.com', currentEpoch: 1 },
  resend: { type: 'code.resend' },
  wrongCode: { type: 'code.submit', code: '000000', currentEpoch: 1, current: null },
  tick: { type: 'clock.tick' },
} as const satisfies Record<string, ReviewEvent>;

type Command =
  | { readonly kind: 'approve'; readonly reset: boolean }
  | { readonly kind: 'reject' }
  | { readonly kind: 'askMore' }
  | { readonly kind: 'answer' }
  | { readonly kind: 'ownerStop' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'password' }
  | { readonly kind: 'securityDone' }
  | { readonly kind: 'advance'; readonly ms: number }
  /** Jumps to a millisecond around the end of the window of the last approval: where bugs live. */
  | { readonly kind: 'nearWindowEnd'; readonly offset: number }
  | { readonly kind: 'tick' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('approve' as const), reset: fc.boolean() }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'reject' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'askMore' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'answer' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'ownerStop' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'cancel' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'password' as const }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'securityDone' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 * HOUR }), fc.integer({ min: 0, max: 4 * DAY })) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('nearWindowEnd' as const), offset: fc.integer({ min: -2, max: 2 }) }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'tick' as const }), weight: 4 },
);

const commands = fc.array(command, { minLength: 1, maxLength: 30 });

interface Host {
  /** Steps the flow as the runtime would; what a host does with the owner's stop is the variable. */
  readonly step: (snapshot: AnyMachineSnapshot, event: { type: string; at: number }) => [AnyMachineSnapshot, EmittedAction[]] | null;
}

const honestHost = (machine: AnyStateMachine): Host => ({
  step: (snapshot, event) => (snapshot.status === 'active' && snapshot.can(event as never) ? pureTransition(machine, snapshot, event) : null),
});

type Timed = ReviewEvent & { readonly at: number };

/** The executor's answer to an effect that reports back, as the ports would give it. */
const answerTo = (action: EmittedAction, at: number): Timed | null => {
  if (action.type === 'completeRecovery') return { type: 'recovery.applied', at, revokedSessions: 0, offers: [], recentLogins: [] };
  if (action.type === 'resetSecondFactor') return { type: 'secondFactor.reset', at };
  return null;
};

/**
 * Steps the flow through `event` as the runtime would: what the host refuses is dropped, and the
 * executor's answers are fed back in order, all at `at`. `observe` sees every step taken.
 */
const deliver = (host: Host, snapshot: AnyMachineSnapshot, event: ReviewEvent, at: number, observe: (before: AnyMachineSnapshot, after: AnyMachineSnapshot, actions: EmittedAction[]) => void = () => undefined): AnyMachineSnapshot => {
  let current = snapshot;
  const queue: Timed[] = [{ ...event, at }];
  while (queue.length > 0) {
    const next = queue.shift() as Timed;
    const stepped = host.step(current, next);
    if (stepped === null) continue;
    const [after, actions] = stepped;
    observe(current, after, actions);
    current = after;
    for (const action of actions) {
      const answer = answerTo(action, at);
      if (answer !== null) queue.push(answer);
    }
  }
  return current;
};

/** What a run produced: every effect with the time it was asked for, and the facts it happened under. */
interface Observed {
  readonly type: string;
  readonly at: number;
  readonly params: unknown;
}

const caseTop = (snapshot: AnyMachineSnapshot): string => reviewCaseState(snapshot.value).split('.')[0] ?? '';

/**
 * Runs one scenario and checks, after every step, either
 * - `window`: no password (`completeRecovery`) and no 2FA reset before `approvedAt +
 *   disputeWindowMs` of a real approval, none after an owner's stop, and a 2FA reset only when
 *   that approval said so; or
 * - `ownerStop`: an owner's stop sent while the case is open and before a password was submitted
 *   ends it in `stoppedByOwner`, whatever came before.
 * Either way, at the end the evidence is gone once the retention limit after closing is reached.
 */
const scenario = (check: 'window' | 'ownerStop', makeHost: (machine: AnyStateMachine) => Host = honestHost, machinePolicy: Policy = POLICY) => {
  const machine = createManualReviewMachine({ policy: machinePolicy, secrets: SECRETS });
  return fc.property(commands, (script) => {
    const host = makeHost(machine);
    let now = T0;
    let [snapshot] = pureTransition(machine, undefined, undefined, { flowId: 'flow-1', nonce: 'nonce-1', at: now });
    const effects: Observed[] = [];
    let approval: { at: number; reset: boolean } | null = null;
    let stoppedAt: number | null = null;

    const send = (event: ReviewEvent): void => {
      snapshot = deliver(host, snapshot, event, now, (before, after, actions) => {
        const wasWindowOpen = caseTop(before) !== 'disputeWindow' && caseTop(after) === 'disputeWindow';
        if (wasWindowOpen && event.type === 'review.approve') approval = { at: now, reset: event['resetSecondFactor'] === true };
        for (const action of actions) effects.push({ type: action.type, at: now, params: action.params });
      });
    };

    for (const event of OPENING) send(event);

    for (const c of script) {
      const passwordSubmitted = effects.some((e) => e.type === 'completeRecovery');
      const openBefore = !REVIEW_FINAL_STATES.has(caseTop(snapshot));
      switch (c.kind) {
        case 'approve':
          send(approve(c.reset));
          break;
        case 'advance':
          now += c.ms;
          break;
        case 'nearWindowEnd':
          if (approval !== null) now = Math.max(now, (approval as { at: number }).at + POLICY.review.disputeWindowMs + c.offset);
          break;
        default:
          send(EVENT[c.kind]);
          if (c.kind === 'ownerStop' && check === 'ownerStop' && openBefore && !passwordSubmitted) {
            expect(caseTop(snapshot), 'an owner stop before any password must end the case').toBe('stoppedByOwner');
            stoppedAt ??= now;
          }
      }
      if (check === 'window') for (const effect of effects.filter((e) => e.type === 'completeRecovery' || e.type === 'resetSecondFactor')) {
        const approved = approval as { at: number; reset: boolean } | null;
        expect(approved, `${effect.type} without an approval`).not.toBeNull();
        expect(effect.at, `${effect.type} before the dispute window passed`).toBeGreaterThanOrEqual((approved?.at ?? Infinity) + POLICY.review.disputeWindowMs);
        expect(stoppedAt === null || effect.at < stoppedAt, `${effect.type} after the owner stopped it`).toBe(true);
        if (effect.type === 'resetSecondFactor') expect(approved?.reset, 'a 2FA reset the approval did not ask for').toBe(true);
      }
    }

    const closedAt = (snapshot.context as { closedAt: number | null }).closedAt;
    if (closedAt !== null) {
      now = Math.max(now, closedAt + POLICY.review.evidenceRetentionMs);
      send(EVENT.tick);
      expect(snapshot.context).toMatchObject({ evidence: null, conversation: [], named: null });
    }
  });
};

/** A host that loses the owner's stop while the dispute window is open. */
const deafHost = (machine: AnyStateMachine): Host => {
  const honest = honestHost(machine);
  return { step: (snapshot, event) => (event.type === 'owner.stop' && caseTop(snapshot) === 'disputeWindow' ? null : honest.step(snapshot, event)) };
};

const shortWindow: Policy = { ...POLICY, review: { ...POLICY.review, disputeWindowMs: POLICY.review.disputeWindowMs - 1 } };

// ---------------------------------------------------------------------------------------------
// the lifetime cap
// ---------------------------------------------------------------------------------------------

type LifetimeCommand =
  | { readonly kind: 'approve'; readonly reset: boolean }
  | { readonly kind: 'reject' | 'askMore' | 'answer' | 'ownerStop' | 'cancel' | 'password' | 'securityDone' | 'bind' | 'resend' | 'wrongCode' | 'tick' }
  | { readonly kind: 'advance'; readonly ms: number }
  /** Moves the clock to this long before the flow's next deadline: whoever acts next does so just in time. */
  | { readonly kind: 'justInTime'; readonly early: number }
  /** Whoever the case waits for does the obvious thing: support asks (or approves), the person answers, sets, binds, resends. */
  | { readonly kind: 'whoseTurn' };

const simple = (kind: Exclude<LifetimeCommand['kind'], 'approve' | 'advance' | 'justInTime'>, weight: number) => ({ arbitrary: fc.constant({ kind }), weight });

// Mostly the case going on just in time, so that scripts get near the end; the rest can end it any way.
const lifetimeCommand: fc.Arbitrary<LifetimeCommand> = fc.oneof(
  simple('whoseTurn', 20),
  { arbitrary: fc.record({ kind: fc.constant('justInTime' as const), early: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: 1, max: DAY })) }), weight: 16 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 * HOUR }), fc.integer({ min: 0, max: 8 * DAY })) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('approve' as const), reset: fc.boolean() }), weight: 2 },
  simple('askMore', 2),
  simple('answer', 2),
  simple('password', 2),
  simple('securityDone', 2),
  simple('bind', 2),
  simple('resend', 3),
  simple('wrongCode', 1),
  simple('tick', 2),
  simple('reject', 1),
  simple('ownerStop', 1),
  simple('cancel', 1),
);

/**
 * Any mix of the person, support, the owner and the clock, with a host that wakes the flow at
 * every deadline it names: while the case is open its next deadline is never after its end
 * (`start + flowMaxLifetimeMs` of the real policy), and from that instant on it is closed. The
 * machine under test is built with `machinePolicy`; the end is always the real one.
 */
const lifetime = (machinePolicy: Policy = POLICY) => {
  const machine = createManualReviewMachine({ policy: machinePolicy, secrets: SECRETS });
  const host = honestHost(machine);
  const deadline = manualReviewDeadline(machinePolicy);
  const end = T0 + POLICY.flowMaxLifetimeMs;
  return fc.property(fc.array(lifetimeCommand, { minLength: 1, maxLength: 80, size: 'max' }), (script) => {
    let now = T0;
    let [snapshot] = pureTransition(machine, undefined, undefined, { flowId: 'flow-1', nonce: 'nonce-1', at: now });
    const open = (): boolean => !REVIEW_FINAL_STATES.has(caseTop(snapshot));

    const send = (event: ReviewEvent): void => {
      snapshot = deliver(host, snapshot, event, now);
    };

    /** The host's scheduler: every deadline up to `until` is woken at its instant, in order. */
    const advanceTo = (until: number): void => {
      for (let d = deadline(snapshot); snapshot.status === 'active' && d !== null && d <= until; ) {
        now = Math.max(now, d);
        send(EVENT.tick);
        const moved = deadline(snapshot);
        expect(moved === null || moved > now || moved !== d, `a tick at ${d} left the deadline where it was`).toBe(true);
        d = moved;
      }
      now = Math.max(now, until);
    };

    for (const event of OPENING) send(event);

    for (const c of script) {
      switch (c.kind) {
        case 'approve':
          send(approve(c.reset));
          break;
        case 'advance':
          advanceTo(now + c.ms);
          break;
        case 'justInTime': {
          const d = deadline(snapshot);
          if (d !== null) advanceTo(d - c.early);
          break;
        }
        case 'whoseTurn': {
          const asked = (snapshot.context as { infoRequests: number }).infoRequests;
          const turn: Readonly<Record<string, ReviewEvent>> = {
            awaitingAgent: asked < POLICY.review.maxInfoRequests ? EVENT.askMore : approve(false),
            awaitingUser: EVENT.answer,
            'hardening.choosingPassword': EVENT.password,
            'hardening.reviewingSecurity': EVENT.securityDone,
            bindingRequired: EVENT.bind,
            awaitingBindingCode: EVENT.resend,
          };
          const event = turn[reviewCaseState(snapshot.value)];
          if (event !== undefined) send(event);
          break;
        }
        default:
          send(EVENT[c.kind]);
      }
      if (open()) {
        const next = deadline(snapshot);
        expect(next, `open in ${reviewCaseState(snapshot.value)} with no deadline`).not.toBeNull();
        expect(next ?? Infinity, `open in ${reviewCaseState(snapshot.value)} with a deadline past the end`).toBeLessThanOrEqual(end);
      }
      if (now >= end) expect(open(), `still ${reviewCaseState(snapshot.value)} at ${now - T0} ms, past the end`).toBe(false);
    }
  });
};

/** The machine as it was before the cap: the same rules with a lifetime nobody reaches. */
const uncapped: Policy = { ...POLICY, flowMaxLifetimeMs: 10 * 365 * DAY };

describe('manual review properties', () => {
  it('should set no password and reset no second factor before the dispute window has passed undisputed', () => {
    fc.assert(scenario('window'));
  });

  it('should let an owner\'s stop win whenever it arrives before a password', () => {
    fc.assert(scenario('ownerStop'));
  });

  itHasTeeth('should catch a window one millisecond short (the property has teeth)', () => {
    expect(fc.check(scenario('window', honestHost, shortWindow), { numRuns: 2_000, seed: 42 }).failed).toBe(true);
  });

  itHasTeeth('should catch a host that ignores the owner\'s stop during the window (the property has teeth)', () => {
    expect(fc.check(scenario('ownerStop', deafHost), { numRuns: 2_000, seed: 42 }).failed).toBe(true);
  });

  it('should keep no review open at or past start + flowMaxLifetimeMs, nor let a deadline of an open one lie past it', () => {
    fc.assert(lifetime());
  });

  itHasTeeth('should catch a review built without the lifetime cap (the property has teeth)', () => {
    expect(fc.check(lifetime(uncapped), { numRuns: 2_000, seed: 42 }).failed).toBe(true);
  });
});
