import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { createMemoryWorld } from '../../src/adapters/memory/index.ts';
import type { Account } from '../../src/domain/account.ts';
import { recoveryPasswordEvent } from '../../src/flows/recoveryPassword.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';

const codeOf = (result: E.Either<{ code: string }, unknown>): string | undefined => (E.isLeft(result) ? result.left.code : undefined);

describe('recoveryPasswordEvent', () => {
  it('should refuse the old password, and only for the account it belongs to', async () => {
    const world = createMemoryWorld({ seed: 1 });
    const account = await seedAccount(world);
    expect(codeOf(await recoveryPasswordEvent(OLD_PASSWORD, { accountId: account.id }, world))).toBe('password_reused');
    expect(E.isRight(await recoveryPasswordEvent(OLD_PASSWORD, null, world))).toBe(true);
    expect(E.isRight(await recoveryPasswordEvent(OLD_PASSWORD, { accountId: 'acct-nobody' }, world))).toBe(true);
  });

  it('should refuse a password that holds the account\'s own handle or phone number', async () => {
    const world = createMemoryWorld({ seed: 2 });
    const account = await seedAccount(world, { handle: 'lotus_pond', phone: '+8613912345678' });
    const withHandle = 'walking by the lotus_pond at night';
    const withPhone = 'call me on 13912345678 after dark';
    expect(codeOf(await recoveryPasswordEvent(withHandle, { accountId: account.id }, world))).toBe('password_contains_identifier');
    expect(codeOf(await recoveryPasswordEvent(withPhone, { accountId: account.id }, world))).toBe('password_contains_identifier');
    // Without an account there is nothing of its own to check against.
    expect(E.isRight(await recoveryPasswordEvent(withHandle, null, world))).toBe(true);
  });

  it('should check only the handle of an account that has no phone', async () => {
    const world = createMemoryWorld({ seed: 3 });
    const seeded = await seedAccount(world, { handle: 'lotus_pond', phone: '+8613912345678', email: 'lotus@example.com' });
    const phoneless: Account = { ...seeded, phone: null };
    const ports: FlowPorts = { ...world, directory: { get: async (id: string) => (id === seeded.id ? phoneless : undefined) } as unknown as FlowPorts['directory'] };
    expect(E.isRight(await recoveryPasswordEvent('call me on 13912345678 after dark', { accountId: seeded.id }, ports))).toBe(true);
    expect(codeOf(await recoveryPasswordEvent('walking by the lotus_pond at night', { accountId: seeded.id }, ports))).toBe('password_contains_identifier');
  });

  it('should refuse a password that fails the policy before hashing anything, and hash one that passes', async () => {
    const world = createMemoryWorld({ seed: 4 });
    const account = await seedAccount(world);
    expect(codeOf(await recoveryPasswordEvent('short', { accountId: account.id }, world))).toBe('password_too_short');
    const accepted = await recoveryPasswordEvent('a brand new passphrase for spring', { accountId: account.id }, world);
    if (E.isLeft(accepted)) expect.fail(accepted.left.message);
    expect(accepted.right.type).toBe('password.submit');
    const hash = (accepted.right as unknown as { passwordHash: string }).passwordHash;
    expect(hash).not.toContain('passphrase');
    expect(await world.hasher.verify('a brand new passphrase for spring' as never, hash)).toBe(true);
  });
});
