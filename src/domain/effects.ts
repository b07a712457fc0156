/**
 * Effects a machine asks for, by name, as data. The runtime saves them in the flow's outbox
 * before anything runs them, and the host's executor turns each into port calls. No effect
 * carries a secret: a code is derived again at send time from its binding and counter.
 */
import type { FriendBudgetRule } from './friendAssist.ts';
import type { TotpFactor } from './totp.ts';
import type { CodeBinding } from './verificationCode.ts';

export type MessageTemplate =
  | 'registration.code'
  | 'recovery.code'
  | 'recovery.link'
  | 'binding.code'
  | 'recovery.completed'
  | 'recovery.started'
  | 'channel.changed'
  | 'secondFactor.enabled'
  | 'recovery.refusedByFriend'
  | 'review.approved'
  | 'review.secondFactorReset';

export interface DeliverCode {
  readonly type: 'deliverCode';
  readonly params: {
    readonly channel: 'sms' | 'email';
    /** The normalised address as typed; for an unknown recovery channel nothing is delivered. */
    readonly to: string;
    readonly binding: CodeBinding;
    readonly counter: number;
    readonly template: MessageTemplate;
    /** Budgets spent before sending, by key; the same keys whether or not a message goes out. */
    readonly budgetKeys: readonly string[];
    readonly deliver: boolean;
    /** E-mail recovery also carries a reset link derived from the same binding and counter. */
    readonly withLink?: boolean;
  };
}

export interface CreateAccount {
  readonly type: 'createAccount';
  readonly params: { readonly phone: string; readonly handle: string; readonly passwordHash: string };
}

export interface RecordFailure {
  readonly type: 'recordFailure';
  readonly params: { readonly key: string };
}

export interface Audit {
  readonly type: 'audit';
  readonly params: { readonly kind: string; readonly accountId?: string; readonly detail?: Readonly<Record<string, string | number | boolean | null>> };
}

export interface SubmitRealName {
  readonly type: 'submitRealName';
  readonly params: {
    readonly accountId: string;
    readonly attempt: number;
    /** The provider's own handle for documents the user gave it; never an ID number. */
    readonly reference: string;
  };
}

export interface SetRealNameStatus {
  readonly type: 'setRealNameStatus';
  readonly params: { readonly accountId: string; readonly status: 'pending' | 'verified' | 'rejected' | 'expired' };
}

/** Tells every channel bound to the account (phone and e-mail), each through its own key. */
export interface NotifyChannels {
  readonly type: 'notifyChannels';
  readonly params: { readonly accountId: string; readonly template: MessageTemplate };
}

/**
 * The hardening after a successful recovery, as one effect so a crash half-way is retried
 * whole under one key: new password and epoch bump (atomically, only at the expected epoch),
 * every session revoked, every bound channel told, recent logins read for the review.
 */
export interface CompleteRecovery {
  readonly type: 'completeRecovery';
  readonly params: { readonly accountId: string; readonly expectedEpoch: number; readonly passwordHash: string; readonly path: RecoveryPath };
}

export interface RevokeSession {
  readonly type: 'revokeSession';
  readonly params: { readonly accountId: string; readonly sessionId: string };
}

export type RecoveryPath = 'sms' | 'email' | 'friends' | 'review';

/**
 * Turns a confirmed TOTP factor on. The factor names its secret only by reference and the backup
 * codes travel as hashes, so the outbox holds nothing an attacker could sign in with.
 */
export interface EnrollSecondFactor {
  readonly type: 'enrollSecondFactor';
  readonly params: { readonly accountId: string; readonly factor: TotpFactor; readonly backupCodeHashes: readonly string[] };
}

/**
 * Writes a channel whose code was just redeemed, only while the account is at `expectedEpoch`
 * and the channel is no other account's; the directory records it as verified now.
 */
export interface BindChannel {
  readonly type: 'bindChannel';
  readonly params: { readonly accountId: string; readonly expectedEpoch: number; readonly channel: { readonly kind: 'phone' | 'email'; readonly value: string } };
}

/** One message to one address that may no longer be bound: the old value after a channel change. */
export interface NotifyAddress {
  readonly type: 'notifyAddress';
  readonly params: { readonly channel: 'sms' | 'email'; readonly to: string; readonly template: MessageTemplate };
}

/**
 * Tells a nominated friend, inside the app, that the holder of `accountId` asked them to vouch,
 * naming the flow they confirm or refuse in. `friendId` null tells nobody: a nominee who is no
 * friend of the account, or any nominee of an unknown account, so every nomination emits the
 * same effects and an unknown account's flow takes the same steps.
 */
export interface NotifyFriend {
  readonly type: 'notifyFriend';
  readonly params: { readonly friendId: string | null; readonly accountId: string | null; readonly flowId: string };
}

export type OwnerNotice = 'friendAssist.started' | 'friendAssist.refused';

/** Tells the account's own live sessions, inside the app; `accountId` null tells nobody. */
export interface NotifyOwner {
  readonly type: 'notifyOwner';
  readonly params: { readonly accountId: string | null; readonly notice: OwnerNotice; readonly flowId: string };
}

/**
 * Spends one unit of a shared budget, atomically; the flow hears `budget.allowed { key }` or
 * `budget.refused { key, retryAfterMs }`, so a count that depends on it (a friend's vouch) is
 * decided by the port, never by an earlier peek two flows could both pass.
 */
export interface ConsumeBudget {
  readonly type: 'consumeBudget';
  readonly params: { readonly key: string; readonly rule: FriendBudgetRule };
}

/**
 * Puts a manual-review ticket in the support queue. It names the flow, never the evidence: agents
 * read the evidence from the flow (`manualReviewAgentView`), so it lives in one place and is
 * deleted in one place. `accountId` null: nothing matched what the person named.
 */
export interface OpenTicket {
  readonly type: 'openTicket';
  readonly params: { readonly ticketId: string; readonly accountId: string | null; readonly agentDueAt: number };
}

/** Whose turn it is on an open ticket, and by when. */
export interface UpdateTicket {
  readonly type: 'updateTicket';
  readonly params: { readonly ticketId: string; readonly awaiting: 'agent' | 'user'; readonly dueAt: number };
}

export interface CloseTicket {
  readonly type: 'closeTicket';
  readonly params: { readonly ticketId: string; readonly outcome: 'approved' | 'rejected' | 'timed_out' | 'abandoned' | 'stopped_by_owner' | 'withdrawn' };
}

/**
 * Removes every enrolled second factor of the account — only while it is still at
 * `expectedEpoch` and active — and tells every bound channel. Only manual review emits it, after
 * an agent's approval said so and the dispute window passed undisputed.
 */
export interface ResetSecondFactor {
  readonly type: 'resetSecondFactor';
  readonly params: { readonly accountId: string; readonly expectedEpoch: number; readonly onlyWhile?: string };
}

export type Effect =
  | DeliverCode
  | CreateAccount
  | RecordFailure
  | Audit
  | SubmitRealName
  | SetRealNameStatus
  | NotifyChannels
  | CompleteRecovery
  | RevokeSession
  | EnrollSecondFactor
  | BindChannel
  | NotifyAddress
  | NotifyFriend
  | NotifyOwner
  | ConsumeBudget
  | OpenTicket
  | UpdateTicket
  | CloseTicket
  | ResetSecondFactor;
export type EffectType = Effect['type'];

/**
 * An effect whose params name `onlyWhile` (a dotted state path) is void once its flow has left
 * that state before the effect ran — e.g. an approved 2FA reset the owner stopped first.
 */
export const effectCondition = (params: unknown): string | undefined => {
  const onlyWhile = (params as { onlyWhile?: unknown } | null)?.onlyWhile;
  return typeof onlyWhile === 'string' ? onlyWhile : undefined;
};

/** `'case.resettingSecondFactor'` → `{ case: 'resettingSecondFactor' }`, for `snapshot.matches`. */
export const statePathValue = (path: string): string | Record<string, unknown> => {
  const parts = path.split('.');
  let value: string | Record<string, unknown> = parts[parts.length - 1] as string;
  for (let i = parts.length - 2; i >= 0; i--) value = { [parts[i] as string]: value };
  return value;
};

export const EFFECT_TYPES: ReadonlySet<string> = new Set<EffectType>([
  'deliverCode',
  'createAccount',
  'recordFailure',
  'audit',
  'submitRealName',
  'setRealNameStatus',
  'notifyChannels',
  'completeRecovery',
  'revokeSession',
  'enrollSecondFactor',
  'bindChannel',
  'notifyAddress',
  'notifyFriend',
  'notifyOwner',
  'consumeBudget',
  'openTicket',
  'updateTicket',
  'closeTicket',
  'resetSecondFactor',
]);
