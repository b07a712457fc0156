import type { AccountId } from '../domain/account.ts';
import type { InAppNoticeKind } from '../domain/messages.ts';

export interface InAppNotice {
  readonly kind: InAppNoticeKind;
  /** The flow the notice is about: a friend confirms or refuses in it, an owner stops it. */
  readonly flowId: string;
  /** The handle of the account being recovered, as shown to the reader. */
  readonly accountHandle: string;
  /** Rendered in the host's locale; a host may render `kind` itself instead. */
  readonly text: string;
}

/**
 * Notices shown inside the app to a signed-in account (every live session, and the inbox that
 * keeps them for the next sign-in). Friend-assisted recovery asks friends and warns owners here,
 * never by a code a friend could be talked into relaying.
 */
export interface InAppNotifier {
  /** Idempotent per key: an outbox entry run again after a crash shows nothing new. */
  notify(to: AccountId, notice: InAppNotice, idempotencyKey: string): Promise<void>;
}
