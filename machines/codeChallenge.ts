/**
 * The one implementation of "send a code, let the user type it": issue, resend after the
 * cooldown, check with per-code and per-flow attempt limits, die at expiry. Registration, SMS
 * and e-mail recovery and binding all use these functions, so their rules cannot drift apart.
 */
import * as t from 'io-ts';
import { PUBLIC_ERROR_CODES, type PublicErrorCode } from '../src/domain/errors.ts';
import type { Policy } from '../src/domain/policy.ts';
import type { Instant } from '../src/domain/time.ts';
import type { MessageTemplate } from '../src/domain/effects.ts';
import { type CodeBinding, type CodeOutcome, type CodePurpose, CodeState, issueCode } from '../src/domain/verificationCode.ts';
import type { CodeSecrets } from '../src/ports/codeSecrets.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** What the last refused step was, for the caller: never a secret, never an account's existence. */
const NoticeCode = t.keyof(Object.fromEntries([...PUBLIC_ERROR_CODES, 'delivery_failed'].map((c) => [c, null])) as Record<PublicErrorCode | 'delivery_failed', null>);
export const Notice = t.readonly(t.intersection([t.type({ code: NoticeCode }), t.partial({ retryAfterMs: t.number })]));
export type Notice = t.TypeOf<typeof Notice>;

export const ChallengeContext = t.type({
  flowId: t.string,
  nonce: t.string,
  code: t.union([CodeState, t.null]),
  /** When the next send may happen: the snapshot says it, so a restored flow keeps it exactly. */
  resendAllowedAt: t.union([t.number, t.null]),
  sends: t.number,
  notice: t.union([Notice, t.null]),
});
export type ChallengeContext = {
  readonly flowId: string;
  readonly nonce: string;
  readonly code: CodeState | null;
  readonly resendAllowedAt: Instant | null;
  readonly sends: number;
  readonly notice: Notice | null;
};

export interface ChallengeDeps {
  readonly policy: Policy;
  readonly secrets: CodeSecrets;
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** A new code (the old one dies: only the newest counter verifies) and the next cooldown. */
export const issueNext = (ctx: ChallengeContext, purpose: CodePurpose, epoch: number, at: Instant, policy: Policy, ttlMs = policy.code.ttlMs) => ({
  code: issueCode(ctx.code ?? undefined, { flowId: ctx.flowId, purpose, epoch, nonce: ctx.nonce }, at, ttlMs),
  resendAllowedAt: at + policy.sends.cooldownMs,
  sends: ctx.sends + 1,
  notice: null,
});

/**
 * The outbox entry that sends the current code: its binding and counter, never the code, and
 * the per-address budget every flow that sends to that address spends (one address, one budget).
 */
export const codeDelivery = (input: {
  readonly channel: 'sms' | 'email';
  readonly to: string;
  readonly code: CodeState | null;
  /** The binding to name when no code was issued yet (the entry is then refused anyway). */
  readonly unissued: CodeBinding;
  readonly template: MessageTemplate;
  /** False for a channel bound to nobody: the same budgets are spent, nothing is sent. */
  readonly deliver: boolean;
  readonly withLink?: boolean;
}) => ({
  channel: input.channel,
  to: input.to,
  binding: input.code?.binding ?? input.unissued,
  counter: input.code?.counter ?? 0,
  template: input.template,
  budgetKeys: [`sends:${input.channel === 'sms' ? 'phone' : 'email'}:${input.to}`],
  deliver: input.deliver,
  ...(input.withLink === true ? { withLink: true } : {}),
});

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/** The outcome a submitted code would have; pure, so guards and actions agree on it. */
export const outcomeOf = (deps: ChallengeDeps, ctx: ChallengeContext, submitted: string, at: Instant, expected: { purpose: CodePurpose; epoch: number }, kind: 'code' | 'link' = 'code'): { outcome: CodeOutcome; next: CodeState | null } => {
  if (ctx.code === null) return { outcome: 'expired', next: null };
  return deps.secrets.check(ctx.code, { submitted, now: at, expected: { flowId: ctx.flowId, ...expected }, policy: deps.policy, kind });
};

export const resendAllowed = (ctx: ChallengeContext, at: Instant): boolean => ctx.resendAllowedAt === null || at >= ctx.resendAllowedAt;

export const codeExpiredAt = (ctx: ChallengeContext, at: Instant): boolean => ctx.code !== null && !ctx.code.used && at >= ctx.code.expiresAt;

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

const NOTICE_FOR: Record<Exclude<CodeOutcome, 'accepted'>, Notice['code']> = {
  wrong: 'code_invalid',
  stale: 'code_invalid',
  expired: 'code_expired',
  used: 'code_used',
  exhausted: 'code_attempts_exhausted',
  flow_exhausted: 'flow_locked',
};

export const noticeFor = (outcome: Exclude<CodeOutcome, 'accepted'>, policy: Policy): Notice =>
  outcome === 'flow_exhausted' ? { code: 'flow_locked', retryAfterMs: policy.code.flowLockMs } : { code: NOTICE_FOR[outcome] };

/** Whether an outcome spent a try (and so counts against the account's failure budget). */
export const spentATry = (outcome: CodeOutcome): boolean => outcome === 'wrong' || outcome === 'stale';

/** After this wrong try the flow has no tries left at all. */
export const exhaustsFlow = (next: CodeState | null, policy: Policy): boolean => next !== null && next.wrongForFlow >= policy.code.maxWrongPerFlow;

/** The refusal after a resend asked for too early: it quotes the real wait, not a fixed one. */
export const cooldownNotice = (ctx: ChallengeContext, at: Instant): Notice => ({ code: 'cooldown', retryAfterMs: Math.max(0, (ctx.resendAllowedAt ?? at) - at) });

/** A code the messenger could not take dies at once; its counter stays spent. */
export const killCode = (code: CodeState | null, at: Instant): CodeState | null => (code === null ? null : { ...code, expiresAt: Math.min(code.expiresAt, at) });

/**
 * After the messenger did not take a code: the code dies at once (its counter stays spent). A
 * retryable failure sent nothing and the executor gave the send budgets back, so the person may
 * ask again at once and is told so. Any other (a bad number, a refused address, a timeout that
 * may have gone out) keeps the budgets spent, so the cooldown set when the code was issued
 * stands: "resend now" would be refused by the budget.
 */
export const afterDeliveryFailure = (
  ctx: Pick<ChallengeContext, 'code' | 'resendAllowedAt'>,
  at: Instant,
  retryable: boolean,
): Pick<ChallengeContext, 'code' | 'resendAllowedAt' | 'notice'> => ({
  code: killCode(ctx.code, at),
  resendAllowedAt: retryable ? at : ctx.resendAllowedAt,
  notice: { code: 'delivery_failed' },
});
