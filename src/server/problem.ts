/**
 * Every error the HTTP service gives is an RFC 9457 problem (`application/problem+json`), from one
 * table: each FlowError code and each code the HTTP layer adds has its status and title here.
 * Internal FlowErrors never show their message: it may name a machine, a port or a version.
 */
import type { ErrorCode, FlowError } from '../domain/errors.ts';

/** Problems only the HTTP layer raises: the request itself was wrong, before any flow saw it. */
export type HttpProblemCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'malformed_json'
  | 'payload_too_large'
  | 'idempotency_key_invalid'
  | 'credentials_invalid'
  | 'session_invalid'
  | 'captcha_required'
  | 'captcha_failed'
  | 'internal';

export type ProblemCode = ErrorCode | HttpProblemCode;

export type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 423 | 429 | 500 | 503;

interface ProblemEntry {
  readonly status: ProblemStatus;
  readonly title: string;
  /**
   * For internal FlowErrors: the one sentence shown instead of the error's own message. Their
   * statuses follow HTTP (a flow id nobody has is a 404, not a 500); only the wording is generic.
   */
  readonly genericDetail?: string;
}

/** The one table of statuses and titles. */
export const PROBLEMS: Readonly<Record<ProblemCode, ProblemEntry>> = {
  // public FlowErrors
  invalid_input: { status: 400, title: 'The request is not valid' },
  phone_invalid: { status: 422, title: 'The phone number is not valid' },
  phone_region_not_allowed: { status: 422, title: 'Phone numbers from this region are not supported' },
  phone_blocked: { status: 422, title: 'This phone number cannot be used' },
  email_invalid: { status: 422, title: 'The e-mail address is not valid' },
  handle_invalid: { status: 422, title: 'The handle is not valid' },
  handle_taken: { status: 409, title: 'The handle is taken' },
  password_too_short: { status: 422, title: 'The password is too short' },
  password_too_long: { status: 422, title: 'The password is too long' },
  password_blocklisted: { status: 422, title: 'The password is too common' },
  password_contains_identifier: { status: 422, title: 'The password contains your phone number or handle' },
  password_reused: { status: 422, title: 'The new password must differ from the old one' },
  code_invalid: { status: 422, title: 'The code is not valid' },
  code_expired: { status: 422, title: 'The code has expired' },
  code_used: { status: 422, title: 'The code was already used' },
  code_attempts_exhausted: { status: 422, title: 'No tries are left for this code' },
  flow_locked: { status: 423, title: 'This flow is locked' },
  rate_limited: { status: 429, title: 'Too many requests' },
  cooldown: { status: 429, title: 'Wait before trying again' },
  event_not_accepted: { status: 409, title: 'This step is not possible now' },
  flow_finished: { status: 409, title: 'This flow has ended' },
  second_factor_required: { status: 403, title: 'A second factor is required' },
  action_held: { status: 403, title: 'This action is on hold after a recovery' },
  already_verified: { status: 409, title: 'Already verified' },
  already_enrolled: { status: 409, title: 'Already enrolled' },
  channel_unchanged: { status: 422, title: 'This channel is already bound' },
  channel_taken: { status: 409, title: 'This channel belongs to another account' },
  not_permitted: { status: 403, title: 'Not permitted' },
  window_closed: { status: 409, title: 'The time window has closed' },
  replacements_exhausted: { status: 409, title: 'No replacements are left' },
  token_invalid: { status: 403, title: 'The token is not valid' },
  // internal FlowErrors: a status that tells the client what to do, and nothing more
  session_required: { status: 401, title: 'Sign-in required', genericDetail: 'Sign in, then try again.' },
  flow_not_found: { status: 404, title: 'Not found', genericDetail: 'There is nothing here.' },
  stale_write: { status: 409, title: 'Conflict', genericDetail: 'The flow changed meanwhile; read it again and retry.' },
  flow_exists: { status: 409, title: 'Conflict', genericDetail: 'Retry the request.' },
  port_failure: { status: 503, title: 'Service unavailable', genericDetail: 'Try again shortly.' },
  policy_invalid: { status: 500, title: 'Internal error', genericDetail: 'The request could not be processed.' },
  snapshot_corrupt: { status: 500, title: 'Internal error', genericDetail: 'The request could not be processed.' },
  envelope_mismatch: { status: 500, title: 'Internal error', genericDetail: 'The request could not be processed.' },
  // the HTTP layer's own
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  idempotency_key_invalid: { status: 400, title: 'The Idempotency-Key header is not valid' },
  credentials_invalid: { status: 401, title: 'Wrong phone number or password' },
  session_invalid: { status: 401, title: 'The session is not valid' },
  captcha_required: { status: 403, title: 'A CAPTCHA token is required' },
  captcha_failed: { status: 403, title: 'The CAPTCHA token was not accepted' },
  internal: { status: 500, title: 'Internal error', genericDetail: 'The request could not be processed.' },
};

/** Where problem types live: a tag URI (RFC 4151) names each one without promising a page. */
export const PROBLEM_TYPE_BASE = 'tag:account-flows,2026:problem/';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface FieldError {
  readonly field: string;
  readonly code: ProblemCode;
  readonly detail: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: ProblemStatus;
  readonly detail: string;
  readonly instance: string;
  /** The code of the table above, for clients that branch on it. */
  readonly code: ProblemCode;
  readonly errors?: readonly FieldError[];
}

export interface Problem {
  readonly body: ProblemDetails;
  readonly headers: Readonly<Record<string, string>>;
}

/** Long enough for any route; a junk path is not echoed at length. */
const MAX_INSTANCE = 256;

/**
 * A problem for one code. `retryAfterMs` becomes a Retry-After header in whole seconds, rounded up.
 *
 * @example
 * problem('payload_too_large', '/flows/registration', 'At most 16384 bytes.');
 */
export const problem = (
  code: ProblemCode,
  instance: string,
  detail?: string,
  extra: { readonly field?: string; readonly retryAfterMs?: number } = {},
): Problem => {
  const entry = PROBLEMS[code];
  const shown = entry.genericDetail ?? detail ?? entry.title;
  const body: ProblemDetails = {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: entry.title,
    status: entry.status,
    detail: shown,
    instance: instance.slice(0, MAX_INSTANCE),
    code,
    ...(extra.field === undefined || entry.genericDetail !== undefined ? {} : { errors: [{ field: extra.field, code, detail: shown }] }),
  };
  const headers: Record<string, string> = {};
  if (extra.retryAfterMs !== undefined && extra.retryAfterMs > 0) headers['retry-after'] = String(Math.ceil(extra.retryAfterMs / 1000));
  else if (code === 'port_failure') headers['retry-after'] = '1';
  if (entry.status === 401) headers['www-authenticate'] = code === 'session_invalid' ? 'Bearer error="invalid_token"' : 'Bearer';
  return { body, headers };
};

/** A FlowError as a problem: public ones with their message and field, internal ones generic. */
export const flowProblem = (error: FlowError, instance: string): Problem =>
  error.visibility === 'public'
    ? problem(error.code, instance, error.message, { ...(error.field === undefined ? {} : { field: error.field }), ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) })
    : problem(error.code, instance);
