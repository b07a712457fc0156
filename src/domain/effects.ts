/**
 * Effects a machine asks for, by name, as data. The runtime saves them in the flow's outbox
 * before anything runs them, and the host's executor turns each into port calls. No effect
 * carries a secret: a code is derived again at send time from its binding and counter.
 */
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
  | 'secondFactor.enabled';

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
  | NotifyAddress;
export type EffectType = Effect['type'];

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
]);
