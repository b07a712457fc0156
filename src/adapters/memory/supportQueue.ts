import type { AccountId } from '../../domain/account.ts';
import type { Instant } from '../../domain/time.ts';
import type { SupportQueue, SupportTicket, SupportTicketOutcome } from '../../ports/supportQueue.ts';

/** A support queue in memory; a repeated idempotency key changes nothing. */
export class MemorySupportQueue implements SupportQueue {
  readonly #tickets = new Map<string, SupportTicket>();
  readonly #seen = new Set<string>();

  async open(ticket: { readonly ticketId: string; readonly accountId: AccountId | null; readonly at: Instant; readonly agentDueAt: Instant }, idempotencyKey: string): Promise<void> {
    if (!this.#first(idempotencyKey) || this.#tickets.has(ticket.ticketId)) return;
    this.#tickets.set(ticket.ticketId, { ticketId: ticket.ticketId, accountId: ticket.accountId, openedAt: ticket.at, awaiting: 'agent', dueAt: ticket.agentDueAt, outcome: null, closedAt: null });
  }

  async update(ticketId: string, turn: { readonly awaiting: 'agent' | 'user'; readonly dueAt: Instant }, idempotencyKey: string): Promise<void> {
    const ticket = this.#tickets.get(ticketId);
    if (!this.#first(idempotencyKey) || ticket === undefined || ticket.outcome !== null) return;
    this.#tickets.set(ticketId, { ...ticket, ...turn });
  }

  async close(ticketId: string, outcome: SupportTicketOutcome, at: Instant, idempotencyKey: string): Promise<void> {
    const ticket = this.#tickets.get(ticketId);
    if (!this.#first(idempotencyKey) || ticket === undefined || ticket.outcome !== null) return;
    this.#tickets.set(ticketId, { ...ticket, outcome, closedAt: at });
  }

  get(ticketId: string): SupportTicket | undefined {
    return this.#tickets.get(ticketId);
  }

  /** Tickets still open, oldest first: what an agent's inbox shows. */
  pending(): readonly SupportTicket[] {
    return [...this.#tickets.values()].filter((t) => t.outcome === null);
  }

  /** Every ticket about one account: what the owner's app shows, so the owner can stop one. */
  forAccount(accountId: AccountId): readonly SupportTicket[] {
    return [...this.#tickets.values()].filter((t) => t.accountId === accountId);
  }

  all(): readonly SupportTicket[] {
    return [...this.#tickets.values()];
  }

  #first(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }
}
