import type { AccountId } from '../domain/account.ts';

/**
 * An identity-verification provider (for real-name rules on payments). Submission is
 * asynchronous: the provider's verdict arrives later as an event on the flow.
 */
export interface RealNameProvider {
  /**
   * `reference` is the provider's own handle for the documents the user uploaded to it; the
   * verdict for (`flowId`, `attempt`) comes back through the host's webhook.
   */
  submit(request: RealNameSubmission, idempotencyKey: string): Promise<{ readonly accepted: boolean }>;
}

export interface RealNameSubmission {
  readonly accountId: AccountId;
  readonly flowId: string;
  readonly attempt: number;
  readonly reference: string;
}
