/**
 * Flows an account holder runs while signed in (binding a channel, enrolling 2FA, real-name
 * checks) take the account from the host's session, never from the request, and stop working
 * the moment that session ends or the account's security epoch moves on.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Account, AccountId } from '../domain/account.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import type { TrustedFacts } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';

export interface SignedIn {
  readonly account: Account;
  readonly sessionId: string;
}

/** The signed-in, active account behind a live session of the current epoch, or why not. */
export const requireLiveSession = async (facts: TrustedFacts, ports: Pick<FlowPorts, 'sessions' | 'directory'>): Promise<E.Either<FlowError, SignedIn>> => {
  if (facts.actor === null || facts.sessionId === null) return E.left(flowError('session_required', 'Sign in first.'));
  const session = await ports.sessions.get(facts.sessionId);
  const account = await ports.directory.get(facts.actor as AccountId);
  const live =
    session !== undefined &&
    session.revokedAt === null &&
    session.accountId === facts.actor &&
    account !== undefined &&
    account.status === 'active' &&
    session.epoch === account.securityEpoch;
  return live ? E.right({ account, sessionId: session.id }) : E.left(flowError('session_required', 'Your session has ended; sign in again.'));
};
