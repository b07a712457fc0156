/**
 * The one closed list of errors account-flows can produce.
 *
 * Public errors are safe to show an unauthenticated caller: they never say whether an account,
 * a phone or an e-mail exists. Internal errors are for the host's logs and operators only.
 */

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export const PUBLIC_ERROR_CODES = [
  'invalid_input',
  'phone_invalid',
  'phone_region_not_allowed',
  'phone_blocked',
  'email_invalid',
  'handle_invalid',
  'handle_taken',
  'password_too_short',
  'password_too_long',
  'password_blocklisted',
  'password_contains_identifier',
  'password_reused',
  'code_invalid',
  'code_expired',
  'code_used',
  'code_attempts_exhausted',
  'flow_locked',
  'rate_limited',
  'cooldown',
  'event_not_accepted',
  'flow_finished',
  'second_factor_required',
  'action_held',
  'already_verified',
  'already_enrolled',
  'channel_unchanged',
  'channel_taken',
  'not_permitted',
  'window_closed',
  'replacements_exhausted',
  'token_invalid',
] as const;

export const INTERNAL_ERROR_CODES = [
  'policy_invalid',
  'stale_write',
  'flow_not_found',
  'flow_exists',
  'snapshot_corrupt',
  'envelope_mismatch',
  'port_failure',
  'session_required',
] as const;

export type PublicErrorCode = (typeof PUBLIC_ERROR_CODES)[number];
export type InternalErrorCode = (typeof INTERNAL_ERROR_CODES)[number];
export type ErrorCode = PublicErrorCode | InternalErrorCode;

export interface FlowError {
  readonly _tag: 'FlowError';
  readonly code: ErrorCode;
  /** Whether the error may be shown to an unauthenticated caller. */
  readonly visibility: 'public' | 'internal';
  /** Where the problem is: a dotted path into the input, or the policy field. */
  readonly field?: string;
  readonly message: string;
  /** For rate limits, cooldowns and locks: how long until trying again can succeed. */
  readonly retryAfterMs?: number;
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

const publicCodes: ReadonlySet<string> = new Set(PUBLIC_ERROR_CODES);

export const flowError = (
  code: ErrorCode,
  message: string,
  extra: { readonly field?: string; readonly retryAfterMs?: number } = {},
): FlowError => ({
  _tag: 'FlowError',
  code,
  visibility: publicCodes.has(code) ? 'public' : 'internal',
  message,
  ...(extra.field === undefined ? {} : { field: extra.field }),
  ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
});

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

export const isFlowError = (u: unknown): u is FlowError =>
  typeof u === 'object' && u !== null && (u as { _tag?: unknown })._tag === 'FlowError';

export const isPublic = (e: FlowError): boolean => e.visibility === 'public';

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** What an unauthenticated caller may see: internal errors collapse to one opaque answer. */
export const toPublicView = (e: FlowError): Pick<FlowError, 'code' | 'message' | 'field' | 'retryAfterMs'> =>
  isPublic(e)
    ? {
        code: e.code,
        message: e.message,
        ...(e.field === undefined ? {} : { field: e.field }),
        ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
      }
    : { code: 'invalid_input', message: 'The request could not be processed.' };
