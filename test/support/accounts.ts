import type { Account } from '../../src/domain/account.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import type { MemoryWorld } from '../../src/adapters/memory/index.ts';

export const OLD_PASSWORD = 'the old long passphrase';

/** An account as registration would have left it, with its password hashed by the world's hasher. */
export const seedAccount = async (
  world: MemoryWorld,
  options: { readonly phone?: string; readonly handle?: string; readonly email?: string; readonly password?: string } = {},
): Promise<Account> => {
  const created = world.directory.createNow({
    phone: (options.phone ?? '+8613800138000') as Phone,
    handle: (options.handle ?? 'wang_xiaoming') as Handle,
    passwordHash: await world.hasher.hash(options.password ?? OLD_PASSWORD),
    at: world.clock.now(),
    ...(options.email === undefined ? {} : { email: options.email as Email }),
  });
  if (!created.ok) throw new Error(`could not seed: ${created.conflict}`);
  return created.account;
};

/** The reset-link token in the last e-mail to an address. */
export const lastLinkTokenTo = (world: MemoryWorld, address: string): string | undefined =>
  world.messenger.lastTo(address)?.text.match(/[?&]token=([A-Za-z0-9_-]+)/)?.[1];
