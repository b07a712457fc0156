import type { Policy } from '../domain/policy.ts';
import type { AccountDirectory } from '../ports/accountDirectory.ts';
import type { AuditSink } from '../ports/audit.ts';
import type { BlockedNumbers } from '../ports/blockedNumbers.ts';
import type { Budgets } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { CodeSecrets } from '../ports/codeSecrets.ts';
import type { FlowStore } from '../ports/flowStore.ts';
import type { InAppNotifier } from '../ports/inApp.ts';
import type { Locale, Messenger } from '../ports/messenger.ts';
import type { PasswordBlocklist } from '../ports/passwordBlocklist.ts';
import type { PasswordHasher } from '../ports/passwordHasher.ts';
import type { RandomSource } from '../ports/random.ts';
import type { RealNameProvider } from '../ports/realNameProvider.ts';
import type { SecondFactors } from '../ports/secondFactors.ts';
import type { Sessions } from '../ports/sessions.ts';
import type { SupportQueue } from '../ports/supportQueue.ts';

/** Everything a host injects. One bundle serves every flow definition. */
export interface FlowPorts {
  readonly policy: Policy;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly codeSecrets: CodeSecrets;
  readonly messenger: Messenger;
  readonly directory: AccountDirectory;
  readonly sessions: Sessions;
  readonly hasher: PasswordHasher;
  readonly budgets: Budgets;
  readonly store: FlowStore;
  readonly audit: AuditSink;
  readonly blockedNumbers: BlockedNumbers;
  readonly passwordBlocklist: PasswordBlocklist;
  readonly realNameProvider: RealNameProvider;
  readonly secondFactors: SecondFactors;
  /** Notices inside the app: friends asked to vouch, owners warned of a recovery. */
  readonly inApp: InAppNotifier;
  /** Where manual-review tickets wait for an agent. */
  readonly supportQueue: SupportQueue;
  readonly locale: Locale;
  /** Where the reset page lives; e-mail links are `${resetLinkBase}?flow=…&token=…`. */
  readonly resetLinkBase: string;
}
