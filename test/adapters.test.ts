import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/adapters/clocks.ts';
import { hmacCodeSecrets } from '../src/adapters/codeSecrets.ts';
import { scryptHasher, testOnlyHasher } from '../src/adapters/hashers.ts';
import { MemoryAudit } from '../src/adapters/memory/audit.ts';
import { MemoryBudgets } from '../src/adapters/memory/budgets.ts';
import { MemoryDirectory } from '../src/adapters/memory/directory.ts';
import { MemoryFlowStore } from '../src/adapters/memory/flowStore.ts';
import { MemoryMessenger } from '../src/adapters/memory/messenger.ts';
import { MemorySessions } from '../src/adapters/memory/sessions.ts';
import { seededRandom } from '../src/adapters/random.ts';
import type { AccountId } from '../src/domain/account.ts';
import { type Email, parseEmail } from '../src/domain/email.ts';
import { type Handle, parseHandle } from '../src/domain/handle.ts';
import { parsePhone, type Phone } from '../src/domain/phone.ts';
import { DEFAULT_POLICY, type RateRule } from '../src/domain/policy.ts';
import { HOUR, MINUTE } from '../src/domain/time.ts';
import { type CodeBinding, issueCode } from '../src/domain/verificationCode.ts';
import type { OutboundMessage } from '../src/ports/messenger.ts';
import { type FlowEnvelope, SCHEMA_VERSION } from '../src/runtime/envelope.ts';

const T0 = Date.UTC(2026, 0, 1);

const phone = (raw: string): Phone => {
  const parsed = parsePhone(raw, DEFAULT_POLICY);
  if (E.isLeft(parsed)) throw new Error(`test phone ${raw} does not parse: ${parsed.left.message}`);
  return parsed.right;
};

const handle = (raw: string): Handle => {
  const parsed = parseHandle(raw, DEFAULT_POLICY);
  if (E.isLeft(parsed)) throw new Error(`test handle ${raw} does not parse`);
  return parsed.right;
};

const email = (raw: string): Email => {
  const parsed = parseEmail(raw);
  if (E.isLeft(parsed)) throw new Error(`test e-mail ${raw} does not parse`);
  return parsed.right;
};

const PHONE_A = phone('+8613800138000');
const PHONE_B = phone('+8613800138001');
const PHONE_C = phone('+8613800138002');

// ---------------------------------------------------------------------------------------------
// MemoryFlowStore
// ---------------------------------------------------------------------------------------------

const envelope = (flowId: string, version: number, note = 'start'): FlowEnvelope => ({
  flowId,
  machine: 'registration',
  machineVersion: 1,
  schemaVersion: SCHEMA_VERSION,
  version,
  createdAt: T0,
  updatedAt: T0 + version,
  snapshot: { value: 'idle', context: { note }, status: 'active' },
  outbox: [],
  replies: [],
});

describe('MemoryFlowStore', () => {
  it('should refuse a second insert of the same flow and keep the first', async () => {
    const store = new MemoryFlowStore();
    expect(await store.insert(envelope('f1', 1, 'first'))).toBe(true);
    expect(await store.insert(envelope('f1', 1, 'second'))).toBe(false);
    expect(await store.load('f1')).toEqual(envelope('f1', 1, 'first'));
  });

  it('should give undefined for a flow it does not hold', async () => {
    expect(await new MemoryFlowStore().load('missing')).toBeUndefined();
  });

  it('should replace only from the stored version', async () => {
    const store = new MemoryFlowStore();
    await store.insert(envelope('f1', 1));
    expect(await store.replace(envelope('f1', 2, 'v2'), 1)).toBe(true);
    expect(await store.replace(envelope('f1', 3, 'stale'), 1)).toBe(false);
    expect(await store.load('f1')).toEqual(envelope('f1', 2, 'v2'));
    expect(await store.replace(envelope('f1', 3, 'v3'), 2)).toBe(true);
    expect(await store.load('f1')).toEqual(envelope('f1', 3, 'v3'));
  });

  it('should refuse to replace a flow that was never inserted', async () => {
    const store = new MemoryFlowStore();
    expect(await store.replace(envelope('f1', 2), 1)).toBe(false);
    expect(await store.load('f1')).toBeUndefined();
  });

  it('should let exactly one of two concurrent replaces from the same version win', async () => {
    const store = new MemoryFlowStore();
    await store.insert(envelope('f1', 1));
    const results = await Promise.all([store.replace(envelope('f1', 2, 'a'), 1), store.replace(envelope('f1', 2, 'b'), 1)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] === true ? 'a' : 'b';
    expect(await store.load('f1')).toEqual(envelope('f1', 2, winner));
  });

  it('should let exactly one of many racing writers win, whatever their number', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 20 }), async (writers) => {
        const store = new MemoryFlowStore();
        await store.insert(envelope('f1', 1));
        const results = await Promise.all(Array.from({ length: writers }, (_, i) => store.replace(envelope('f1', 2, `w${i}`), 1)));
        expect(results.filter(Boolean)).toHaveLength(1);
      }),
    );
  });

  it('should store JSON, so every load is a fresh copy and later changes to the original do not leak in', async () => {
    const store = new MemoryFlowStore();
    const original = envelope('f1', 1);
    await store.insert(original);
    (original.snapshot.context as Record<string, unknown>).note = 'changed after insert';
    const first = (await store.load('f1')) as FlowEnvelope;
    const second = (await store.load('f1')) as FlowEnvelope;
    expect(first).not.toBe(second);
    expect(first.snapshot.context).toEqual({ note: 'start' });
    (first.snapshot.context as Record<string, unknown>).note = 'changed after load';
    expect(((await store.load('f1')) as FlowEnvelope).snapshot.context).toEqual({ note: 'start' });
    expect(JSON.parse(store.raw('f1') as string)).toEqual(envelope('f1', 1));
  });

  it('should drop what JSON cannot hold, as a database would', async () => {
    const store = new MemoryFlowStore();
    const withUndefined = { ...envelope('f1', 1), snapshot: { value: 'idle', context: { gone: undefined, date: new Date(T0) }, status: 'active' } } as FlowEnvelope;
    await store.insert(withUndefined);
    const loaded = (await store.load('f1')) as FlowEnvelope;
    expect(loaded.snapshot.context).toEqual({ date: new Date(T0).toISOString() });
  });
});

// ---------------------------------------------------------------------------------------------
// MemoryBudgets
// ---------------------------------------------------------------------------------------------

const RULE: RateRule = { windows: [{ limit: 3, windowMs: HOUR }], cooldownMs: 0 };

describe('MemoryBudgets', () => {
  it('should spend once for the same idempotency key, and return the first decision', async () => {
    const budgets = new MemoryBudgets();
    const first = await budgets.consume('phone:a', RULE, T0, 'outbox:1');
    const again = await budgets.consume('phone:a', RULE, T0 + 5, 'outbox:1');
    expect(first.allowed).toBe(true);
    expect(again).toEqual(first);
    expect(budgets.spent('phone:a')).toEqual([T0]);
  });

  it('should spend for every call without an idempotency key', async () => {
    const budgets = new MemoryBudgets();
    await budgets.consume('phone:a', RULE, T0);
    await budgets.consume('phone:a', RULE, T0);
    expect(budgets.spent('phone:a')).toEqual([T0, T0]);
  });

  it('should replay a refusal for its idempotency key, without spending', async () => {
    const budgets = new MemoryBudgets();
    for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
    const refused = await budgets.consume('phone:a', RULE, T0 + 1, 'outbox:4');
    expect(refused).toEqual({ allowed: false, retryAfterMs: HOUR - 1, reason: 'window' });
    expect(await budgets.consume('phone:a', RULE, T0 + HOUR, 'outbox:4')).toEqual(refused);
    expect(budgets.spent('phone:a')).toHaveLength(3);
  });

  it('should allow exactly one of N consumes racing for the last unit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 30 }), fc.boolean(), async (racers, withKeys) => {
        const budgets = new MemoryBudgets();
        await budgets.consume('phone:a', RULE, T0);
        await budgets.consume('phone:a', RULE, T0);
        const decisions = await Promise.all(
          Array.from({ length: racers }, (_, i) => budgets.consume('phone:a', RULE, T0 + 1, withKeys ? `racer:${i}` : undefined)),
        );
        expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
        expect(budgets.spent('phone:a')).toHaveLength(3);
      }),
    );
  });

  it('should keep keys apart', async () => {
    const budgets = new MemoryBudgets();
    for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
    expect((await budgets.consume('phone:b', RULE, T0)).allowed).toBe(true);
    expect((await budgets.consume('phone:a', RULE, T0)).allowed).toBe(false);
  });

  it('should peek without spending', async () => {
    const budgets = new MemoryBudgets();
    expect((await budgets.peek('phone:a', RULE, T0)).allowed).toBe(true);
    expect(budgets.spent('phone:a')).toEqual([]);
    for (let i = 0; i < 3; i++) await budgets.consume('phone:a', RULE, T0);
    expect(await budgets.peek('phone:a', RULE, T0 + 10)).toEqual({ allowed: false, retryAfterMs: HOUR - 10, reason: 'window' });
  });
});

// ---------------------------------------------------------------------------------------------
// MemoryDirectory
// ---------------------------------------------------------------------------------------------

const create = (directory: MemoryDirectory, p: Phone, h: string, key: string) =>
  directory.create({ phone: p, handle: handle(h), passwordHash: `hash-of-${h}`, at: T0, idempotencyKey: key });

const created = async (directory: MemoryDirectory, p: Phone, h: string, key = `create:${h}`) => {
  const result = await create(directory, p, h, key);
  if (!result.ok) return expect.fail(`could not create ${h}: ${result.conflict}`);
  return result.account;
};

describe('MemoryDirectory', () => {
  it('should create an account with epoch 0, findable by phone and handle', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    expect(account).toMatchObject({ handle: 'Alice_01', phone: { value: PHONE_A, verifiedAt: T0 }, securityEpoch: 0, status: 'active', email: null });
    expect(await directory.findByPhone(PHONE_A)).toEqual(account);
    expect(await directory.get(account.id)).toEqual(account);
    expect(await directory.isHandleTaken(handle('Alice_01'))).toBe(true);
  });

  it('should refuse a phone that already has an account', async () => {
    const directory = new MemoryDirectory();
    await created(directory, PHONE_A, 'Alice_01');
    expect(await create(directory, PHONE_A, 'Bobby_02', 'create:2')).toEqual({ ok: false, conflict: 'phone_taken' });
    expect(directory.all()).toHaveLength(1);
  });

  it('should refuse a handle taken in any case', async () => {
    const directory = new MemoryDirectory();
    await created(directory, PHONE_A, 'Alice_01');
    expect(await create(directory, PHONE_B, 'ALICE_01', 'create:2')).toEqual({ ok: false, conflict: 'handle_taken' });
    expect(await create(directory, PHONE_B, 'alice_01', 'create:3')).toEqual({ ok: false, conflict: 'handle_taken' });
    expect(await directory.isHandleTaken(handle('aLiCe_01'))).toBe(true);
    expect(await directory.isHandleTaken(handle('Alice_02'))).toBe(false);
    expect(directory.all()).toHaveLength(1);
  });

  it('should let exactly one of two racing registrations of the same phone win', async () => {
    const directory = new MemoryDirectory();
    const results = await Promise.all([create(directory, PHONE_A, 'Alice_01', 'k1'), create(directory, PHONE_A, 'Bobby_02', 'k2')]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(directory.all()).toHaveLength(1);
  });

  it('should return the first result for a repeated create key, creating nothing more', async () => {
    const directory = new MemoryDirectory();
    const first = await create(directory, PHONE_A, 'Alice_01', 'create:once');
    const again = await create(directory, PHONE_B, 'Bobby_02', 'create:once');
    expect(again).toEqual(first);
    expect(directory.all()).toHaveLength(1);
    expect(await directory.findByPhone(PHONE_B)).toBeUndefined();
  });

  it('should keep phones and handles unique over arbitrary registrations', async () => {
    const handles = ['Alice_01', 'alice_01', 'ALICE_01', 'Bobby_02', 'bobby_02', 'Carol_03'];
    const phones = [PHONE_A, PHONE_B, PHONE_C];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...phones), fc.constantFrom(...handles)), { maxLength: 12 }), async (attempts) => {
        const directory = new MemoryDirectory();
        await Promise.all(attempts.map(([p, h], i) => create(directory, p, h, `k${i}`)));
        const accounts = directory.all();
        expect(new Set(accounts.map((a) => a.phone?.value)).size).toBe(accounts.length);
        expect(new Set(accounts.map((a) => a.handle.toLowerCase())).size).toBe(accounts.length);
      }),
    );
  });

  it('should reset a password by bumping the epoch, and refuse the stale epoch afterwards', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    const reset = await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'new-hash', holdSensitiveUntil: T0 + HOUR, idempotencyKey: 'reset:1' });
    expect(reset).toMatchObject({ ok: true, account: { securityEpoch: 1, passwordHash: 'new-hash', sensitiveHoldUntil: T0 + HOUR } });
    const stale = await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'other', holdSensitiveUntil: null, idempotencyKey: 'reset:2' });
    expect(stale).toEqual({ ok: false, reason: 'stale_epoch' });
    expect((await directory.get(account.id))?.passwordHash).toBe('new-hash');
    expect(directory.passwordChanges).toEqual([{ id: account.id, epoch: 1, idempotencyKey: 'reset:1' }]);
  });

  it('should let exactly one of two racing resets from the same epoch win', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    const results = await Promise.all(
      ['a', 'b'].map((who) => directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: who, holdSensitiveUntil: null, idempotencyKey: `reset:${who}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await directory.get(account.id))?.securityEpoch).toBe(1);
  });

  it('should apply a repeated reset key once', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    const input = { id: account.id, expectedEpoch: 0, passwordHash: 'new-hash', holdSensitiveUntil: null, idempotencyKey: 'reset:once' };
    const first = await directory.resetPassword(input);
    const again = await directory.resetPassword(input);
    expect(again).toEqual(first);
    expect((await directory.get(account.id))?.securityEpoch).toBe(1);
    expect(directory.passwordChanges).toHaveLength(1);
  });

  it('should refuse to reset a deactivated or unknown account', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    directory.deactivate(account.id);
    expect(await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r1' })).toEqual({ ok: false, reason: 'deactivated' });
    expect(await directory.resetPassword({ id: 'acct-404' as AccountId, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r2' })).toEqual({ ok: false, reason: 'not_found' });
    expect(directory.passwordChanges).toEqual([]);
  });

  it('should refuse a reset after the epoch moved on by other means', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    directory.bumpEpoch(account.id);
    expect(await directory.resetPassword({ id: account.id, expectedEpoch: 0, passwordHash: 'x', holdSensitiveUntil: null, idempotencyKey: 'r1' })).toEqual({ ok: false, reason: 'stale_epoch' });
  });

  it('should bind an e-mail address and a new phone, freeing the old phone', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    const mail = email('alice@example.com');
    const bound = await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0 + 1, idempotencyKey: 'b1' });
    expect(bound).toMatchObject({ ok: true, account: { email: { value: mail, verifiedAt: T0 + 1 } } });
    expect((await directory.findByEmail(mail))?.id).toBe(account.id);
    const moved = await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B }, at: T0 + 2, idempotencyKey: 'b2' });
    expect(moved).toMatchObject({ ok: true, account: { phone: { value: PHONE_B, verifiedAt: T0 + 2 } } });
    expect(await directory.findByPhone(PHONE_A)).toBeUndefined();
    expect((await directory.findByPhone(PHONE_B))?.id).toBe(account.id);
    // The freed number can register again.
    expect((await create(directory, PHONE_A, 'Carol_03', 'c3')).ok).toBe(true);
  });

  it('should refuse to bind a channel held by another account', async () => {
    const directory = new MemoryDirectory();
    const alice = await created(directory, PHONE_A, 'Alice_01');
    const bob = await created(directory, PHONE_B, 'Bobby_02');
    const mail = email('shared@example.com');
    expect((await directory.bindChannel({ id: alice.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0, idempotencyKey: 'b1' })).ok).toBe(true);
    expect(await directory.bindChannel({ id: bob.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_A }, at: T0, idempotencyKey: 'b2' })).toEqual({ ok: false, reason: 'channel_taken' });
    expect(await directory.bindChannel({ id: bob.id, expectedEpoch: 0, channel: { kind: 'email', value: mail }, at: T0, idempotencyKey: 'b3' })).toEqual({ ok: false, reason: 'channel_taken' });
    expect((await directory.findByPhone(PHONE_A))?.id).toBe(alice.id);
    expect((await directory.findByEmail(mail))?.id).toBe(alice.id);
    expect((await directory.get(bob.id))?.phone?.value).toBe(PHONE_B);
  });

  it('should refuse to bind under a stale epoch or for a deactivated account', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    directory.bumpEpoch(account.id);
    expect(await directory.bindChannel({ id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B }, at: T0, idempotencyKey: 'b1' })).toEqual({ ok: false, reason: 'stale_epoch' });
    directory.deactivate(account.id);
    expect(await directory.bindChannel({ id: account.id, expectedEpoch: 1, channel: { kind: 'phone', value: PHONE_B }, at: T0, idempotencyKey: 'b2' })).toEqual({ ok: false, reason: 'deactivated' });
    expect(await directory.findByPhone(PHONE_B)).toBeUndefined();
  });

  it('should apply a repeated bind key once', async () => {
    const directory = new MemoryDirectory();
    const account = await created(directory, PHONE_A, 'Alice_01');
    const input = { id: account.id, expectedEpoch: 0, channel: { kind: 'phone', value: PHONE_B } as const, at: T0, idempotencyKey: 'b1' };
    const first = await directory.bindChannel(input);
    const again = await directory.bindChannel({ ...input, channel: { kind: 'phone', value: PHONE_C } });
    expect(again).toEqual(first);
    expect(await directory.findByPhone(PHONE_C)).toBeUndefined();
  });

  it('should record friendships both ways', async () => {
    const directory = new MemoryDirectory();
    const alice = await created(directory, PHONE_A, 'Alice_01');
    const bob = await created(directory, PHONE_B, 'Bobby_02');
    directory.befriend(alice.id, bob.id, T0);
    expect(await directory.friendsOf(alice.id)).toEqual([{ friendId: bob.id, since: T0 }]);
    expect(await directory.friendsOf(bob.id)).toEqual([{ friendId: alice.id, since: T0 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// MemorySessions
// ---------------------------------------------------------------------------------------------

describe('MemorySessions', () => {
  const alice = 'acct-1' as AccountId;
  const bob = 'acct-2' as AccountId;

  it('should revoke every live session but the one kept, and only the account’s own', async () => {
    const sessions = new MemorySessions();
    const [s1, s2, s3] = [sessions.signIn(alice, 0, T0), sessions.signIn(alice, 0, T0), sessions.signIn(alice, 0, T0)];
    const other = sessions.signIn(bob, 0, T0);
    expect(await sessions.revokeAllExcept(alice, s2.id, T0 + 1, 'revoke:1')).toBe(2);
    expect(sessions.isLive(s1.id, 0)).toBe(false);
    expect(sessions.isLive(s2.id, 0)).toBe(true);
    expect(sessions.isLive(s3.id, 0)).toBe(false);
    expect(sessions.isLive(other.id, 0)).toBe(true);
    const listed = await sessions.list(alice);
    expect(listed.filter((s) => s.revokedAt === T0 + 1).map((s) => s.id)).toEqual([s1.id, s3.id]);
  });

  it('should revoke all with keep null', async () => {
    const sessions = new MemorySessions();
    const s1 = sessions.signIn(alice, 0, T0);
    expect(await sessions.revokeAllExcept(alice, null, T0, 'revoke:all')).toBe(1);
    expect(sessions.isLive(s1.id, 0)).toBe(false);
  });

  it('should answer a repeated key with the first count and revoke nothing new', async () => {
    const sessions = new MemorySessions();
    sessions.signIn(alice, 0, T0);
    sessions.signIn(alice, 0, T0);
    expect(await sessions.revokeAllExcept(alice, null, T0, 'revoke:1')).toBe(2);
    const later = sessions.signIn(alice, 0, T0 + 5);
    expect(await sessions.revokeAllExcept(alice, null, T0 + 6, 'revoke:1')).toBe(2);
    expect(sessions.isLive(later.id, 0)).toBe(true);
    expect(await sessions.revokeAllExcept(alice, null, T0 + 6, 'revoke:2')).toBe(1);
  });

  it('should call a session of an older epoch dead', () => {
    const sessions = new MemorySessions();
    const s = sessions.signIn(alice, 0, T0);
    expect(sessions.isLive(s.id, 0)).toBe(true);
    expect(sessions.isLive(s.id, 1)).toBe(false);
    expect(sessions.isLive('sess-unknown', 0)).toBe(false);
  });

  it('should revoke one session and keep the first revocation time', async () => {
    const sessions = new MemorySessions();
    const s = sessions.signIn(alice, 0, T0);
    await sessions.revoke(s.id, T0 + 1);
    await sessions.revoke(s.id, T0 + 2);
    expect((await sessions.list(alice))[0]?.revokedAt).toBe(T0 + 1);
  });

  it('should list recent logins newest first', async () => {
    const sessions = new MemorySessions();
    const s1 = sessions.signIn(alice, 0, T0, 'laptop', 'Beijing');
    const s2 = sessions.signIn(alice, 0, T0 + 1, 'phone', 'Shanghai');
    sessions.signIn(bob, 0, T0 + 2);
    expect(await sessions.recentLogins(alice, 5)).toEqual([
      { at: T0 + 1, device: 'phone', place: 'Shanghai', sessionId: s2.id },
      { at: T0, device: 'laptop', place: 'Beijing', sessionId: s1.id },
    ]);
    expect(await sessions.recentLogins(alice, 1)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// MemoryMessenger, MemoryAudit
// ---------------------------------------------------------------------------------------------

const sms = (to: Phone, text: string): OutboundMessage => ({ channel: 'sms', to, text, locale: 'en' });

describe('MemoryMessenger', () => {
  it('should deliver once per idempotency key and return the first result', async () => {
    const messenger = new MemoryMessenger();
    const first = await messenger.send(sms(PHONE_A, 'Your code is 123456.'), 'f1:1:0');
    const again = await messenger.send(sms(PHONE_A, 'Your code is 654321.'), 'f1:1:0');
    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    expect(messenger.sent).toHaveLength(1);
    expect(messenger.lastCodeTo(PHONE_A)).toBe('123456');
  });

  it('should deliver messages with different keys', async () => {
    const messenger = new MemoryMessenger();
    await messenger.send(sms(PHONE_A, 'Your code is 123456.'), 'k1');
    await messenger.send(sms(PHONE_A, 'Your code is 654321.'), 'k2');
    expect(messenger.sent).toHaveLength(2);
    expect(messenger.lastCodeTo(PHONE_A)).toBe('654321');
    expect(messenger.lastTo(PHONE_B)).toBeUndefined();
  });

  it('should fail where told to, deliver nothing, and keep the failure for its key', async () => {
    const messenger = new MemoryMessenger((message) => (message.to === PHONE_B ? { ok: false, reason: 'unreachable', retryable: true } : undefined));
    const failed = await messenger.send(sms(PHONE_B, 'Your code is 123456.'), 'k1');
    expect(failed).toEqual({ ok: false, reason: 'unreachable', retryable: true });
    expect(await messenger.send(sms(PHONE_B, 'Your code is 123456.'), 'k1')).toEqual(failed);
    expect(messenger.sent).toEqual([]);
    expect((await messenger.send(sms(PHONE_A, 'Your code is 123456.'), 'k2')).ok).toBe(true);
    expect(messenger.sent).toHaveLength(1);
  });

  it('should hand the key to the failure rule', async () => {
    const seen: string[] = [];
    const messenger = new MemoryMessenger((_, key) => {
      seen.push(key);
      return { ok: false, reason: 'timeout', retryable: true };
    });
    await messenger.send(sms(PHONE_A, 'hello'), 'key-7');
    await messenger.send(sms(PHONE_A, 'hello'), 'key-7');
    expect(seen).toEqual(['key-7']);
  });
});

describe('MemoryAudit', () => {
  it('should record an entry once per idempotency key', async () => {
    const audit = new MemoryAudit();
    await audit.record({ at: T0, flowId: 'f1', kind: 'code.sent' }, 'a1');
    await audit.record({ at: T0, flowId: 'f1', kind: 'code.sent' }, 'a1');
    await audit.record({ at: T0, flowId: 'f1', kind: 'code.checked' }, 'a2');
    expect(audit.entries.map((e) => e.kind)).toEqual(['code.sent', 'code.checked']);
  });
});

// ---------------------------------------------------------------------------------------------
// VirtualClock, seededRandom
// ---------------------------------------------------------------------------------------------

describe('VirtualClock', () => {
  it('should start at 2026-01-01 by default, or where told', () => {
    expect(new VirtualClock().now()).toBe(T0);
    expect(new VirtualClock(42).now()).toBe(42);
  });

  it('should move forward by a duration and to an instant', () => {
    const clock = new VirtualClock(0);
    expect(clock.advanceBy(5)).toBe(5);
    expect(clock.advanceBy(0)).toBe(5);
    expect(clock.advanceTo(100)).toBe(100);
    expect(clock.now()).toBe(100);
  });

  it('should refuse a negative or non-finite move', () => {
    const clock = new VirtualClock(0);
    expect(() => clock.advanceBy(-1)).toThrow(RangeError);
    expect(() => clock.advanceBy(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advanceBy(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.advanceTo(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.advanceTo(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });

  it('should refuse a move that would overflow to Infinity', () => {
    const clock = new VirtualClock(0);
    clock.advanceBy(Number.MAX_VALUE);
    expect(() => clock.advanceBy(Number.MAX_VALUE)).toThrow(RangeError);
    expect(clock.now()).toBe(Number.MAX_VALUE);
  });

  it('should stay put when told to move to an earlier instant', () => {
    const clock = new VirtualClock(100);
    expect(clock.advanceTo(50)).toBe(100);
    expect(clock.now()).toBe(100);
  });

  it('should never go backwards, whatever it is told', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ by: fc.double() }), fc.record({ to: fc.double() })), { maxLength: 40 }),
        (moves) => {
          const clock = new VirtualClock(T0);
          let previous = clock.now();
          for (const move of moves) {
            try {
              if ('by' in move) clock.advanceBy(move.by);
              else clock.advanceTo(move.to);
            } catch (e) {
              expect(e).toBeInstanceOf(RangeError);
            }
            expect(clock.now()).toBeGreaterThanOrEqual(previous);
            expect(Number.isFinite(clock.now())).toBe(true);
            previous = clock.now();
          }
        },
      ),
    );
  });
});

describe('seededRandom', () => {
  const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

  it('should give the same bytes for the same seed', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }), (seed, lengths) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        for (const length of lengths) expect(hex(a.bytes(length))).toBe(hex(b.bytes(length)));
      }),
    );
  });

  it('should give bytes of the length asked for', () => {
    const random = seededRandom(7);
    for (const length of [0, 1, 3, 4, 5, 31, 32, 33]) expect(random.bytes(length)).toHaveLength(length);
  });

  it('should give different bytes for different seeds', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (s1, s2) => {
        fc.pre(s1 !== s2);
        expect(hex(seededRandom(s1).bytes(32))).not.toBe(hex(seededRandom(s2).bytes(32)));
      }),
    );
  });

  it('should tell seeds apart beyond 32 bits', () => {
    const of = (seed: number): string => hex(seededRandom(seed).bytes(32));
    expect(of(1)).not.toBe(of(2 ** 32 + 1));
    expect(of(-1)).not.toBe(of(2 ** 32 - 1));
    expect(of(2 ** 31)).not.toBe(of(-(2 ** 31)));
    expect(of(Date.UTC(2026, 0, 1))).not.toBe(of(Date.UTC(2026, 0, 1) + 2 ** 32));
  });

  it('should refuse a seed that is not a safe integer rather than silently truncate it', () => {
    expect(() => seededRandom(1.5)).toThrow(RangeError);
    expect(() => seededRandom(Number.NaN)).toThrow(RangeError);
    expect(() => seededRandom(2 ** 53)).toThrow(RangeError);
  });

  it('should keep the stream of a 32-bit seed (recorded simulations replay unchanged)', () => {
    expect(hex(seededRandom(1).bytes(8))).toBe('feffffffe0fffdfe');
  });
});

// ---------------------------------------------------------------------------------------------
// hashers
// ---------------------------------------------------------------------------------------------

const SMALL_SCRYPT = { N: 2 ** 10, r: 8, p: 1 } as const;

describe('scryptHasher', () => {
  const hasher = scryptHasher(seededRandom(3), SMALL_SCRYPT);

  it('should verify the right password and refuse a wrong one', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(await hasher.verify('correct horse battery staple', stored)).toBe(true);
    expect(await hasher.verify('correct horse battery stapler', stored)).toBe(false);
    expect(await hasher.verify('', stored)).toBe(false);
  });

  it('should salt: the same password hashes differently each time, and both verify', async () => {
    const a = await hasher.hash('密码很长很长的密码');
    const b = await hasher.hash('密码很长很长的密码');
    expect(a).not.toBe(b);
    expect(await hasher.verify('密码很长很长的密码', a)).toBe(true);
    expect(await hasher.verify('密码很长很长的密码', b)).toBe(true);
  });

  it('should verify a hash made with other parameters, since they are stored with it', async () => {
    const stored = await scryptHasher(seededRandom(4), { N: 2 ** 4, r: 1, p: 1 }).hash('pw-12345678');
    expect(await hasher.verify('pw-12345678', stored)).toBe(true);
  });

  it('should refuse malformed stored hashes without throwing', async () => {
    const stored = await hasher.hash('pw-12345678');
    const [, , , , salt, hash] = stored.split('$') as [string, string, string, string, string, string];
    const malformed = [
      '',
      'garbage',
      'scrypt',
      'scrypt$1024$8$1$zz$zz',
      `scrypt$abc$8$1$${salt}$${hash}`,
      `scrypt$1000$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$0$8$1$${salt}$${hash}`,
      `scrypt$${2 ** 30}$8$1$${salt}$${hash}`, // beyond scrypt's memory limit
      `scrypt$1024$8$1$${salt}$${hash.slice(0, -1)}`,
      `scrypt$1024$8$1$${salt}$${hash.slice(0, -2)}`,
      `scrypt$1024$8$1$${salt.slice(0, -1)}$${hash}`,
      `scrypt$1024$8$1$$${hash}`,
      `${stored}$extra`,
      stored.replace('scrypt$', 'bcrypt$'),
      `test-sha256$${salt}$${hash}`,
    ];
    for (const bad of malformed) await expect(hasher.verify('pw-12345678', bad), bad).resolves.toBe(false);
  });
});

describe('testOnlyHasher', () => {
  const hasher = testOnlyHasher(seededRandom(5));

  it('should verify the right password and refuse a wrong one', async () => {
    const stored = await hasher.hash('pw-12345678');
    expect(await hasher.verify('pw-12345678', stored)).toBe(true);
    expect(await hasher.verify('pw-12345679', stored)).toBe(false);
  });

  it('should refuse malformed stored hashes without throwing', async () => {
    const stored = await hasher.hash('pw-12345678');
    const [, salt, hash] = stored.split('$') as [string, string, string];
    const malformed = ['', 'garbage', `test-sha256$${salt}$zz`, `test-sha256$${salt}$${hash.slice(0, -1)}`, `test-sha256$${salt}$`, `test-sha256$${salt}`, `${stored}$x`, `scrypt$1024$8$1$${salt}$${hash}`];
    for (const bad of malformed) await expect(hasher.verify('pw-12345678', bad), bad).resolves.toBe(false);
  });

  it('should verify right passwords and refuse wrong ones for arbitrary strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (password, other) => {
        const stored = await hasher.hash(password);
        expect(await hasher.verify(password, stored)).toBe(true);
        expect(await hasher.verify(other, stored)).toBe(other === password);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// hmacCodeSecrets
// ---------------------------------------------------------------------------------------------

describe('hmacCodeSecrets', () => {
  const binding: CodeBinding = { flowId: 'f1', purpose: 'registration', epoch: 0, nonce: 'n1' };
  const expected = { flowId: 'f1', purpose: 'registration', epoch: 0 } as const;
  const key = (seed: number): Uint8Array => seededRandom(seed).bytes(32);

  it('should refuse a key shorter than 16 bytes', () => {
    expect(() => hmacCodeSecrets(new Uint8Array(15))).toThrow(RangeError);
    expect(() => hmacCodeSecrets(new Uint8Array(0))).toThrow(RangeError);
    expect(() => hmacCodeSecrets(new Uint8Array(16))).not.toThrow();
  });

  it('should accept the code it derived, once', () => {
    const secrets = hmacCodeSecrets(key(1));
    const state = issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs);
    const code = secrets.code(binding, state.counter, DEFAULT_POLICY.code.digits);
    expect(code).toMatch(/^\d{6}$/);
    const first = secrets.check(state, { submitted: code, now: T0 + MINUTE, expected, policy: DEFAULT_POLICY, kind: 'code' });
    expect(first.outcome).toBe('accepted');
    expect(secrets.check(first.next, { submitted: code, now: T0 + MINUTE, expected, policy: DEFAULT_POLICY, kind: 'code' }).outcome).toBe('used');
  });

  it('should accept the link token it derived', () => {
    const secrets = hmacCodeSecrets(key(1));
    const linkBinding: CodeBinding = { ...binding, purpose: 'recovery.email' };
    const state = issueCode(undefined, linkBinding, T0, DEFAULT_POLICY.code.emailLinkTtlMs);
    const token = secrets.linkToken(linkBinding, state.counter);
    const result = secrets.check(state, { submitted: token, now: T0 + 1, expected: { ...expected, purpose: 'recovery.email' }, policy: DEFAULT_POLICY, kind: 'link' });
    expect(result.outcome).toBe('accepted');
  });

  it('should refuse a code derived with another key', () => {
    const secrets = hmacCodeSecrets(key(1));
    const state = issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs);
    const foreign = hmacCodeSecrets(key(2)).code(binding, state.counter, 6);
    const own = secrets.code(binding, state.counter, 6);
    const outcome = secrets.check(state, { submitted: foreign, now: T0 + 1, expected, policy: DEFAULT_POLICY, kind: 'code' }).outcome;
    expect(outcome).toBe(foreign === own ? 'accepted' : 'wrong');
  });

  it('should keep its own copy of the key', () => {
    const hostKey = key(1);
    const secrets = hmacCodeSecrets(hostKey);
    const before = secrets.code(binding, 0, 6);
    hostKey.fill(0);
    expect(secrets.code(binding, 0, 6)).toBe(before);
    expect(hmacCodeSecrets(key(1)).code(binding, 0, 6)).toBe(before);
  });

  it('should derive the same code for the same binding and counter, and accept only the current counter', () => {
    const secrets = hmacCodeSecrets(key(1));
    const first = issueCode(undefined, binding, T0, DEFAULT_POLICY.code.ttlMs);
    const oldCode = secrets.code(binding, first.counter, 6);
    expect(secrets.code(binding, first.counter, 6)).toBe(oldCode);
    const resent = issueCode(first, binding, T0 + MINUTE, DEFAULT_POLICY.code.ttlMs);
    const newCode = secrets.code(binding, resent.counter, 6);
    expect(secrets.check(resent, { submitted: newCode, now: T0 + MINUTE, expected, policy: DEFAULT_POLICY, kind: 'code' }).outcome).toBe('accepted');
    if (oldCode !== newCode) {
      expect(secrets.check(resent, { submitted: oldCode, now: T0 + MINUTE, expected, policy: DEFAULT_POLICY, kind: 'code' }).outcome).toBe('wrong');
    }
  });
});
