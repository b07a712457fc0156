/**
 * Accounts over SQL, with the memory directory's semantics. Uniqueness is the database's: unique
 * indexes on the phone, the e-mail and the handle's key (`handleKey`, the domain's own case
 * folding, computed here and checked by the table to equal `lower(handle)`). Every epoch-guarded
 * write is one UPDATE whose WHERE clause is the guard, and every keyed write runs once per key.
 */
import type { Account, AccountId, Friendship, RealNameStatus } from '../../domain/account.ts';
import type { Email } from '../../domain/email.ts';
import { type Handle, handleKey } from '../../domain/handle.ts';
import type { Phone } from '../../domain/phone.ts';
import type { Instant } from '../../domain/time.ts';
import type { AccountDirectory, CreateAccountResult, EpochGuardedResult } from '../../ports/accountDirectory.ts';
import { type SqlClient, type SqlQueryable, toNullableNumber, toNumber, unlessUniqueViolation } from './client.ts';
import { once, type StoredAs } from './idempotency.ts';

interface AccountRow {
  readonly id: string;
  readonly handle: string;
  readonly phone: string | null;
  readonly phone_verified_at: unknown;
  readonly email: string | null;
  readonly email_verified_at: unknown;
  readonly password_hash: string;
  readonly security_epoch: unknown;
  readonly status: string;
  readonly created_at: unknown;
  readonly real_name: string;
  readonly sensitive_hold_until: unknown;
}

const COLUMNS = 'id, handle, phone, phone_verified_at, email, email_verified_at, password_hash, security_epoch, status, created_at, real_name, sensitive_hold_until';

const toAccount = (row: AccountRow): Account => ({
  id: row.id as AccountId,
  handle: row.handle as Handle,
  phone: row.phone === null ? null : { value: row.phone as Phone, verifiedAt: toNumber(row.phone_verified_at) },
  email: row.email === null ? null : { value: row.email as Email, verifiedAt: toNumber(row.email_verified_at) },
  passwordHash: row.password_hash,
  securityEpoch: toNumber(row.security_epoch),
  status: row.status === 'deactivated' ? 'deactivated' : 'active',
  createdAt: toNumber(row.created_at),
  realName: row.real_name as RealNameStatus,
  sensitiveHoldUntil: toNullableNumber(row.sensitive_hold_until),
});

/**
 * A keyed answer that holds an account is kept as the account's id, and a replay reads the
 * account again: the idempotency table must not become a second, never-cleaned copy of every
 * password hash (an old hash outlives the password it was for). So a replay answers with the
 * account as it is now, where the memory directory answers with the account as it was.
 */
type AccountAnswer = { readonly ok: true; readonly account: Account } | { readonly ok: false };
type StoredAnswer = { readonly ok: true; readonly accountId: string } | { readonly ok: false };

const byAccountId = <T extends AccountAnswer>(): StoredAs<T, StoredAnswer | T> => ({
  toStored: (answer) => (answer.ok ? { ok: true, accountId: answer.account.id } : answer),
  fromStored: async (stored, tx) => {
    if (!stored.ok || !('accountId' in stored)) return stored as T;
    const [row] = await tx.query<AccountRow>(`SELECT ${COLUMNS} FROM af_accounts WHERE id = $1`, [stored.accountId]);
    if (row === undefined) throw new Error('an idempotent answer names an account that no longer exists');
    return { ok: true, account: toAccount(row) } as T;
  },
});

export interface NewAccount {
  readonly phone: Phone;
  readonly handle: Handle;
  readonly passwordHash: string;
  readonly at: Instant;
  readonly email?: Email;
}

export class SqlDirectory implements AccountDirectory {
  readonly #client: SqlClient;

  constructor(client: SqlClient) {
    this.#client = client;
  }

  get(id: AccountId): Promise<Account | undefined> {
    return this.#one(this.#client, 'id = $1', [id]);
  }

  findByPhone(phone: Phone): Promise<Account | undefined> {
    return this.#one(this.#client, 'phone = $1', [phone]);
  }

  findByEmail(email: Email): Promise<Account | undefined> {
    return this.#one(this.#client, 'email = $1', [email]);
  }

  async isHandleTaken(handle: Handle): Promise<boolean> {
    return (await this.#client.query('SELECT 1 FROM af_accounts WHERE handle_key = $1', [handleKey(handle)])).length > 0;
  }

  findByHandle(handle: Handle): Promise<Account | undefined> {
    return this.#one(this.#client, 'handle_key = $1', [handleKey(handle)]);
  }

  create(input: { readonly phone: Phone; readonly handle: Handle; readonly passwordHash: string; readonly at: Instant; readonly idempotencyKey: string }): Promise<CreateAccountResult> {
    return this.#client.transaction((tx) => once(tx, 'directory', input.idempotencyKey, () => insertAccount(tx, input), byAccountId<CreateAccountResult>()));
  }

  resetPassword(input: { readonly id: AccountId; readonly expectedEpoch: number; readonly passwordHash: string; readonly holdSensitiveUntil: Instant | null; readonly idempotencyKey: string }): Promise<EpochGuardedResult> {
    return this.#client.transaction((tx) =>
      once(tx, 'directory', input.idempotencyKey, async () => {
        const [row] = await tx.query<AccountRow>(
          `UPDATE af_accounts SET password_hash = $3, security_epoch = security_epoch + 1, sensitive_hold_until = $4
           WHERE id = $1 AND security_epoch = $2 AND status = 'active' RETURNING ${COLUMNS}`,
          [input.id, input.expectedEpoch, input.passwordHash, input.holdSensitiveUntil],
        );
        return row === undefined ? this.#whyNot(tx, input.id) : { ok: true, account: toAccount(row) };
      }, byAccountId<EpochGuardedResult>()),
    );
  }

  bindChannel(input: Parameters<AccountDirectory['bindChannel']>[0]): ReturnType<AccountDirectory['bindChannel']> {
    const [value, verifiedAt] = input.channel.kind === 'phone' ? ['phone', 'phone_verified_at'] : ['email', 'email_verified_at'];
    return this.#client.transaction((tx) =>
      once(tx, 'directory', input.idempotencyKey, async () => {
        // The guard is the WHERE clause; a channel another account holds trips the unique index
        // (also when that account binds it in the same instant from another instance).
        const updated = await unlessUniqueViolation(tx, () =>
          tx.query<AccountRow>(
            `UPDATE af_accounts SET ${value} = $3, ${verifiedAt} = $4
             WHERE id = $1 AND security_epoch = $2 AND status = 'active' RETURNING ${COLUMNS}`,
            [input.id, input.expectedEpoch, input.channel.value, input.at],
          ),
        );
        if (updated === 'unique_violation') return { ok: false, reason: 'channel_taken' } as const;
        const [row] = updated;
        return row === undefined ? this.#whyNot(tx, input.id) : { ok: true, account: toAccount(row) };
      }, byAccountId<EpochGuardedResult | { readonly ok: false; readonly reason: 'channel_taken' }>()),
    );
  }

  async setRealName(id: AccountId, status: RealNameStatus, idempotencyKey: string): Promise<void> {
    await this.#client.transaction((tx) =>
      once(tx, 'directory', idempotencyKey, async () => {
        await tx.query('UPDATE af_accounts SET real_name = $2 WHERE id = $1', [id, status]);
      }),
    );
  }

  async friendsOf(id: AccountId): Promise<readonly Friendship[]> {
    const rows = await this.#client.query<{ friend_id: string; since: unknown }>('SELECT friend_id, since FROM af_friendships WHERE account_id = $1 ORDER BY seq', [id]);
    return rows.map((r) => ({ friendId: r.friend_id as AccountId, since: toNumber(r.since) }));
  }

  // -- seeding helpers for hosts and tests ------------------------------------------------------

  /** Creates an account without an idempotency key (seeding); same uniqueness as `create`. */
  createAccount(input: NewAccount): Promise<CreateAccountResult> {
    return this.#client.transaction((tx) => insertAccount(tx, input));
  }

  /** Records a friendship both ways; befriending twice changes nothing. */
  async befriend(a: AccountId, b: AccountId, since: Instant): Promise<void> {
    await this.#client.transaction(async (tx) => {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ]) {
        await tx.query('INSERT INTO af_friendships (account_id, friend_id, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [from, to, since]);
      }
    });
  }

  async deactivate(id: AccountId): Promise<void> {
    await this.#client.query("UPDATE af_accounts SET status = 'deactivated' WHERE id = $1", [id]);
  }

  /** Moves the epoch on as some other security event would (tests of stale epochs). */
  async bumpEpoch(id: AccountId): Promise<void> {
    await this.#client.query('UPDATE af_accounts SET security_epoch = security_epoch + 1 WHERE id = $1', [id]);
  }

  async all(): Promise<readonly Account[]> {
    return (await this.#client.query<AccountRow>(`SELECT ${COLUMNS} FROM af_accounts ORDER BY created_at, length(id), id`)).map(toAccount);
  }

  // -- internals ----------------------------------------------------------------------------------

  async #one(db: SqlQueryable, where: string, params: readonly unknown[]): Promise<Account | undefined> {
    const [row] = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM af_accounts WHERE ${where}`, params);
    return row === undefined ? undefined : toAccount(row);
  }

  /** Why an epoch-guarded UPDATE matched nothing, in the memory directory's order. */
  async #whyNot(tx: SqlQueryable, id: AccountId): Promise<EpochGuardedResult> {
    const account = await this.#one(tx, 'id = $1', [id]);
    if (account === undefined) return { ok: false, reason: 'not_found' };
    if (account.status !== 'active') return { ok: false, reason: 'deactivated' };
    return { ok: false, reason: 'stale_epoch' };
  }
}

/**
 * Inserts the account unless its phone, e-mail or handle key is taken. `ON CONFLICT DO NOTHING`
 * waits for a concurrent insert of the same key to commit or roll back, so afterwards the
 * conflicting row (if any) is visible to the next statement and names the conflict.
 */
const insertAccount = async (tx: SqlQueryable, input: NewAccount): Promise<CreateAccountResult> => {
  const key = handleKey(input.handle);
  // A conflicting row can vanish before we look for it (its phone moved by a concurrent
  // bindChannel); the insert is then simply tried again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [row] = await tx.query<AccountRow>(
      `INSERT INTO af_accounts (id, handle, handle_key, phone, phone_verified_at, email, email_verified_at, password_hash, created_at)
       VALUES ('acct-' || nextval('af_account_ids'), $1, $2, $3, $4, $5, $6, $7, $4)
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [input.handle, key, input.phone, input.at, input.email ?? null, input.email === undefined ? null : input.at, input.passwordHash],
    );
    if (row !== undefined) return { ok: true, account: toAccount(row) };
    const [taken] = await tx.query<{ phone: boolean | null }>('SELECT bool_or(phone = $1) AS phone FROM af_accounts WHERE phone = $1 OR handle_key = $2', [input.phone, key]);
    // Phone first, as the memory directory checks it first.
    if (taken?.phone === true) return { ok: false, conflict: 'phone_taken' };
    if (taken?.phone === false) return { ok: false, conflict: 'handle_taken' };
    // The port has no conflict for an e-mail (only seeding sets one), so that is an error.
    if (input.email !== undefined && (await tx.query('SELECT 1 FROM af_accounts WHERE email = $1', [input.email])).length > 0) {
      throw new Error('the e-mail address is already bound to another account');
    }
  }
  throw new Error('the account could not be inserted: its keys kept changing under it');
};
