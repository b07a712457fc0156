/**
 * The new password at the end of every recovery path, checked the same way everywhere: the
 * policy (with the account's own phone and handle), different from the old one, and hashed
 * here, at the boundary, so only the hash ever reaches the machine.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AccountId } from '../domain/account.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { checkPassword } from '../domain/password.ts';
import type { MachineEvent } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';

export const recoveryPasswordEvent = async (
  raw: string,
  subject: { readonly accountId: string } | null,
  ports: FlowPorts,
): Promise<E.Either<FlowError, MachineEvent>> => {
  const account = subject === null ? undefined : await ports.directory.get(subject.accountId as AccountId);
  const password = checkPassword(raw, {
    policy: ports.policy,
    blocklist: ports.passwordBlocklist,
    ...(account?.phone == null ? {} : { phone: account.phone.value }),
    ...(account === undefined ? {} : { handle: account.handle }),
  });
  if (E.isLeft(password)) return password;
  if (account !== undefined && (await ports.hasher.verify(password.right, account.passwordHash))) {
    return E.left(flowError('password_reused', 'Choose a password different from the old one.', { field: 'password' }));
  }
  return E.right({ type: 'password.submit', passwordHash: await ports.hasher.hash(password.right) });
};
