/**
 * The reference model of "send a code, let the user type it", written from the policy table and
 * the rules in `src/domain/verificationCode.ts`, independently of `machines/codeChallenge.ts`:
 * a new code per send (the old one dies), expiry at `issuedAt + ttl` (the boundary is expired),
 * five wrong tries per code and ten per flow, a resend cooldown, and a per-address send budget
 * (5 an hour, 10 a day, 60 s apart) that a refused or failed delivery answers with a notice.
 */
import { DEFAULT_POLICY, type RateRule } from '../../src/domain/policy.ts';
import { currentCode, notTheCode } from '../support/faultyHost.ts';
import { applied, type Expected, type Gated, type Hosted } from './kit.ts';

export type Outcome = 'accepted' | 'wrong' | 'expired' | 'used' | 'exhausted' | 'flow_exhausted';

export interface ModelNotice {
  readonly code: string;
  readonly retryAfterMs?: number;
}

export const P = DEFAULT_POLICY;

export class ChallengeModel {
  /** -1 while no code was ever issued. */
  counter = -1;
  expiresAt = 0;
  used = false;
  wrongForCode = 0;
  wrongForFlow = 0;
  resendAllowedAt: number | null = null;
  notice: ModelNotice | null = null;
  /** The counter of the last code the person actually received; -1 when none arrived. */
  delivered = -1;

  constructor(private readonly ttlMs: number = P.code.ttlMs) {}

  get issued(): boolean {
    return this.counter >= 0;
  }

  get live(): boolean {
    return this.issued && !this.used;
  }

  issue(now: number): void {
    this.counter += 1;
    this.expiresAt = now + this.ttlMs;
    this.used = false;
    this.wrongForCode = 0;
    this.resendAllowedAt = now + P.sends.cooldownMs;
    this.notice = null;
  }

  /** A code that could not be delivered dies at once; its counter stays spent. */
  kill(now: number): void {
    if (this.issued) this.expiresAt = Math.min(this.expiresAt, now);
  }

  /** What typing a code does; `right` says whether it is the current counter's code. */
  outcome(now: number, right: boolean): Outcome {
    if (!this.issued) return 'expired';
    if (this.used) return 'used';
    if (now >= this.expiresAt) return 'expired';
    if (this.wrongForFlow >= P.code.maxWrongPerFlow) return 'flow_exhausted';
    if (this.wrongForCode >= P.code.maxWrongPerCode) return 'exhausted';
    return right ? 'accepted' : 'wrong';
  }

  /** Applies an outcome to the counters; says whether the flow is now out of tries. */
  spend(outcome: Outcome): boolean {
    if (outcome === 'accepted') this.used = true;
    if (outcome === 'wrong') {
      this.wrongForCode += 1;
      this.wrongForFlow += 1;
    }
    return this.wrongForFlow >= P.code.maxWrongPerFlow;
  }

  resendAllowed(now: number): boolean {
    return this.resendAllowedAt === null || now >= this.resendAllowedAt;
  }

  cooldownNotice(now: number): ModelNotice {
    return { code: 'cooldown', retryAfterMs: Math.max(0, (this.resendAllowedAt ?? now) - now) };
  }

  triesLeft(): number | null {
    return this.issued ? Math.max(0, Math.min(P.code.maxWrongPerCode - this.wrongForCode, P.code.maxWrongPerFlow - this.wrongForFlow)) : null;
  }

  codeExpiresAt(): number | null {
    return this.live ? this.expiresAt : null;
  }

  /** Whether the last message that reached the person carries the current code (so typing it is right). */
  get reached(): boolean {
    return this.delivered >= 0 && this.delivered === this.counter;
  }
}

export const NOTICE_FOR: Record<Exclude<Outcome, 'accepted'>, ModelNotice> = {
  wrong: { code: 'code_invalid' },
  expired: { code: 'code_expired' },
  used: { code: 'code_used' },
  exhausted: { code: 'code_attempts_exhausted' },
  flow_exhausted: { code: 'flow_locked', retryAfterMs: P.code.flowLockMs },
};

export const LOCKED: ModelNotice = { code: 'flow_locked', retryAfterMs: P.code.flowLockMs };

/** A sliding-window log, as the policy describes the rule: every window has room, and the cooldown since the last event passed. */
export class Budget {
  readonly times: number[] = [];

  constructor(private readonly rule: RateRule) {}

  /** 0 when one more event may happen now, else how long until it may. */
  wait(now: number): number {
    const last = this.times[this.times.length - 1];
    let wait = last === undefined ? 0 : Math.max(0, last + this.rule.cooldownMs - now);
    for (const { limit, windowMs } of this.rule.windows) {
      const inside = this.times.filter((t) => t > now - windowMs);
      if (inside.length >= limit) wait = Math.max(wait, (inside[inside.length - limit] as number) + windowMs - now);
    }
    return wait;
  }

  /** Spends one unit if allowed; returns the wait otherwise. */
  take(now: number): number {
    const wait = this.wait(now);
    if (wait === 0) this.times.push(now);
    return wait;
  }
}

/**
 * The deliverCode effect as the executor runs it: spend the address's budget, then hand the code
 * to the provider. `hidden` delivery failures (recovery) only reach the audit log.
 */
export const deliver = (
  code: ChallengeModel,
  budget: Budget,
  now: number,
  options: { readonly sends: boolean; readonly providerDrops: boolean; readonly failureVisible: boolean },
): 'refused' | 'failed' | 'sent' | 'spent' => {
  const wait = budget.take(now);
  if (wait > 0) {
    code.kill(now);
    code.resendAllowedAt = now + wait;
    code.notice = { code: 'rate_limited', retryAfterMs: wait };
    return 'refused';
  }
  if (!options.sends) return 'spent';
  if (options.providerDrops) {
    // The provider's drop is retryable (nothing went out): the unit goes back and a resend is
    // allowed at once. Recovery hides the failure and keeps the unit spent, as for an unbound
    // channel, so the budget cannot tell the two apart.
    if (options.failureVisible) {
      budget.times.pop();
      code.kill(now);
      code.resendAllowedAt = now;
      code.notice = { code: 'delivery_failed' };
    }
    return 'failed';
  }
  code.delivered = code.counter;
  return 'sent';
};

/** The provider will drop the next code: the host's fault switch and what the model expects, together. */
export const providerDropsNextCode = (m: { providerDrops: boolean }, r: Hosted): void => {
  m.providerDrops = true;
  r.host.faults.dropNextCode = true;
};

/** A code surely wrong: read from storage, then changed, so no lucky guess can make it right. */
export const wrongCode = (_m: unknown, r: Hosted) => ({ type: 'code.submit', code: notTheCode(currentCode(r.host.world, r.flowId)) });

/** A flow's model that sends codes by these rules and waits for one in `awaitingCode`. */
export interface CodeFlow extends Gated {
  readonly now: number;
  readonly code: ChallengeModel;
  send(): void;
}

/** A typed code: an expired one only says so; a right one leads where `accepted` says; wrong ones count to the lock. */
export const typeCode = <M extends CodeFlow>(m: M, right: boolean, accepted: (m: M) => M['state']): Expected => {
  const gated = m.gate('code.submit');
  if (gated !== undefined) return gated;
  if (m.state === 'codeExpired') {
    m.code.notice = { code: 'code_expired' };
    return applied;
  }
  const outcome = m.code.outcome(m.now, right);
  const outOfTries = m.code.spend(outcome);
  if (outcome === 'accepted') {
    m.code.notice = null;
    m.state = accepted(m);
  } else if (outcome === 'wrong' && outOfTries) {
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else m.code.notice = NOTICE_FOR[outcome];
  return applied;
};

/** Inside the cooldown a resend only says how long is left; after it, a new code goes out. */
export const askResend = (m: CodeFlow): Expected => {
  const gated = m.gate('code.resend');
  if (gated !== undefined) return gated;
  if (!m.code.resendAllowed(m.now)) {
    m.code.notice = m.code.cooldownNotice(m.now);
    return applied;
  }
  m.state = 'awaitingCode';
  m.send();
  return applied;
};
