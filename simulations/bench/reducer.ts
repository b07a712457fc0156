/**
 * Mode (c), the cost floor: SMS recovery as one plain `(state, event) => state` function with
 * the machine's rules — code expiry, per-code and per-flow wrong-try limits, resend cooldown,
 * single use, the deadline tick — and nothing else: no statechart, no store, no checks.
 */
import type { Policy } from '../../src/domain/policy.ts';
import type { MachineEvent } from '../../src/runtime/flowDefinition.ts';
import type { PreparedFlow } from './events.ts';

export type ReducerStateName =
  | 'enteringChannel'
  | 'awaitingCode'
  | 'codeExpired'
  | 'secondFactor'
  | 'hardening.choosingPassword'
  | 'hardening.applying'
  | 'hardening.reviewingSecurity'
  | 'recovered'
  | 'refused'
  | 'accountUnavailable'
  | 'locked'
  | 'timedOut'
  | 'cancelled';

export interface ReducerState {
  readonly state: ReducerStateName;
  /** What the code is bound to, as in the machine's context. */
  readonly flowId: string;
  readonly nonce: string;
  readonly expiresAt: number;
  readonly known: boolean;
  readonly epoch: number;
  readonly counter: number;
  readonly codeExpiresAt: number;
  readonly wrongForCode: number;
  readonly wrongForFlow: number;
  readonly used: boolean;
  readonly resendAllowedAt: number;
  readonly passwordHash: string | null;
  readonly notice: string | null;
}

export interface ReducerRules {
  readonly policy: Policy;
  /** Whether `code` is the code of the flow's current send (`state.counter`). */
  readonly verify: (state: ReducerState, code: string) => boolean;
}

const FINAL = new Set<ReducerStateName>(['recovered', 'refused', 'accountUnavailable', 'locked', 'timedOut', 'cancelled']);

export const initialState = (input: PreparedFlow['input'], policy: Policy): ReducerState => ({
  state: 'enteringChannel',
  flowId: input.flowId,
  nonce: input.nonce,
  expiresAt: input.at + policy.flowMaxLifetimeMs,
  known: false,
  epoch: 0,
  counter: -1,
  codeExpiresAt: 0,
  wrongForCode: 0,
  wrongForFlow: 0,
  used: false,
  resendAllowedAt: 0,
  passwordHash: null,
  notice: null,
});

export const reducer = ({ policy, verify }: ReducerRules) => {
  const send = (s: ReducerState, at: number): ReducerState => ({
    ...s,
    state: 'awaitingCode',
    counter: s.counter + 1,
    codeExpiresAt: at + policy.code.ttlMs,
    wrongForCode: 0,
    used: false,
    resendAllowedAt: at + policy.sends.cooldownMs,
    notice: null,
  });

  const submit = (s: ReducerState, e: MachineEvent, at: number): ReducerState => {
    if (s.used) return { ...s, notice: 'code_used' };
    if (at >= s.codeExpiresAt) return { ...s, notice: 'code_expired' };
    if (s.wrongForFlow >= policy.code.maxWrongPerFlow) return { ...s, notice: 'flow_locked' };
    if (s.wrongForCode >= policy.code.maxWrongPerCode) return { ...s, notice: 'code_attempts_exhausted' };
    // An unknown channel's codes and a moved epoch never verify; both spend a try.
    const right = s.known && e['currentEpoch'] === s.epoch && verify(s, String(e['code']));
    if (right) {
      const state = e['accountActive'] !== true ? 'accountUnavailable' : e['secondFactorEnrolled'] === true ? 'secondFactor' : 'hardening.choosingPassword';
      return { ...s, state, used: true, notice: null };
    }
    const wrongForFlow = s.wrongForFlow + 1;
    return { ...s, state: wrongForFlow >= policy.code.maxWrongPerFlow ? 'locked' : s.state, wrongForCode: s.wrongForCode + 1, wrongForFlow, notice: 'code_invalid' };
  };

  return (s: ReducerState, e: MachineEvent): ReducerState => {
    if (FINAL.has(s.state)) return s;
    const at = e['at'] as number;
    if (e.type === 'flow.cancel') return { ...s, state: 'cancelled', passwordHash: null };
    switch (s.state) {
      case 'enteringChannel':
        if (e.type === 'channel.submit') {
          const subject = e['subject'] as { readonly epoch: number } | null;
          return send({ ...s, known: subject !== null, epoch: subject?.epoch ?? 0 }, at);
        }
        break;
      case 'awaitingCode':
        if (e.type === 'code.submit') return submit(s, e, at);
        if (e.type === 'code.resend') return at >= s.resendAllowedAt ? send(s, at) : { ...s, notice: 'cooldown' };
        if (e.type === 'clock.tick' && !s.used && at >= s.codeExpiresAt) return { ...s, state: 'codeExpired' };
        break;
      case 'codeExpired':
        if (e.type === 'code.submit') return { ...s, notice: 'code_expired' };
        if (e.type === 'code.resend') return at >= s.resendAllowedAt ? send(s, at) : { ...s, notice: 'cooldown' };
        break;
      case 'hardening.choosingPassword':
        if (e.type === 'password.submit') return { ...s, state: 'hardening.applying', passwordHash: e['passwordHash'] as string, notice: null };
        break;
      case 'hardening.applying':
        if (e.type === 'recovery.applied') return { ...s, state: 'hardening.reviewingSecurity', passwordHash: null };
        if (e.type === 'recovery.refused') return { ...s, state: 'refused', passwordHash: null };
        break;
      case 'hardening.reviewingSecurity':
        if (e.type === 'security.done') return { ...s, state: 'recovered' };
        break;
      default:
        break;
    }
    if (e.type === 'clock.tick' && at >= s.expiresAt) return { ...s, state: 'timedOut', passwordHash: null };
    return s;
  };
};

/** The final state of each flow under the reducer. */
export const reduceFlows = (rules: ReducerRules, flows: readonly PreparedFlow[]): string[] => {
  const step = reducer(rules);
  const outcomes: string[] = [];
  for (const flow of flows) {
    let s = initialState(flow.input, rules.policy);
    for (const event of flow.events) s = step(s, event);
    outcomes.push(s.state);
  }
  return outcomes;
};
