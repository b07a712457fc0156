import type { Account, AccountId, Friendship, RealNameStatus } from '../../domain/account.ts';
import type { Email } from '../../domain/email.ts';
import { type Handle, handleKey } from '../../domain/handle.ts';
import type { Phone } from '../../domain/phone.ts';
import type { Instant } from '../../domain/time.ts';
import type { AccountDirectory, CreateAccountResult, EpochGuardedResult } from '../../ports/accountDirectory.ts';

/**
 * Accounts in one process. Each method runs to completion before another starts, which is
 * what makes "check unique, then insert" atomic here; SQL adapters use constraints instead.
 */
export class MemoryDirectory implements AccountDirectory {
  readonly #accounts = new Map<AccountId, Account>();
  readonly #byPhone = new Map<string, AccountId>();
  readonly #byEmail = new Map<string, AccountId>();
  readonly #byHandle = new Map<string, AccountId>();
  readonly #friends = new Map<AccountId, Friendship[]>();
  readonly #done = new Map<string, unknown>();
  /** Every password change ever applied, for invariant checks. */
  readonly passwordChanges: { readonly id: AccountId; readonly epoch: number; readonly idempotencyKey: string }[] = [];
  #next = 1;

  async get(id: AccountId): Promise<Account | undefined> {
    return this.#accounts.get(id);
  }

  async findByPhone(phone: Phone): Promise<Account | undefined> {
    const id = this.#byPhone.get(phone);
    return id === undefined ? undefined : this.#accounts.get(id);
  }

  async findByEmail(email: Email): Promise<Account | undefined> {
    const id = this.#byEmail.get(email);
    return id === undefined ? undefined : this.#accounts.get(id);
  }

  async isHandleTaken(handle: Handle): Promise<boolean> {
    return this.#byHandle.has(handleKey(handle));
  }

  async findByHandle(handle: Handle): Promise<Account | undefined> {
    const id = this.#byHandle.get(handleKey(handle));
    return id === undefined ? undefined : this.#accounts.get(id);
  }

  async create(input: { readonly phone: Phone; readonly handle: Handle; readonly passwordHash: string; readonly at: Instant; readonly idempotencyKey: string }): Promise<CreateAccountResult> {
    return this.#once(input.idempotencyKey, () => this.createNow(input));
  }

  /** Synchronous creation for seeding worlds in tests and simulations. */
  createNow(input: { readonly phone: Phone; readonly handle: Handle; readonly passwordHash: string; readonly at: Instant; readonly email?: Email }): CreateAccountResult {
    if (this.#byPhone.has(input.phone)) return { ok: false, conflict: 'phone_taken' };
    if (this.#byHandle.has(handleKey(input.handle))) return { ok: false, conflict: 'handle_taken' };
    const id = `acct-${this.#next++}` as AccountId;
    const account: Account = {
      id,
      handle: input.handle,
      phone: { value: input.phone, verifiedAt: input.at },
      email: input.email === undefined ? null : { value: input.email, verifiedAt: input.at },
      passwordHash: input.passwordHash,
      securityEpoch: 0,
      status: 'active',
      createdAt: input.at,
      realName: 'not_started',
      sensitiveHoldUntil: null,
    };
    this.#accounts.set(id, account);
    this.#byPhone.set(input.phone, id);
    if (input.email !== undefined) this.#byEmail.set(input.email, id);
    this.#byHandle.set(handleKey(input.handle), id);
    return { ok: true, account };
  }

  async resetPassword(input: { readonly id: AccountId; readonly expectedEpoch: number; readonly passwordHash: string; readonly holdSensitiveUntil: Instant | null; readonly idempotencyKey: string }): Promise<EpochGuardedResult> {
    return this.#once(input.idempotencyKey, () => {
      const guarded = this.#guard(input.id, input.expectedEpoch);
      if (!guarded.ok) return guarded;
      const account: Account = {
        ...guarded.account,
        passwordHash: input.passwordHash,
        securityEpoch: guarded.account.securityEpoch + 1,
        sensitiveHoldUntil: input.holdSensitiveUntil,
      };
      this.#accounts.set(account.id, account);
      this.passwordChanges.push({ id: account.id, epoch: account.securityEpoch, idempotencyKey: input.idempotencyKey });
      return { ok: true, account };
    });
  }

  async bindChannel(input: Parameters<AccountDirectory['bindChannel']>[0]): ReturnType<AccountDirectory['bindChannel']> {
    return this.#once(input.idempotencyKey, () => {
      const guarded = this.#guard(input.id, input.expectedEpoch);
      if (!guarded.ok) return guarded;
      const index = input.channel.kind === 'phone' ? this.#byPhone : this.#byEmail;
      const holder = index.get(input.channel.value);
      if (holder !== undefined && holder !== input.id) return { ok: false, reason: 'channel_taken' } as const;
      const previous = input.channel.kind === 'phone' ? guarded.account.phone : guarded.account.email;
      if (previous !== null) index.delete(previous.value);
      index.set(input.channel.value, input.id);
      const bound = { value: input.channel.value, verifiedAt: input.at };
      const account: Account = input.channel.kind === 'phone' ? { ...guarded.account, phone: bound as Account['phone'] } : { ...guarded.account, email: bound as Account['email'] };
      this.#accounts.set(input.id, account);
      return { ok: true, account };
    });
  }

  async setRealName(id: AccountId, status: RealNameStatus, idempotencyKey: string): Promise<void> {
    this.#once(idempotencyKey, () => this.#update(id, (a) => ({ ...a, realName: status })));
  }

  async friendsOf(id: AccountId): Promise<readonly Friendship[]> {
    return this.#friends.get(id) ?? [];
  }

  // -- seeding helpers for tests and simulations ------------------------------------------------

  befriend(a: AccountId, b: AccountId, since: Instant): void {
    this.#friends.set(a, [...(this.#friends.get(a) ?? []), { friendId: b, since }]);
    this.#friends.set(b, [...(this.#friends.get(b) ?? []), { friendId: a, since }]);
  }

  deactivate(id: AccountId): void {
    this.#update(id, (a) => ({ ...a, status: 'deactivated' }));
  }

  bumpEpoch(id: AccountId): void {
    this.#update(id, (a) => ({ ...a, securityEpoch: a.securityEpoch + 1 }));
  }

  /** Synchronous read for observers that must not await (simulation invariants). */
  peek(id: AccountId): Account | undefined {
    return this.#accounts.get(id);
  }

  all(): readonly Account[] {
    return [...this.#accounts.values()];
  }

  // -- internals ----------------------------------------------------------------------------------

  #once<T>(key: string, run: () => T): T {
    if (this.#done.has(key)) return this.#done.get(key) as T;
    const result = run();
    this.#done.set(key, result);
    return result;
  }

  #guard(id: AccountId, expectedEpoch: number): EpochGuardedResult {
    const account = this.#accounts.get(id);
    if (account === undefined) return { ok: false, reason: 'not_found' };
    if (account.status !== 'active') return { ok: false, reason: 'deactivated' };
    if (account.securityEpoch !== expectedEpoch) return { ok: false, reason: 'stale_epoch' };
    return { ok: true, account };
  }

  #update(id: AccountId, change: (account: Account) => Account): void {
    const account = this.#accounts.get(id);
    if (account !== undefined) this.#accounts.set(id, change(account));
  }
}
