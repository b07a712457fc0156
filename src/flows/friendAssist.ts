/**
 * Hosting friend-assisted recovery. Three kinds of caller share one flow, and each is told apart
 * by something it cannot forge:
 *
 * - the requester (not signed in) by the requester token, derived from the host key and the
 *   flow's nonce and shown once, in the reply that starts the flow. Friends learn the flow id
 *   from their in-app notice, so the flow id alone must not let them act as the requester (and
 *   set the password once the wait is over);
 * - a friend by the host's session (`facts.actor`), never by the request body;
 * - the owner by a live session of the account being recovered.
 *
 * Every fact a guard needs — the account behind a handle, each nominee's friendship and
 * eligibility facts, the confirming friend's facts — is looked up here and attached to the
 * event. The requester's view says "k of n confirmed" and nothing per friend; a friend's own
 * outcome reaches only that friend, through `callerView`.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SnapshotFrom } from 'xstate';
import type { Subject } from '../../machines/channelRecovery.ts';
import {
  countedConfirmations,
  createFriendAssistMachine,
  currentNominees,
  FriendAssistContext,
  type FriendAssistMachine,
  type NomineeFacts,
  nomineeEntry,
} from '../../machines/friendAssist.ts';
import type { AccountId } from '../domain/account.ts';
import { eventCodec } from '../domain/decode.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { type FriendFacts, NO_FRIEND, recoveringKey, underRecoveryCheck, vouchKey, vouchRule } from '../domain/friendAssist.ts';
import { Handle, type HandleKey, handleKey } from '../domain/handle.ts';
import { constantTimeEqual } from '../domain/hotp.ts';
import type { Policy } from '../domain/policy.ts';
import { hasPassed, type Instant } from '../domain/time.ts';
import type { FlowDefinition, FlowView, MachineEvent, TrustedFacts } from '../runtime/flowDefinition.ts';
import { bytesToId } from '../runtime/ids.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import type { CodeSecrets } from '../ports/codeSecrets.ts';
import { requireLiveSession } from './auth.ts';
import { recoveryPasswordEvent } from './recoveryPassword.ts';
import { handlesEventType, newNonce, stateName } from './common.ts';

const requester = { token: t.string };

export const FriendAssistClientEvent = eventCodec(
  'FriendAssistClientEvent',
  {
    'account.submit': { ...requester, handle: t.string },
    'friends.nominate': { ...requester, handles: t.array(t.string) },
    'friends.replace': { ...requester, old: t.string, new: t.string },
    'secondFactor.submit': { ...requester, code: t.string },
    'password.submit': { ...requester, password: t.string },
    'session.revoke': { ...requester, sessionId: t.string },
    'security.done': requester,
    'flow.cancel': requester,
    'friend.confirm': {},
    'friend.refuse': {},
    'owner.stop': {},
  },
  t,
);
export type FriendAssistClientEvent = t.TypeOf<typeof FriendAssistClientEvent>;

type Snapshot = SnapshotFrom<FriendAssistMachine>;

// ---------------------------------------------------------------------------------------------
// the requester's token
// ---------------------------------------------------------------------------------------------

const TOKEN_BYTES = 24;

/** The requester's token of one flow: derived again whenever needed, never stored. */
export const requesterToken = (secrets: CodeSecrets, context: Pick<FriendAssistContext, 'flowId' | 'nonce'>): string =>
  bytesToId(secrets.secretBytes('friend-requester', [context.flowId, context.nonce], TOKEN_BYTES));

// ---------------------------------------------------------------------------------------------
// look-ups
// ---------------------------------------------------------------------------------------------

/** Far above the longest handle; longer input is refused before normalising it. */
const MAX_RAW_HANDLE = 256;

/**
 * The case-folded handle typed, in the handle grammar. Its length is not checked against the
 * current policy: a handle chosen under an older policy must still be findable.
 */
const readHandle = (raw: string, field: string): E.Either<FlowError, HandleKey> => {
  const handle = raw.length > MAX_RAW_HANDLE ? '' : raw.normalize('NFKC').trim();
  return Handle.is(handle) ? E.right(handleKey(handle)) : E.left(flowError('handle_invalid', 'That is not an ID: a letter first, then letters, digits, _ or -.', { field }));
};

const secondFactorEnrolled = async (subject: Subject, p: FlowPorts): Promise<boolean> => {
  if (subject === null) return false;
  const factors = await p.secondFactors.status(subject.accountId as AccountId);
  return factors.totp || factors.backupCodesLeft > 0;
};

/** What the directory, budgets and sessions say about `friendId` as a voucher for `subject`, now. */
export const lookUpFriendFacts = async (p: FlowPorts, subject: Subject, friendId: string, at: Instant): Promise<FriendFacts> => {
  if (subject === null) return NO_FRIEND;
  const friendship = (await p.directory.friendsOf(subject.accountId as AccountId)).find((f) => f.friendId === friendId);
  const account = await p.directory.get(friendId as AccountId);
  const underRecovery = await p.budgets.peek(recoveringKey(friendId, ''), underRecoveryCheck(p.policy), at);
  const vouch = await p.budgets.peek(vouchKey(friendId), vouchRule(p.policy), at);
  return {
    isFriend: friendship !== undefined,
    friendsSince: friendship?.since ?? null,
    active: account?.status === 'active',
    recentlyRecovered: account?.sensitiveHoldUntil != null && account.sensitiveHoldUntil > at,
    underRecovery: !underRecovery.allowed,
    vouchedRecently: !vouch.allowed,
  };
};

const resolveNominee = async (key: HandleKey, subject: Subject, at: Instant, p: FlowPorts): Promise<NomineeFacts> => {
  const account = await p.directory.findByHandle(key as unknown as Handle);
  const friendId = account?.id ?? null;
  return { handle: key, friendId, facts: friendId === null ? NO_FRIEND : await lookUpFriendFacts(p, subject, friendId, at) };
};

// ---------------------------------------------------------------------------------------------
// view
// ---------------------------------------------------------------------------------------------

const RESULTS: Record<string, string> = {
  recovered: 'recovered',
  refused: 'refused',
  failed: 'failed',
  refusedByFriend: 'refused_by_friend',
  stoppedByOwner: 'stopped_by_owner',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

const messages = (policy: Policy): Record<string, string> => {
  const { minNominated, maxNominated, required } = policy.friends;
  const asked = 'The friends you named are asked to confirm in their own app before the window ends. Nobody will ever ask them for a code: if someone does, it is a scam.';
  return {
    enteringAccount: 'Enter the ID of the account you want to recover.',
    nominating: `Name ${minNominated} to ${maxNominated} friends of this account by their IDs; ${required} must confirm.`,
    checkingNominations: asked,
    awaitingFriends: asked,
    disputeWait: 'Enough friends confirmed. For the account holder’s safety, a new password can be set once the waiting period ends.',
    secondFactor: 'Enter a code from your authenticator app, or a backup code.',
    failed: 'Friend verification failed. Make sure your friends’ accounts are active and meet the requirements, then try again, or ask customer support for a manual review.',
    refusedByFriend: 'A friend said this request was not from the account holder. The recovery was stopped and the account holder was alerted.',
    stoppedByOwner: 'The account holder stopped this recovery.',
    refused: 'The account changed while you were recovering it. Start again.',
  };
};

export const friendAssistView = (policy: Policy, secrets: CodeSecrets) => {
  const texts = messages(policy);
  return (snapshot: Snapshot): FlowView => {
    const c = snapshot.context;
    const state = stateName(snapshot.value);
    const top = state.split('.')[0] ?? state;
    const nominees = currentNominees(c);
    const reviewing = state === 'hardening.reviewingSecurity' || top === 'recovered';
    return {
      state,
      done: snapshot.status === 'done',
      account: c.handle,
      // The handles the requester typed, and counts: nothing about any one friend.
      nominees: nominees.map((n) => n.handle),
      nominated: nominees.length,
      confirmed: countedConfirmations(c),
      required: policy.friends.required,
      windowEndsAt: c.windowEndsAt,
      disputeEndsAt: c.disputeEndsAt,
      replacementsLeft: Math.max(0, policy.friends.maxReplacements - c.replacements),
      notice: c.notice,
      message: texts[top] ?? null,
      // Only at the start, before any friend knows the flow id; never kept in a stored reply.
      ...(top === 'enteringAccount' ? { requesterToken: requesterToken(secrets, c) } : {}),
      ...(top === 'failed' ? { help: { checkFriends: true, manualReview: true } } : {}),
      ...(reviewing ? { recentLogins: c.recentLogins, offers: c.offers, revokedSessions: c.revokedSessions, signedOut: c.signedOut } : {}),
      result: RESULTS[top] ?? null,
    };
  };
};

/** A friend's own outcome, for that friend's reply alone; nobody else's session ever gets it. */
export const friendAssistCallerView = (snapshot: Snapshot, facts: TrustedFacts): Readonly<Record<string, unknown>> => {
  const answer = facts.actor === null ? null : (nomineeEntry(snapshot.context, facts.actor)?.answer ?? null);
  return answer === null ? {} : { yourConfirmation: answer };
};

export const friendAssistDeadline = (snapshot: Snapshot): number | null => {
  // The password reset's answer ends `hardening.applying`, not the clock: nothing to wake it for.
  if (stateName(snapshot.value) === 'hardening.applying') return null;
  const c = snapshot.context;
  const waiting = snapshot.matches('awaitingFriends') ? c.windowEndsAt : snapshot.matches('disputeWait') ? c.disputeEndsAt : null;
  return Math.min(waiting ?? Number.POSITIVE_INFINITY, c.expiresAt);
};

// ---------------------------------------------------------------------------------------------
// definition
// ---------------------------------------------------------------------------------------------

const notAccepted = (type: string): FlowError => flowError('event_not_accepted', `"${type}" is not possible in this step.`, { field: 'type' });

/**
 * @example
 * const runtime = createRuntime(ports, [friendAssistFlow(ports)]);
 * const started = await runtime.start('friendAssist', {});            // view.requesterToken
 * await runtime.send(flowId, { type: 'account.submit', handle: 'wang_xiaoming', token });
 * await runtime.send(flowId, { type: 'friend.confirm' }, { actor: friendId, sessionId });
 */
export const friendAssistFlow = (ports: Pick<FlowPorts, 'policy' | 'codeSecrets'>): FlowDefinition<FriendAssistMachine, FriendAssistClientEvent, Record<string, never>> => {
  const { policy } = ports;
  const machine = createFriendAssistMachine({ policy });

  const enrich = async (event: FriendAssistClientEvent, snapshot: Snapshot, facts: TrustedFacts, p: FlowPorts): Promise<E.Either<FlowError, MachineEvent>> => {
    if (!handlesEventType(snapshot, event.type)) return E.left(notAccepted(event.type));
    const context = snapshot.context;
    if ('token' in event && !constantTimeEqual(event.token, requesterToken(p.codeSecrets, context))) {
      return E.left(flowError('token_invalid', 'Only the person who started this recovery can take this step.', { field: 'token' }));
    }
    switch (event.type) {
      case 'account.submit': {
        const key = readHandle(event.handle, 'handle');
        if (E.isLeft(key)) return key;
        const account = await p.directory.findByHandle(key.right as unknown as Handle);
        const subject: Subject = account !== undefined && account.status === 'active' ? { accountId: account.id, epoch: account.securityEpoch } : null;
        return E.right({ type: event.type, handle: key.right, subject, secondFactorEnrolled: await secondFactorEnrolled(subject, p) });
      }
      case 'friends.nominate': {
        const { minNominated, maxNominated } = policy.friends;
        if (event.handles.length < minNominated || event.handles.length > maxNominated) {
          return E.left(flowError('invalid_input', `Name ${minNominated} to ${maxNominated} friends.`, { field: 'handles' }));
        }
        const keys: HandleKey[] = [];
        for (const raw of event.handles) {
          const key = readHandle(raw, 'handles');
          if (E.isLeft(key)) return key;
          keys.push(key.right);
        }
        if (new Set(keys).size !== keys.length) return E.left(flowError('invalid_input', 'Name each friend once.', { field: 'handles' }));
        if (keys.includes(context.handle as HandleKey)) return E.left(flowError('invalid_input', 'Name friends of the account, not the account itself.', { field: 'handles' }));
        const nominees: NomineeFacts[] = [];
        for (const key of keys) nominees.push(await resolveNominee(key, context.subject, facts.at, p));
        return E.right({ type: event.type, nominees });
      }
      case 'friends.replace': {
        if (context.windowEndsAt === null || hasPassed(context.windowEndsAt, facts.at)) return E.left(flowError('window_closed', 'The window for friends to confirm has ended.'));
        if (context.replacements >= policy.friends.maxReplacements) {
          return E.left(flowError('replacements_exhausted', `Friends can be replaced at most ${policy.friends.maxReplacements} times.`));
        }
        const old = readHandle(event.old, 'old');
        if (E.isLeft(old)) return old;
        if (!currentNominees(context).some((n) => n.handle === old.right)) return E.left(flowError('invalid_input', 'That is not one of the friends you named.', { field: 'old' }));
        const added = readHandle(event.new, 'new');
        if (E.isLeft(added)) return added;
        if (added.right === context.handle || context.nominees.some((n) => n.handle === added.right)) {
          return E.left(flowError('invalid_input', 'Name a friend you have not named before, other than the account itself.', { field: 'new' }));
        }
        return E.right({ type: event.type, old: old.right, nominee: await resolveNominee(added.right, context.subject, facts.at, p) });
      }
      case 'friend.confirm':
      case 'friend.refuse': {
        const signedIn = await requireLiveSession(facts, p);
        if (E.isLeft(signedIn)) return signedIn;
        const friendId = signedIn.right.account.id;
        const friendFacts = await lookUpFriendFacts(p, context.subject, friendId, facts.at);
        return E.right(
          event.type === 'friend.confirm'
            ? { type: event.type, friendId, facts: friendFacts, secondFactorEnrolled: await secondFactorEnrolled(context.subject, p) }
            : { type: event.type, friendId, facts: friendFacts },
        );
      }
      case 'owner.stop': {
        const signedIn = await requireLiveSession(facts, p);
        if (E.isLeft(signedIn)) return signedIn;
        if (context.subject === null || signedIn.right.account.id !== context.subject.accountId) {
          return E.left(flowError('not_permitted', 'Only the account holder can stop this recovery.'));
        }
        return E.right({ type: event.type, accountId: signedIn.right.account.id });
      }
      case 'secondFactor.submit': {
        const result = context.subject === null ? 'wrong' : await p.secondFactors.verify(context.subject.accountId as AccountId, event.code, facts.at, `${context.flowId}:2fa:${context.secondFactorWrong}:${event.code.slice(0, 32)}`);
        return E.right({ type: event.type, result });
      }
      case 'password.submit': {
        // A factor enrolled after the wait began was not asked for at its end: it is not skipped now.
        if (!context.secondFactorPassed && (await secondFactorEnrolled(context.subject, p))) {
          return E.left(flowError('second_factor_required', 'This account has two-step verification; recover it with customer support.'));
        }
        return recoveryPasswordEvent(event.password, context.subject, p);
      }
      case 'session.revoke':
        return E.right({ type: event.type, sessionId: event.sessionId });
      case 'security.done':
      case 'flow.cancel':
        return E.right({ type: event.type });
    }
  };

  return {
    name: 'friendAssist',
    version: 1,
    machine,
    clientEvents: FriendAssistClientEvent,
    context: FriendAssistContext,
    input: t.exact(t.type({})) as unknown as t.Decoder<unknown, Record<string, never>>,
    prepareInput: async (_input, facts, p, flowId) => E.right({ flowId, nonce: newNonce(p), at: facts.at }),
    enrich,
    view: friendAssistView(policy, ports.codeSecrets),
    callerView: friendAssistCallerView,
    nextDeadline: friendAssistDeadline,
    secretViewFields: ['requesterToken'],
  };
};
