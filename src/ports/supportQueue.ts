import type { AccountId } from '../domain/account.ts';
import type { CloseTicket } from '../domain/effects.ts';
import type { Instant } from '../domain/time.ts';

export type SupportTicketOutcome = CloseTicket['params']['outcome'];

export interface SupportTicket {
  /** The manual-review flow's id: agents open the flow, where the evidence lives, by it. */
  readonly ticketId: string;
  /** The matched account, or null when what the person named matched none. */
  readonly accountId: AccountId | null;
  readonly openedAt: Instant;
  readonly awaiting: 'agent' | 'user';
  readonly dueAt: Instant;
  readonly outcome: SupportTicketOutcome | null;
  readonly closedAt: Instant | null;
}

/**
 * The host's support queue: where agents find manual-review tickets, and where an owner's app
 * can find open recoveries of their own account to stop. It holds no evidence: only the flow
 * does, so the retention limit deletes it in one place.
 */
export interface SupportQueue {
  open(ticket: { readonly ticketId: string; readonly accountId: AccountId | null; readonly at: Instant; readonly agentDueAt: Instant }, idempotencyKey: string): Promise<void>;
  update(ticketId: string, turn: { readonly awaiting: 'agent' | 'user'; readonly dueAt: Instant }, idempotencyKey: string): Promise<void>;
  close(ticketId: string, outcome: SupportTicketOutcome, at: Instant, idempotencyKey: string): Promise<void>;
}
