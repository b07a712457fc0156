/**
 * Effects a machine asks for, by name, as data. The runtime saves them in the flow's outbox
 * before anything runs them, and the host's executor turns each into port calls. No effect
 * carries a secret: a code is derived again at send time from its binding and counter.
 */
import type { CodeBinding } from './verificationCode.ts';

export type MessageTemplate =
  | 'registration.code'
  | 'recovery.code'
  | 'recovery.link'
  | 'binding.code'
  | 'recovery.completed'
  | 'recovery.started'
  | 'channel.changed';

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

export type Effect = DeliverCode | CreateAccount | RecordFailure | Audit | SubmitRealName | SetRealNameStatus;
export type EffectType = Effect['type'];

export const EFFECT_TYPES: ReadonlySet<string> = new Set<EffectType>([
  'deliverCode',
  'createAccount',
  'recordFailure',
  'audit',
  'submitRealName',
  'setRealNameStatus',
]);
