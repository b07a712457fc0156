/**
 * One contract for the durable ports, run against every adapter: memory, PGlite and PostgreSQL.
 * Whatever one adapter is proven to do here, all of them do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, AccountId } from '../../src/domain/account.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import type { Phone } from '../../src/domain/phone.ts';
import type { RateRule } from '../../src/domain/policy.ts';
import { HOUR, MINUTE } from '../../src/domain/time.ts';
import type { AccountDirectory, CreateAccountResult } from '../../src/ports/accountDirectory.ts';
import type { Budgets } from '../../src/ports/budgets.ts';
import type { FlowIndex, FlowQueries, FlowStore } from '../../src/ports/flowStore.ts';
import type { Session, Sessions } from '../../src/ports/sessions.ts';
import { type FlowEnvelope, SCHEMA_VERSION } from '../../src/runtime/envelope.ts';

/** The ports, plus the seeding and inspection helpers every adapter offers (async here). */
export interface PortsUnderTest {
  readonly store: FlowStore &
    FlowQueries & {
      raw(flowId: string): Promise<string | undefined>;
      overwriteRaw(flowId: string, text: string): Promise<void>;
    };
  readonly budgets: Budgets & { spent(key: string): Promise<readonly number[]> };
  readonly directory: AccountDirectory;
  readonly sessions: Sessions & {
    signIn(accountId: AccountId, epoch: number, at: number, device?: string, place?: string): Promise<Session>;
    isLive(sessionId: string, currentEpoch: number): Promise<boolean>;
  };
  readonly seed: {
    account(input: { readonly phone: Phone; readonly handle: Handle; readonly passwordHash: string; readonly at: number; readonly email?: Email }): Promise<CreateAccountResult>;
    befriend(a: AccountId, b: AccountId, since: number): Promise<void>;
    deactivate(id: AccountId): Promise<void>;
    bumpEpoch(id: AccountId): Promise<void>;
    all(): Promise<readonly Account[]>;
  };
}

/** Gives empty ports each time it is called (several times per test is fine). */
export type FreshPorts = () => Promise<PortsUnderTest>;

const T0 = Date.UTC(2026, 0, 1);
const PHONE_A = '+8613800138000' as Phone;
const PHONE_B = '+8613800138001' as Phone;
const PHONE_C = '+8613800138002' as Phone;
const handle = (h: string): Handle => h as Handle;
const RULE: RateRule = { windows: [{ limit: 3, windowMs: HOUR }], cooldownMs: 0 };
const NO_INDEX: FlowIndex = { nextDeadline: null, pendingEffects: 0, finished: false };

const envelope = (flowId: string, version: number, note = 'start', updatedAt = T0 + version): FlowEnvelope => ({
  flowId,
  machine: 'registration',
  machineVersion: 1,
  schemaVersion: SCHEMA_VERSION,
  version,
  createdAt: T0,
  updatedAt,
  snapshot: { value: 'idle', context: { note }, status: 'active' },
  outbox: [],
  replies: [],
});

const index = (nextDeadline: number | null, pendingEffects = 0, finished = false): FlowIndex => ({ nextDeadline, pendingEffects, finished });

export const describeContract = (name: string, fresh: FreshPorts, options: { readonly propertyRuns?: number } = {}): void => {
  const runs = options.propertyRuns ?? 20;

  describe(`${name}: flow store`, () => {
    it('should refuse a second insert of the same flow and keep the first', async () => {
      const { store } = await fresh();
      expect(await store.insert(envelope('f1', 1, 'first'), NO_INDEX)).toBe(true);
      expect(await store.insert(envelope('f1', 1, 'second'), NO_INDEX)).toBe(false);
      expect(await store.load('f1')).toEqual(envelope('f1', 1, 'first'));
    });

    it('should give undefined for a flow it does not hold', async () => {
      const { store } = await fresh();
      expect(await store.load('missing')).toBeUndefined();
    });

    it('should replace only from the stored version', async () => {
      const { store } = await fresh();
      await store.insert(envelope('f1', 1), NO_INDEX);
      expect(await store.replace(envelope('f1', 2, 'v2'), 1, NO_INDEX)).toBe(true);
      expect(await store.replace(envelope('f1', 3, 'stale'), 1, NO_INDEX)).toBe(false);
      expect(await store.load('f1')).toEqual(envelope('f1', 2, 'v2'));
      expect(await store.replace(envelope('f1', 3, 'v3'), 2, NO_INDEX)).toBe(true);
      expect(await store.load('f1')).toEqual(envelope('f1', 3, 'v3'));
    });

    it('should refuse to replace a flow that was never inserted', async () => {
      const { store } = await fresh();
      expect(await store.replace(envelope('f1', 2), 1, NO_INDEX)).toBe(false);
      expect(await store.load('f1')).toBeUndefined();
    });

    it('should let exactly one of several concurrent replaces from the same version win', async () => {
      const { store } = await fresh();
      await store.insert(envelope('f1', 1), NO_INDEX);
      const writers = ['a', 'b', 'c', 'd', 'e'];
      const results = await Promise.all(writers.map((w) => store.replace(envelope('f1', 2, w), 1, NO_INDEX)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.load('f1')).toEqual(envelope('f1', 2, writers[results.indexOf(true)]));
    });

    it('should store JSON text, so every load is a fresh copy', async () => {
      const { store } = await fresh();
      const original = envelope('f1', 1);
      await store.insert(original, NO_INDEX);
      (original.snapshot.context as Record<string, unknown>)['note'] = 'changed after insert';
      const first = (await store.load('f1')) as FlowEnvelope;
      expect(first.snapshot.context).toEqual({ note: 'start' });
      (first.snapshot.context as Record<string, unknown>)['note'] = 'changed after load';
      expect(((await store.load('f1')) as FlowEnvelope).snapshot.context).toEqual({ note: 'start' });
      expect(JSON.parse((await store.raw('f1')) ?? '')).toEqual(envelope('f1', 1));
    });

    it('should drop what JSON cannot hold', async () => {
      const { store } = await fresh();
      const odd = { ...envelope('f1', 1), snapshot: { value: 'idle', context: { gone: undefined, date: new Date(T0) }, status: 'active' } } as FlowEnvelope;
      await store.insert(odd, NO_INDEX);
      expect(((await store.load('f1')) as FlowEnvelope).snapshot.context).toEqual({ date: new Date(T0).toISOString() });
    });

    it('should hand unparseable storage up as the text it is', async () => {
      const { store } = await fresh();
      await store.insert(envelope('f1', 1), NO_INDEX);
      await store.overwriteRaw('f1', '{"flowId": "f1", "trunc');
      expect(await store.load('f1')).toBe('{"flowId": "f1", "trunc');
    });

    it('should answer due flows earliest first, ties by flow id compared as code units, up to a limit', async () => {
      const { store } = await fresh();
      // 'B' < '_' < 'a' by code unit; a linguistic collation would sort them otherwise.
      await store.insert(envelope('a', 1), index(T0 + 10));
      await store.insert(envelope('_', 1), index(T0 + 10));
      await store.insert(envelope('B', 1), index(T0 + 10));
      await store.insert(envelope('early', 1), index(T0 + 5));
      await store.insert(envelope('later', 1), index(T0 + 11));
      await store.insert(envelope('none', 1), index(null));
      expect(await store.due(T0 + 10, 10)).toEqual([
        { flowId: 'early', at: T0 + 5 },
        { flowId: 'B', at: T0 + 10 },
        { flowId: '_', at: T0 + 10 },
        { flowId: 'a', at: T0 + 10 },
      ]);
      expect((await store.due(T0 + 10, 2)).map((d) => d.flowId)).toEqual(['early', 'B']);
      expect(await store.due(T0 + 4, 10)).toEqual([]);
    });

    it('should name the earliest deadline strictly after now, or null', async () => {
      const { store } = await fresh();
      expect(await store.nextDeadlineAfter(T0)).toBeNull();
      await store.insert(envelope('f1', 1), index(T0 + 100));
      await store.insert(envelope('f2', 1), index(T0 + 50));
      await store.insert(envelope('f3', 1), index(T0));
      expect(await store.nextDeadlineAfter(T0)).toBe(T0 + 50);
      expect(await store.nextDeadlineAfter(T0 + 50)).toBe(T0 + 100);
      expect(await store.nextDeadlineAfter(T0 + 100)).toBeNull();
    });

    it('should list flows with pending effects in id order, and follow the index on replace', async () => {
      const { store } = await fresh();
      await store.insert(envelope('f2', 1), index(T0, 2));
      await store.insert(envelope('f1', 1), index(T0, 1));
      await store.insert(envelope('f3', 1), index(T0, 0));
      expect(await store.withPendingEffects(10)).toEqual(['f1', 'f2']);
      expect(await store.withPendingEffects(1)).toEqual(['f1']);
      expect(await store.replace(envelope('f1', 2), 1, index(null, 0))).toBe(true);
      expect(await store.withPendingEffects(10)).toEqual(['f2']);
      expect(await store.due(T0, 10)).toEqual([
        { flowId: 'f2', at: T0 },
        { flowId: 'f3', at: T0 },
      ]);
      // A refused replace changes the index no more than the envelope.
      expect(await store.replace(envelope('f2', 2), 5, index(null, 0))).toBe(false);
      expect(await store.withPendingEffects(10)).toEqual(['f2']);
    });

    it('should sweep finished flows before one instant and any flow untouched before another', async () => {
      const { store } = await fresh();
      await store.insert(envelope('finished-old', 1, 's', T0), index(null, 0, true));
      await store.insert(envelope('finished-new', 1, 's', T0 + 100), index(null, 0, true));
      await store.insert(envelope('active-old', 1, 's', T0), index(T0 + 5));
      await store.insert(envelope('active-older', 1, 's', T0 - 100), index(T0 + 5, 1));
      expect(await store.sweep(T0 + 50, T0 - 50)).toBe(2);
      expect(await store.load('finished-old')).toBeUndefined();
      expect(await store.load('active-older')).toBeUndefined();
      expect(await store.load('finished-new')).toBeDefined();
      expect(await store.load('active-old')).toBeDefined();
      expect(await store.sweep(T0 + 50, T0 - 50)).toBe(0);
      expect(await store.withPendingEffects(10)).toEqual([]);
    });
  });

  describe(`${name}: budgets`, () => {
    it('should spend once for the same idempotency key, and return the first decision', async () => {
      const { budgets } = await fresh();
      const first = await budgets.consume('phone:a', RULE, T0, 'outbox:1');
      expect(first.allowed).toBe(true);
      expect(await budgets.consume('phone:a', RULE, T0 + 5, 'outbox:1')).toEqual(first);
      expect(await budgets.spent('phone:a')).toEqual([T0]);
    });

    it('should answer a repeated idempotency key with its first decision even for another budget', async () => {
      const { budgets } = await fresh();
      const first = await budgets.consume('phone:a', RULE, T0, 'outbox:1');
      expect(await budgets.consume('phone:b', RULE, T0, 'outbox:1')).toEqual(first);
      expect(await budgets.spent('phone:b')).toEqual([]);
    });

    it('should spend for every call without an idempotency key', async () => {
      const { budgets } = await fresh();
      await budgets.consume('phone:a', RULE, T0);
      await budgets.consume('phone:a', RULE, T0);
      expect(await budgets.spent('phone:a')).toEqual([T0, T0]);
    });

    it('should replay a refusal for its idempotency key, without spending', async () => {
      const { budgets } = await fresh();
      for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
      const refused = await budgets.consume('phone:a', RULE, T0 + 1, 'outbox:4');
      expect(refused).toEqual({ allowed: false, retryAfterMs: HOUR - 1, reason: 'window' });
      expect(await budgets.consume('phone:a', RULE, T0 + HOUR, 'outbox:4')).toEqual(refused);
      expect(await budgets.spent('phone:a')).toHaveLength(3);
    });

    it('should allow exactly one of many consumes racing for the last unit', async () => {
      const { budgets } = await fresh();
      await budgets.consume('phone:a', RULE, T0);
      await budgets.consume('phone:a', RULE, T0);
      const decisions = await Promise.all(Array.from({ length: 8 }, (_, i) => budgets.consume('phone:a', RULE, T0 + 1, i % 2 === 0 ? `racer:${i}` : undefined)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
      expect(await budgets.spent('phone:a')).toHaveLength(3);
    });

    it('should keep keys apart', async () => {
      const { budgets } = await fresh();
      for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
      expect((await budgets.consume('phone:b', RULE, T0)).allowed).toBe(true);
      expect((await budgets.consume('phone:a', RULE, T0)).allowed).toBe(false);
    });

    it('should peek without spending', async () => {
      const { budgets } = await fresh();
      expect((await budgets.peek('phone:a', RULE, T0)).allowed).toBe(true);
      expect(await budgets.spent('phone:a')).toEqual([]);
      for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
      expect(await budgets.peek('phone:a', RULE, T0 + 10)).toEqual({ allowed: false, retryAfterMs: HOUR - 10, reason: 'window' });
      expect(await budgets.spent('phone:a')).toHaveLength(3);
    });

    it('should refuse inside the cooldown and forget events no window can see', async () => {
      const { budgets } = await fresh();
      const rule: RateRule = { windows: [{ limit: 5, windowMs: HOUR }], cooldownMs: MINUTE };
      await budgets.consume('phone:a', rule, T0);
      expect(await budgets.consume('phone:a', rule, T0 + 1_000)).toEqual({ allowed: false, retryAfterMs: MINUTE - 1_000, reason: 'cooldown' });
      expect((await budgets.consume('phone:a', rule, T0 + 2 * HOUR)).allowed).toBe(true);
      expect(await budgets.spent('phone:a')).toEqual([T0 + 2 * HOUR]);
    });
  });

  const create = (directory: AccountDirectory, phone: Phone, h: string, key: string) =>
    directory.create({ phone, handle: handle(h), passwordHash: `hash-of-${h}`, at: T0, idempotencyKey: key });

  const created = async (directory: AccountDirectory, phone: Phone, h: string, key = `create:${h}`): Promise<Account> => {
    const result = await create(directory, phone, h, key);
    if (!result.ok) return expect.fail(`could not create ${h}: ${result.conflict}`);
    return result.account;
  };

  describe(`${name}: account directory`, () => {
    it('should create an account with epoch 0, findable by id, phone and handle in any case', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      expect(account).toEqual({
        id: account.id,
        handle: 'Alice_01',
        phone: { value: PHONE_A, verifiedAt: T0 },
        email: null,
        passwordHash: 'hash-of-Alice_01',
        securityEpoch: 0,
        status: 'active',
        createdAt: T0,
        realName: 'not_started',
        sensitiveHoldUntil: null,
      });
      expect(await directory.get(account.id)).toEqual(account);
      expect(await directory.findByPhone(PHONE_A)).toEqual(account);
      expect(await directory.findByHandle(handle('aLICE_01'))).toEqual(account);
      expect(await directory.isHandleTaken(handle('Alice_01'))).toBe(true);
      expect(await directory.get('acct-404' as AccountId)).toBeUndefined();
      expect(await directory.findByPhone(PHONE_B)).toBeUndefined();
      expect(await directory.findByHandle(handle('Nobody_01'))).toBeUndefined();
    });

    it('should refuse a phone that already has an account', async () => {
      const { directory, seed } = await fresh();
      await created(directory, PHONE_A, 'Alice_01');
      expect(await create(directory, PHONE_A, 'Bobby_02', 'create:2')).toEqual({ ok: false, conflict: 'phone_taken' });
      expect(await seed.all()).toHaveLength(1);
    });

    it('should name the phone first when both the phone and the handle are taken', async () => {
      const { directory } = await fresh();
      await created(directory, PHONE_A, 'Alice_01');
      expect(await create(directory, PHONE_A, 'ALICE_01', 'create:2')).toEqual({ ok: false, conflict: 'phone_taken' });
    });

    it('should refuse a handle taken in any case', async () => {
      const { directory, seed } = await fresh();
      await created(directory, PHONE_A, 'Alice_01');
      expect(await create(directory, PHONE_B, 'ALICE_01', 'create:2')).toEqual({ ok: false, conflict: 'handle_taken' });
      expect(await create(directory, PHONE_B, 'alice_01', 'create:3')).toEqual({ ok: false, conflict: 'handle_taken' });
      expect(await directory.isHandleTaken(handle('aLiCe_01'))).toBe(true);
      expect(await directory.isHandleTaken(handle('Alice_02'))).toBe(false);
      expect(await seed.all()).toHaveLength(1);
    });

    it('should let exactly one of two racing registrations of the same phone win', async () => {
      const { directory, seed } = await fresh();
      const results = await Promise.all([create(directory, PHONE_A, 'Alice_01', 'k1'), create(directory, PHONE_A, 'Bobby_02', 'k2')]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await seed.all()).toHaveLength(1);
    });

    it('should return the first result for a repeated create key, creating nothing more', async () => {
      const { directory, seed } = await fresh();
      const first = await create(directory, PHONE_A, 'Alice_01', 'create:once');
      const again = await create(directory, PHONE_B, 'Bobby_02', 'create:once');
      expect(again).toEqual(first);
      expect(await seed.all()).toHaveLength(1);
      expect(await directory.findByPhone(PHONE_B)).toBeUndefined();
    });

    it('should keep phones and handles unique over arbitrary concurrent registrations', async () => {
      const handles = ['Alice_01', 'alice_01', 'ALICE_01', 'Bobby_02', 'bobby_02', 'Carol_03'];
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(PHONE_A, PHONE_B, PHONE_C), fc.constantFrom(...handles)), { maxLength: 10 }), async (attempts) => {
          const { directory, seed } = await fresh();
          const results = await Promise.all(attempts.map(([p, h], i) => create(directory, p, h, `k${i}`)));
          const accounts = await seed.all();
          expect(accounts).toHaveLength(results.filter((r) => r.ok).length);
          expect(new Set(accounts.map((a) => a.phone?.value)).size).toBe(accounts.length);
          expect(new Set(accounts.map((a) => a.handle.toLowerCase())).size).toBe(accounts.length);
        }),
        { numRuns: runs },
      );
    });

    it('should reset a password by bumping the epoch, and refuse the stale epoch afterwards', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      const reset = await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'new-hash', holdSensitiveUntil: T0 + HOUR, idempotencyKey: 'reset:1' });
      expect(reset).toEqual({ ok: true, account: { ...account, securityEpoch: 1, passwordHash: 'new-hash', sensitiveHoldUntil: T0 + HOUR } });
      const stale = await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'other', holdSensitiveUntil: null, idempotencyKey: 'reset:2' });
      expect(stale).toEqual({ ok: false, reason: 'stale_epoch' });
      expect((await directory.get(account.id))?.passwordHash).toBe('new-hash');
    });

    it('should let exactly one of two racing resets from the same epoch win', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      const results = await Promise.all(
        ['a', 'b'].map((who) => directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: who, holdSensitiveUntil: null, idempotencyKey: `reset:${who}` })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'stale_epoch' }]);
      expect((await directory.get(account.id))?.securityEpoch).toBe(1);
    });

    it('should apply a repeated reset key once', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      const input = { id: account.id, expectedEpoch: 0, passwordHash: 'new-hash', holdSensitiveUntil: null, idempotencyKey: 'reset:once' };
      const first = await directory.resetPassword(input);
      expect(await directory.resetPassword(input)).toEqual(first);
      expect((await directory.get(account.id))?.securityEpoch).toBe(1);
    });

    it('should refuse to reset a deactivated or unknown account', async () => {
      const { directory, seed } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      await seed.deactivate(account.id);
      expect(await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r1' })).toEqual({ ok: false, reason: 'deactivated' });
      expect(await directory.resetPassword({ id: 'acct-404' as AccountId, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r2' })).toEqual({ ok: false, reason: 'not_found' });
      expect((await directory.get(account.id))?.passwordHash).toBe('hash-of-Alice_01');
    });

    it('should refuse a reset after the epoch moved on by other means', async () => {
      const { directory, seed } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      await seed.bumpEpoch(account.id);
      expect(await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r1' })).toEqual({ ok: false, reason: 'stale_epoch' });
    });

    it('should bind an e-mail address and a new phone, freeing the old phone', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      const mail = 'alice@example.com' as Email;
      const bound = await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0 + 1, idempotencyKey: 'b1' });
      expect(bound).toEqual({ ok: true, account: { ...account, email: { value: mail, verifiedAt: T0 + 1 } } });
      expect((await directory.findByEmail(mail))?.id).toBe(account.id);
      const moved = await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B }, at: T0 + 2, idempotencyKey: 'b2' });
      expect(moved).toMatchObject({ ok: true, account: { phone: { value: PHONE_B, verifiedAt: T0 + 2 } } });
      expect(await directory.findByPhone(PHONE_A)).toBeUndefined();
      expect((await directory.findByPhone(PHONE_B))?.id).toBe(account.id);
      expect((await create(directory, PHONE_A, 'Carol_03', 'c3')).ok).toBe(true);
    });

    it('should refuse to bind a channel held by another account', async () => {
      const { directory } = await fresh();
      const alice = await created(directory, PHONE_A, 'Alice_01');
      const bob = await created(directory, PHONE_B, 'Bobby_02');
      const mail = 'shared@example.com' as Email;
      expect((await directory.bindChannel({ id: alice.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0, idempotencyKey: 'b1' })).ok).toBe(true);
      expect(await directory.bindChannel({ id: bob.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_A }, at: T0, idempotencyKey: 'b2' })).toEqual({ ok: false, reason: 'channel_taken' });
      expect(await directory.bindChannel({ id: bob.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0, idempotencyKey: 'b3' })).toEqual({ ok: false, reason: 'channel_taken' });
      expect((await directory.findByPhone(PHONE_A))?.id).toBe(alice.id);
      expect((await directory.findByEmail(mail))?.id).toBe(alice.id);
      expect(await directory.get(bob.id)).toEqual(bob);
      // The refusal was stored under its key like any other answer.
      expect(await directory.bindChannel({ id: bob.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_C }, at: T0, idempotencyKey: 'b2' })).toEqual({ ok: false, reason: 'channel_taken' });
    });

    it('should rebind the channel an account already holds, with the new verification time', async () => {
      const { directory } = await fresh();
      const alice = await created(directory, PHONE_A, 'Alice_01');
      const again = await directory.bindChannel({ id: alice.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_A }, at: T0 + 9, idempotencyKey: 'b1' });
      expect(again).toEqual({ ok: true, account: { ...alice, phone: { value: PHONE_A, verifiedAt: T0 + 9 } } });
    });

    it('should refuse to bind under a stale epoch or for a deactivated account', async () => {
      const { directory, seed } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      await seed.bumpEpoch(account.id);
      expect(await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B }, at: T0, idempotencyKey: 'b1' })).toEqual({ ok: false, reason: 'stale_epoch' });
      await seed.deactivate(account.id);
      expect(await directory.bindChannel({ id: account.id, expectedEpoch: 1, channel: { kind: 'phone', value: PHONE_B }, at: T0, idempotencyKey: 'b2' })).toEqual({ ok: false, reason: 'deactivated' });
      expect(await directory.bindChannel({ id: 'acct-404' as AccountId, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B }, at: T0, idempotencyKey: 'b3' })).toEqual({ ok: false, reason: 'not_found' });
      expect(await directory.findByPhone(PHONE_B)).toBeUndefined();
    });

    it('should apply a repeated bind key once', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      const input = { id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B } as const, at: T0, idempotencyKey: 'b1' };
      const first = await directory.bindChannel(input);
      expect(await directory.bindChannel({ ...input, channel: { kind: 'phone', value: PHONE_C } })).toEqual(first);
      expect(await directory.findByPhone(PHONE_C)).toBeUndefined();
    });

    it('should set the real-name status once per key', async () => {
      const { directory } = await fresh();
      const account = await created(directory, PHONE_A, 'Alice_01');
      await directory.setRealName(account.id, 'pending', 'rn:1');
      expect((await directory.get(account.id))?.realName).toBe('pending');
      await directory.setRealName(account.id, 'verified', 'rn:1');
      expect((await directory.get(account.id))?.realName).toBe('pending');
      await directory.setRealName(account.id, 'verified', 'rn:2');
      expect((await directory.get(account.id))?.realName).toBe('verified');
    });

    it('should record friendships both ways, in the order they were made', async () => {
      const { directory, seed } = await fresh();
      const alice = await created(directory, PHONE_A, 'Alice_01');
      const bob = await created(directory, PHONE_B, 'Bobby_02');
      const carol = await created(directory, PHONE_C, 'Carol_03');
      await seed.befriend(alice.id, bob.id, T0);
      await seed.befriend(alice.id, carol.id, T0 + 1);
      expect(await directory.friendsOf(alice.id)).toEqual([
        { friendId: bob.id, since: T0 },
        { friendId: carol.id, since: T0 + 1 },
      ]);
      expect(await directory.friendsOf(bob.id)).toEqual([{ friendId: alice.id, since: T0 }]);
      expect(await directory.friendsOf('acct-404' as AccountId)).toEqual([]);
    });

    it('should seed an account with an e-mail address, findable by it', async () => {
      const { directory, seed } = await fresh();
      const mail = 'seed@example.com' as Email;
      const seeded = await seed.account({ phone: PHONE_A, handle: handle('Seeded_1'), passwordHash: 'h', at: T0, email: mail });
      expect(seeded).toMatchObject({ ok: true, account: { email: { value: mail, verifiedAt: T0 } } });
      expect((await directory.findByEmail(mail))?.handle).toBe('Seeded_1');
      expect(await seed.account({ phone: PHONE_B, handle: handle('seeded_1'), passwordHash: 'h', at: T0 })).toEqual({ ok: false, conflict: 'handle_taken' });
    });
  });

  describe(`${name}: sessions`, () => {
    const alice = 'acct-1' as AccountId;
    const bob = 'acct-2' as AccountId;

    it('should sign in, read back and list sessions in sign-in order', async () => {
      const { sessions } = await fresh();
      const s1 = await sessions.signIn(alice, 0, T0, 'laptop', 'Beijing');
      const s2 = await sessions.signIn(alice, 0, T0 + 1);
      expect(s1).toEqual({ id: s1.id, accountId: alice, epoch: 0, createdAt: T0, device: 'laptop', place: 'Beijing', revokedAt: null });
      expect(s2.id).not.toBe(s1.id);
      expect(await sessions.get(s1.id)).toEqual(s1);
      expect(await sessions.get('sess-unknown')).toBeUndefined();
      expect(await sessions.list(alice)).toEqual([s1, s2]);
      expect(await sessions.list(bob)).toEqual([]);
    });

    it('should revoke every live session but the one kept, and only the account’s own', async () => {
      const { sessions } = await fresh();
      const s1 = await sessions.signIn(alice, 0, T0);
      const s2 = await sessions.signIn(alice, 0, T0);
      const s3 = await sessions.signIn(alice, 0, T0);
      const other = await sessions.signIn(bob, 0, T0);
      expect(await sessions.revokeAllExcept(alice, s2.id, T0 + 1, 'revoke:1')).toBe(2);
      expect(await sessions.isLive(s1.id, 0)).toBe(false);
      expect(await sessions.isLive(s2.id, 0)).toBe(true);
      expect(await sessions.isLive(s3.id, 0)).toBe(false);
      expect(await sessions.isLive(other.id, 0)).toBe(true);
      expect((await sessions.list(alice)).filter((s) => s.revokedAt === T0 + 1).map((s) => s.id)).toEqual([s1.id, s3.id]);
    });

    it('should revoke all with keep null, and not count sessions already revoked', async () => {
      const { sessions } = await fresh();
      const s1 = await sessions.signIn(alice, 0, T0);
      const s2 = await sessions.signIn(alice, 0, T0);
      await sessions.revoke(s1.id, T0 + 1);
      expect(await sessions.revokeAllExcept(alice, null, T0 + 2, 'revoke:all')).toBe(1);
      expect((await sessions.get(s1.id))?.revokedAt).toBe(T0 + 1);
      expect((await sessions.get(s2.id))?.revokedAt).toBe(T0 + 2);
    });

    it('should answer a repeated key with the first count and revoke nothing new', async () => {
      const { sessions } = await fresh();
      await sessions.signIn(alice, 0, T0);
      await sessions.signIn(alice, 0, T0);
      expect(await sessions.revokeAllExcept(alice, null, T0, 'revoke:1')).toBe(2);
      const later = await sessions.signIn(alice, 0, T0 + 5);
      expect(await sessions.revokeAllExcept(alice, null, T0 + 6, 'revoke:1')).toBe(2);
      expect(await sessions.isLive(later.id, 0)).toBe(true);
      expect(await sessions.revokeAllExcept(alice, null, T0 + 6, 'revoke:2')).toBe(1);
    });

    it('should keep the first revocation time when a session is revoked twice', async () => {
      const { sessions } = await fresh();
      const s = await sessions.signIn(alice, 0, T0);
      await sessions.revoke(s.id, T0 + 1);
      await sessions.revoke(s.id, T0 + 2);
      await sessions.revoke('sess-unknown', T0 + 2);
      expect((await sessions.get(s.id))?.revokedAt).toBe(T0 + 1);
    });

    it('should call a session of an older epoch dead', async () => {
      const { sessions } = await fresh();
      const s = await sessions.signIn(alice, 0, T0);
      expect(await sessions.isLive(s.id, 0)).toBe(true);
      expect(await sessions.isLive(s.id, 1)).toBe(false);
      expect(await sessions.isLive('sess-unknown', 0)).toBe(false);
    });

    it('should show the most recent logins first, up to a limit', async () => {
      const { sessions } = await fresh();
      const s1 = await sessions.signIn(alice, 0, T0, 'phone', 'Shanghai');
      const s2 = await sessions.signIn(alice, 0, T0 + 1, 'laptop', 'Hangzhou');
      const s3 = await sessions.signIn(alice, 0, T0 + 2, 'tablet', 'Suzhou');
      await sessions.signIn(bob, 0, T0 + 3);
      expect(await sessions.recentLogins(alice, 2)).toEqual([
        { at: T0 + 2, device: 'tablet', place: 'Suzhou', sessionId: s3.id },
        { at: T0 + 1, device: 'laptop', place: 'Hangzhou', sessionId: s2.id },
      ]);
      expect((await sessions.recentLogins(alice, 10)).map((l) => l.sessionId)).toEqual([s3.id, s2.id, s1.id]);
    });
  });
};
