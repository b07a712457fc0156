import type { Phone } from '../../domain/phone.ts';
import type { BlockedNumbers } from '../../ports/blockedNumbers.ts';

export class MemoryBlockedNumbers implements BlockedNumbers {
  readonly #blocked: Set<string>;

  constructor(numbers: Iterable<string> = []) {
    this.#blocked = new Set(numbers);
  }

  block(phone: string): void {
    this.#blocked.add(phone);
  }

  async isBlocked(phone: Phone): Promise<boolean> {
    return this.#blocked.has(phone);
  }
}
