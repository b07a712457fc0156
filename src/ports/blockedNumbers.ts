import type { Phone } from '../domain/phone.ts';

/** Numbers the operator refuses (fraud lists, carrier blocks). */
export interface BlockedNumbers {
  isBlocked(phone: Phone): Promise<boolean>;
}
