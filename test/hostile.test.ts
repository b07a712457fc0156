/**
 * Hostile input at every public boundary of every flow — `start`, `send`, `tick`, `read`, the
 * provider webhook (`providerVerdict`) — and at restore, where storage itself was tampered with:
 * wrong types, huge strings, Unicode tricks, numbers out of range, missing and extra fields,
 * events in the wrong state or of another flow, truncated and edited envelopes, envelopes of
 * another machine or version.
 *
 * Whatever arrives: no call throws; every refusal is a typed `FlowError` with a code from the
 * closed list and a short message; a refused call leaves the stored flow byte for byte as it was
 * (nothing half-applied, nothing lost); other flows never change.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as t from 'io-ts';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { Account } from '../src/domain/account.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import { INTERNAL_ERROR_CODES, PUBLIC_ERROR_CODES } from '../src/domain/errors.ts';
import { providerVerdict } from '../src/flows/realName.ts';
import type { HostSession, StepResult } from '../src/runtime/runtime.ts';
import { seedAccount } from './support/accounts.ts';
import { allFlows, type FaultyHost, faultyHost } from './support/faultyHost.ts';
import { OWNER_HANDLE, seedFriends } from './support/friends.ts';
import { TEETH_SEED } from './setup/fastCheck.ts';
import { itHasTeeth } from './support/teeth.ts';

const KNOWN_CODES: ReadonlySet<string> = new Set([...PUBLIC_ERROR_CODES, ...INTERNAL_ERROR_CODES]);
/** A refusal may name what was wrong, never echo a megabyte of it. */
const MAX_MESSAGE = 400;

const FLOWS = ['registration', 'smsRecovery', 'emailRecovery', 'binding', 'realName', 'totpEnrollment', 'friendAssist', 'manualReview'] as const;
type FlowName = (typeof FLOWS)[number];

// ---------------------------------------------------------------------------------------------
// hostile values
// ---------------------------------------------------------------------------------------------

/** Huge strings travel as markers and are expanded just before a call, so a failure report stays readable. */
const HUGE = ['<huge x 1000000>', '<huge 9 200000>', '<huge +861 100000>'];
const expandHuge = (value: unknown): unknown => {
  if (typeof value === 'string') {
    const m = /^<huge (\S+) (\d+)>$/.exec(value);
    return m === null ? value : `${(m[1] as string).slice(0, -1)}${(m[1] as string).slice(-1).repeat(Number(m[2]))}`;
  }
  if (Array.isArray(value)) return value.map(expandHuge);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: expandHuge(v), enumerable: true, configurable: true, writable: true });
    return out;
  }
  return value;
};
const TRICKS = [
  '',
  ' ',
  '\u0000',
  '\uFEFF+8613800138000',
  '+86 138\u200B0013 8000',
  '＋８６１３８００１３８０００',
  '\uD800',
  '\uDFFF\uD800',
  'wang\u0301_xiaoming',
  '\u202Egnaw',
  'İstanbul',
  'ß@example.com',
  'a@b.com\r\nBcc: x@y.com',
  '𝔀𝓪𝓷𝓰@example.com',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '%00',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  '123456',
  '000000',
  '12345678901234567x',
  'AAAAAAAAAAAAAAAAAAAAAA',
];
const NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -1, 1e308, 2 ** 53, Number.MIN_VALUE, 1.5];

const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(...TRICKS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(...HUGE) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...NUMBERS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom<unknown>(...TRICKS), { maxLength: 8 }) },
);

const TYPES: Record<FlowName, readonly string[]> = {
  registration: ['phone.submit', 'code.submit', 'code.resend', 'handle.submit', 'password.submit', 'flow.cancel'],
  smsRecovery: ['channel.submit', 'code.submit', 'code.resend', 'secondFactor.submit', 'support.request', 'password.submit', 'session.revoke', 'security.done', 'flow.cancel', 'switch.toEmail', 'number.deactivated'],
  emailRecovery: ['channel.submit', 'code.submit', 'code.resend', 'secondFactor.submit', 'support.request', 'password.submit', 'session.revoke', 'security.done', 'flow.cancel', 'link.open', 'link.confirm'],
  binding: ['channel.submit', 'code.submit', 'code.resend', 'flow.cancel'],
  realName: ['realName.submit', 'flow.cancel'],
  totpEnrollment: ['totp.confirm', 'backupCodes.acknowledged', 'flow.cancel'],
  friendAssist: ['account.submit', 'friends.nominate', 'friends.replace', 'secondFactor.submit', 'password.submit', 'session.revoke', 'security.done', 'flow.cancel', 'friend.confirm', 'friend.refuse', 'owner.stop'],
  manualReview: ['account.submit', 'evidence.submit', 'evidence.answer', 'password.submit', 'session.revoke', 'security.done', 'channel.submit', 'code.submit', 'code.resend', 'flow.cancel', 'review.approve', 'review.reject', 'review.askMore', 'owner.stop'],
};
const INTERNAL_TYPES = ['clock.tick', 'delivery.sent', 'delivery.refused', 'account.created', 'recovery.applied', 'budget.allowed', 'binding.applied', 'secondFactor.reset', 'provider.verified', 'xstate.init', 'xstate.done.state.x'];
const FIELDS = ['phone', 'region', 'code', 'handle', 'password', 'channel', 'token', 'kind', 'value', 'reference', 'handles', 'old', 'new', 'answer', 'question', 'resetSecondFactor', 'reason', 'sessionId', 'nickname', 'team', 'contactEmail', 'frequentContacts', 'at', 'accountId', 'friendId', 'subject', 'passwordHash', 'phoneTaken', '__proto__', 'constructor'];

/** Something shaped like an event: a type this flow, another flow or nobody knows; some fields, junk or plausible. */
const eventLike = (flow: FlowName): fc.Arbitrary<unknown> =>
  fc
    .tuple(
      fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TYPES[flow]) }, { weight: 2, arbitrary: fc.constantFrom(...Object.values(TYPES).flat(), ...INTERNAL_TYPES) }, { weight: 1, arbitrary: junk }),
      fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.oneof(junk, fc.constantFrom<unknown>('+8613800138000', 'wang@example.com', 'alice_01', 'email', 'phone', true, ['friend_00', 'friend_01', 'friend_02']))), { maxLength: 5 }),
    )
    .map(([type, fields]) => {
      const event: Record<string, unknown> = {};
      for (const [key, value] of fields) Object.defineProperty(event, key, { value, enumerable: true, configurable: true, writable: true });
      event['type'] = type;
      return event;
    });

// ---------------------------------------------------------------------------------------------
// a world with one flow of each kind, some advanced past their first step
// ---------------------------------------------------------------------------------------------

interface Prepared {
  readonly host: FaultyHost;
  readonly flowIds: Readonly<Record<FlowName, string>>;
  readonly sessions: readonly HostSession[];
}

const must = (result: StepResult): string => {
  if (E.isLeft(result)) throw new Error(`${result.left.code}: ${result.left.message}`);
  return result.right.flowId;
};

const prepare = async (advanced: boolean, definitions?: (world: MemoryWorld) => FlowDefinition[]): Promise<Prepared> => {
  const host = faultyHost(definitions === undefined ? {} : { definitions });
  const { owner } = await seedFriends(host.world, 3);
  const account = owner as Account;
  await seedAccount(host.world, { phone: '+8613700137000', handle: 'bob_0001' });
  const session: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
  const agent: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
  const r = host.runtime;
  const ids: Record<string, string> = {};
  ids['registration'] = must(await r.start('registration', {}));
  ids['smsRecovery'] = must(await r.start('smsRecovery', {}));
  ids['emailRecovery'] = must(await r.start('emailRecovery', {}));
  ids['binding'] = must(await r.start('binding', {}, session));
  ids['realName'] = must(await r.start('realName', {}, session));
  ids['totpEnrollment'] = must(await r.start('totpEnrollment', {}, session));
  const friends = await r.start('friendAssist', {});
  ids['friendAssist'] = must(friends);
  const token = E.isRight(friends) ? (friends.right.view['requesterToken'] as string) : '';
  ids['manualReview'] = must(await r.start('manualReview', {}));
  if (advanced) {
    await r.send(ids['registration'] as string, { type: 'phone.submit', phone: '+8613800138000' });
    await r.send(ids['smsRecovery'] as string, { type: 'channel.submit', channel: '+8613800138000' });
    await r.send(ids['emailRecovery'] as string, { type: 'channel.submit', channel: 'wang@example.com' });
    await r.send(ids['binding'] as string, { type: 'channel.submit', kind: 'email', value: 'new@example.com' }, session);
    await r.send(ids['realName'] as string, { type: 'realName.submit', reference: 'kyc_ref_0001' }, session);
    await r.send(ids['friendAssist'] as string, { type: 'account.submit', handle: OWNER_HANDLE, token });
    await r.send(ids['manualReview'] as string, { type: 'account.submit', handle: OWNER_HANDLE });
    await r.send(ids['manualReview'] as string, { type: 'evidence.submit', nickname: 'X', contactEmail: 'x@example.net' });
  }
  const junkSession: HostSession = { actor: '\u0000<script>', sessionId: 'x'.repeat(10_000), role: 'agent' };
  return { host, flowIds: ids as Record<FlowName, string>, sessions: [{ actor: null, sessionId: null }, session, agent, junkSession] };
};

/** Total and typed: a value, or a FlowError with a known code and a short, non-empty message. */
const expectTyped = (result: unknown): void => {
  const r = result as StepResult;
  expect(E.isLeft(r) || E.isRight(r)).toBe(true);
  if (E.isLeft(r)) {
    expect(r.left._tag).toBe('FlowError');
    expect(KNOWN_CODES.has(r.left.code), `unknown error code ${String(r.left.code)}`).toBe(true);
    expect(typeof r.left.message === 'string' && r.left.message.length > 0 && r.left.message.length <= MAX_MESSAGE, `message: ${String(r.left.message).slice(0, 120)}`).toBe(true);
  }
};

const rawOf = (p: Prepared) => Object.fromEntries(FLOWS.map((f) => [f, p.host.world.store.raw(p.flowIds[f])]));

/** Runs a call that must never throw, and says what it answered. */
const total = async (call: () => Promise<StepResult>): Promise<StepResult> => {
  let result: StepResult | undefined;
  let thrown: unknown;
  try {
    result = await call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `threw: ${String(thrown)}`).toBeUndefined();
  expectTyped(result);
  return result as StepResult;
};

// ---------------------------------------------------------------------------------------------
// hostile calls
// ---------------------------------------------------------------------------------------------

type Call =
  | { readonly kind: 'send'; readonly flow: FlowName; readonly event: unknown; readonly session: number; readonly requestId: unknown }
  | { readonly kind: 'sendTo'; readonly flowId: unknown; readonly event: unknown }
  | { readonly kind: 'start'; readonly name: unknown; readonly input: unknown; readonly session: number }
  | { readonly kind: 'tick' | 'read' | 'drain'; readonly flowId: unknown }
  | { readonly kind: 'verdict'; readonly flow: FlowName; readonly raw: unknown };

const flowName = fc.constantFrom(...FLOWS);
const session = fc.nat({ max: 3 });
const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 8, arbitrary: flowName.chain((flow) => fc.record({ kind: fc.constant('send' as const), flow: fc.constant(flow), event: fc.oneof(eventLike(flow), junk), session, requestId: fc.option(fc.oneof(fc.string(), junk), { nil: undefined }) })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sendTo' as const), flowId: junk, event: eventLike('registration') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('start' as const), name: fc.oneof(flowName, junk), input: fc.oneof(junk, fc.record({ accountId: junk, flowId: junk }, { requiredKeys: [] })), session }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('tick' as const, 'read' as const, 'drain' as const), flowId: fc.oneof(junk, fc.constantFrom('', 'f'.repeat(129), '../x')) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('verdict' as const),
      flow: flowName,
      raw: fc.oneof(junk, fc.record({ type: fc.constantFrom('provider.verified', 'provider.rejected', 'provider.unavailable', 'flow.cancel'), attempt: fc.oneof(fc.integer({ min: -2, max: 3 }), junk), reason: fc.oneof(fc.constantFrom('other', 'document_expired'), junk) }, { requiredKeys: ['type'] })),
    }),
  },
);

const describeCall = (c: Call): string => JSON.stringify(c, (_k, v: unknown) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 20)}…(${v.length})` : typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 300) ?? String(c);

const apply = async (p: Prepared, raw: Call): Promise<void> => {
  const c = expandHuge(raw) as Call;
  const r = p.host.runtime;
  const before = rawOf(p);
  const ids = p.host.world.store.ids().length;
  switch (c.kind) {
    case 'send': {
      const result = await total(() => r.send(p.flowIds[c.flow], c.event, p.sessions[c.session], c.requestId as string | undefined));
      const after = rawOf(p);
      for (const f of FLOWS) if (f !== c.flow || E.isLeft(result)) expect(after[f], `${describeCall(c)} changed ${f}`).toBe(before[f]);
      break;
    }
    case 'sendTo':
      expect(E.isLeft(await total(() => r.send(c.flowId as string, c.event)))).toBe(true);
      expect(rawOf(p)).toEqual(before);
      break;
    case 'start': {
      const result = await total(() => r.start(c.name as string, c.input, p.sessions[c.session]));
      expect(rawOf(p)).toEqual(before);
      expect(p.host.world.store.ids().length).toBe(ids + (E.isRight(result) ? 1 : 0));
      break;
    }
    case 'tick':
    case 'read':
    case 'drain':
      expect(E.isLeft(await total(() => r[c.kind](c.flowId as string)))).toBe(true);
      expect(rawOf(p)).toEqual(before);
      break;
    case 'verdict': {
      const result = await total(() => providerVerdict(r, p.flowIds[c.flow], c.raw));
      const after = rawOf(p);
      for (const f of FLOWS) if (f !== c.flow || E.isLeft(result)) expect(after[f]).toBe(before[f]);
      // A verdict is for real-name flows only: no other flow takes one.
      if (c.flow !== 'realName') expect(E.isLeft(result)).toBe(true);
      break;
    }
  }
};

describe('hostile input at the public boundary', () => {
  it('should answer anything at start, send, tick, read, drain and the webhook with a value or a typed error, changing nothing it refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(call, { minLength: 1, maxLength: 12 }), async (advanced, calls) => {
        const p = await prepare(advanced);
        for (const c of calls) await apply(p, c);
      }),
      { numRuns: Math.max(20, Math.round(fc.readConfigureGlobal().numRuns ?? 100) / 2) },
    );
  });

  it('should refuse every internal event a client forges, in every flow, typed and without a trace', async () => {
    const p = await prepare(true);
    for (const flow of FLOWS) {
      for (const type of INTERNAL_TYPES) {
        const before = rawOf(p);
        const result = await total(() => p.host.runtime.send(p.flowIds[flow], { type, at: 0, accountId: 'acct-1', attempt: 1, revokedSessions: 0, offers: [], recentLogins: [] }));
        expect(E.isLeft(result) && result.left.code, `${flow} accepted a forged ${type}`).toBe('invalid_input');
        expect(rawOf(p)).toEqual(before);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// tampered storage
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON value, root included. */
const pathsOf = (value: Json, at: readonly (string | number)[] = []): (readonly (string | number)[])[] => {
  const here = [at];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...at, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k]))];
  return here;
};

const setAt = (root: Json, path: readonly (string | number)[], value: Json | undefined): Json => {
  if (path.length === 0) return value ?? null;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(root)) {
    const copy = [...root];
    if (rest.length === 0 && value === undefined) copy.splice(head as number, 1);
    else copy[head as number] = setAt(copy[head as number] as Json, rest, value);
    return copy;
  }
  const copy = { ...(root as Record<string, Json>) };
  if (rest.length === 0 && value === undefined) delete copy[head as string];
  else copy[head as string] = setAt(copy[head as string] as Json, rest, value);
  return copy;
};

type Tamper =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'replace'; readonly path: number; readonly value: Json }
  | { readonly kind: 'delete'; readonly path: number }
  | { readonly kind: 'other machine'; readonly from: FlowName; readonly keepId: boolean }
  | { readonly kind: 'field'; readonly field: 'machine' | 'machineVersion' | 'schemaVersion' | 'version' | 'flowId'; readonly value: Json }
  | { readonly kind: 'state'; readonly value: Json; readonly status: Json };

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), path: fc.nat(), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, fc.constantFrom<Json>(-1, 1e308, '', 'x'.repeat(100_000), '\uD800', [], {})) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.nat() }) },
  fc.record({ kind: fc.constant('other machine' as const), from: flowName, keepId: fc.boolean() }),
  fc.record({ kind: fc.constant('field' as const), field: fc.constantFrom('machine' as const, 'machineVersion' as const, 'schemaVersion' as const, 'version' as const, 'flowId' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>, fc.constantFrom<Json>(...FLOWS, 2, 0, -1)) }),
  fc.record({
    kind: fc.constant('state' as const),
    value: fc.oneof(fc.constantFrom<Json>('nope', 'hardening', 'hardening.applying', { hardening: 'nope' }, { case: 'recovered', evidence: 'kept' }, 'registered', 'awaitingCode', ''), fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>),
    status: fc.constantFrom<Json>('active', 'done', 'error', 'stopped', 'nope'),
  }),
);

const tampered = (p: Prepared, flow: FlowName, t: Tamper): string => {
  const raw = p.host.world.store.raw(p.flowIds[flow]) as string;
  const json = JSON.parse(raw) as Json;
  switch (t.kind) {
    case 'truncate':
      return raw.slice(0, t.at % raw.length);
    case 'replace': {
      const paths = pathsOf(json);
      return JSON.stringify(setAt(json, paths[t.path % paths.length] as (string | number)[], t.value));
    }
    case 'delete': {
      const paths = pathsOf(json).filter((x) => x.length > 0);
      return JSON.stringify(setAt(json, paths[t.path % paths.length] as (string | number)[], undefined));
    }
    case 'other machine': {
      const other = JSON.parse(p.host.world.store.raw(p.flowIds[t.from]) as string) as Record<string, Json>;
      return JSON.stringify(t.keepId ? { ...other, flowId: p.flowIds[flow] } : other);
    }
    case 'field':
      return JSON.stringify({ ...(json as Record<string, Json>), [t.field]: t.value });
    case 'state': {
      const envelope = json as { snapshot: Record<string, Json> };
      return JSON.stringify({ ...envelope, snapshot: { ...envelope.snapshot, value: t.value, status: t.status } });
    }
  }
};

/** The restore property, over a host built from `definitions`. */
const survivesTampering = (definitions?: (world: MemoryWorld) => FlowDefinition[]) =>
  fc.asyncProperty(fc.boolean(), flowName, tamper, fc.constantFrom('read', 'tick', 'drain', 'send', 'verdict'), flowName, async (advanced, flow, t, via, eventFlow) => {
    const p = await prepare(advanced, definitions);
    const id = p.flowIds[flow];
    const bad = tampered(p, flow, t);
    p.host.world.store.overwriteRaw(id, bad);
    const others = Object.fromEntries(FLOWS.filter((f) => f !== flow).map((f) => [f, p.host.world.store.raw(p.flowIds[f])]));
    const r = p.host.runtime;
    const result = await total(() =>
      via === 'send'
        ? r.send(id, { type: TYPES[eventFlow][0], phone: '+8613800138000', channel: 'wang@example.com', code: '123456' }, p.sessions[1])
        : via === 'verdict'
          ? providerVerdict(r, id, { type: 'provider.verified', attempt: 1 })
          : r[via](id),
    );
    if (E.isLeft(result)) expect(p.host.world.store.raw(id), 'a refused restore rewrote storage').toBe(bad);
    // A restore that succeeded must show a state the machine has, however the envelope was edited.
    else expect(typeof result.right.view.state).toBe('string');
    for (const [f, raw] of Object.entries(others)) expect(p.host.world.store.raw(p.flowIds[f as FlowName])).toBe(raw);
  });

describe('hostile storage at restore', () => {
  it('should meet a truncated or edited envelope, or one of another machine or version, with a typed error and leave it as it was', async () => {
    await fc.assert(survivesTampering(), { numRuns: Math.max(50, fc.readConfigureGlobal().numRuns ?? 100) });
  });

  itHasTeeth('should catch a flow that trusts its stored context without decoding it (the property has teeth)', async () => {
    const trusting = (world: MemoryWorld) => allFlows(world).map((d) => ({ ...d, context: t.UnknownRecord }) as FlowDefinition);
    expect((await fc.check(survivesTampering(trusting), { seed: TEETH_SEED, numRuns: 300 })).failed).toBe(true);
  });

  it('should refuse an envelope from an older machine version and one stored under another flow id', async () => {
    const p = await prepare(true);
    const id = p.flowIds.registration;
    const envelope = JSON.parse(p.host.world.store.raw(id) as string) as Record<string, unknown>;
    p.host.world.store.overwriteRaw(id, JSON.stringify({ ...envelope, machineVersion: 0 }));
    const old = await total(() => p.host.runtime.read(id));
    expect(E.isLeft(old) && old.left).toMatchObject({ code: 'envelope_mismatch', field: 'machineVersion' });
    p.host.world.store.overwriteRaw(id, JSON.stringify({ ...envelope, flowId: p.flowIds.binding }));
    const moved = await total(() => p.host.runtime.read(id));
    expect(E.isLeft(moved) && moved.left.code).toBe('envelope_mismatch');
  });
});
