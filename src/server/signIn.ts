/**
 * Sign-in with phone number and password. Every failure looks the same — an unknown number, a
 * deactivated account, a wrong password, an account out of tries — and costs the same: an
 * unknown account is checked against a dummy hash, so the hasher runs once either way.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Account } from '../domain/account.ts';
import { decodeWith } from '../domain/decode.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { parsePhone } from '../domain/phone.ts';
import type { Session } from '../ports/sessions.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import { type AbuseLimits, exhausted, signInFailureKeys } from './abuse.ts';
import type { SessionIssuer } from './sessions.ts';

export const SignInBody = t.exact(t.type({ phone: t.string, password: t.string, region: t.union([t.string, t.undefined]) }));

export type SignInOutcome = E.Either<FlowError | 'credentials_invalid', Session>;

export interface SignInDeps {
  readonly ports: Pick<FlowPorts, 'policy' | 'clock' | 'directory' | 'hasher' | 'budgets'>;
  readonly issuer: SessionIssuer;
  readonly limits: AbuseLimits;
  /** A hash of nothing anyone knows, made once; unknown accounts are verified against it. */
  readonly dummyHash: () => Promise<string>;
}

/**
 * @example
 * const outcome = await signIn(deps, { phone: '+8613800138000', password: '…' }, 'ip4:203.0.113.7', 'Firefox');
 */
export const signIn = async (deps: SignInDeps, raw: unknown, client: string, device: string): Promise<SignInOutcome> => {
  const body = decodeWith(SignInBody, raw);
  if (E.isLeft(body)) return body;
  const { ports, limits } = deps;
  const now = ports.clock.now();
  const keys = signInFailureKeys(client, undefined);
  const clientWait = await exhausted(ports.budgets, [{ key: keys.client, rule: limits.signInFailuresPerClient }], now);
  if (clientWait > 0) return E.left(flowError('rate_limited', 'Too many failed sign-ins from here; try again later.', { retryAfterMs: clientWait }));

  const phone = parsePhone(body.right.phone, ports.policy, body.right.region);
  const found: Account | undefined = E.isLeft(phone) ? undefined : await ports.directory.findByPhone(phone.right);
  const account = found?.status === 'active' ? found : undefined;
  const accountKey = account === undefined ? undefined : signInFailureKeys(client, account.id).account;
  const accountOutOfTries = accountKey !== undefined && (await exhausted(ports.budgets, [{ key: accountKey, rule: limits.signInFailuresPerAccount }], now)) > 0;

  // A password far beyond the policy's maximum cannot be right; it is not worth hashing megabytes.
  const password = body.right.password.length > ports.policy.password.maxLength * 4 ? '' : body.right.password.normalize('NFKC');
  const against = account !== undefined && !accountOutOfTries ? account.passwordHash : await deps.dummyHash();
  const verified = await ports.hasher.verify(password, against);

  if (!verified || account === undefined || accountOutOfTries || password === '') {
    await ports.budgets.consume(keys.client, limits.signInFailuresPerClient, now);
    if (accountKey !== undefined) await ports.budgets.consume(accountKey, limits.signInFailuresPerAccount, now);
    return E.left('credentials_invalid');
  }
  return E.right(await deps.issuer.issue({ accountId: account.id, epoch: account.securityEpoch, at: now, device, place: 'unknown' }));
};
