import type { AccountId } from '../domain/account.ts';

/**
 * An identity-verification provider (for real-name rules on payments). Submission is
 * asynchronous: the provider's verdict arrives later as an event on the flow.
 */
export interface RealNameProvider {
  submit(request: { readonly accountId: AccountId; readonly flowId: string; readonly attempt: number }, idempotencyKey: string): Promise<{ readonly accepted: boolean }>;
}
