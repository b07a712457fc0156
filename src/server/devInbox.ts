/**
 * The development inbox: the messages the service "sent", for a person without a real phone or
 * mailbox to read their code. Only a host that configures one exposes it (`GET /dev/inbox`); it
 * shows every code to whoever can reach the page, so never in front of real accounts.
 */
import type { MemoryMessenger } from '../adapters/memory/messenger.ts';

export interface DevMessage {
  readonly channel: 'sms' | 'email';
  readonly to: string;
  readonly subject?: string;
  readonly text: string;
}

export interface DevInbox {
  /** The latest messages, newest first. */
  recent(limit: number): Promise<readonly DevMessage[]>;
}

/** The inbox over the in-memory messenger's record of what it sent. */
export const memoryDevInbox = (messenger: MemoryMessenger): DevInbox => ({
  recent: async (limit) =>
    messenger.sent
      .slice(-limit)
      .reverse()
      .map(({ message }) => ({ channel: message.channel, to: message.to, ...(message.channel === 'email' ? { subject: message.subject } : {}), text: message.text })),
});
