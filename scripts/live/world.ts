/**
 * The live view's world: the in-memory ports with a few people in them, the sessions the page
 * acts as, and the values its forms come filled with. Everything a person would otherwise have
 * to look up (the code the "phone" received, the link in the "mailbox") is read from the
 * in-memory adapters, the way a test reads them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AccountId } from '../../src/domain/account.ts';
import { decodeWith } from '../../src/domain/decode.ts';
import type { Email } from '../../src/domain/email.ts';
import type { Handle } from '../../src/domain/handle.ts';
import { totpAt } from '../../src/domain/hotp.ts';
import type { Phone } from '../../src/domain/phone.ts';
import { commonPasswordBlocklist } from '../../src/adapters/commonPasswords.ts';
import { createMemoryWorld, type MemoryWorld } from '../../src/adapters/memory/index.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';

const DAY = 24 * 60 * 60 * 1000;

export const SEED = {
  phone: '+8613800138000',
  email: 'wang@example.com',
  handle: 'wang_xiaoming',
  password: 'the old long passphrase',
  friends: ['li_lei_01', 'han_meimei', 'zhang_wei_3', 'liu_yang_4'],
  agent: 'support_agent',
} as const;

/** Whom the page sends an event as. */
export type Actor = 'anonymous' | 'owner' | 'agent' | 'friend1' | 'friend2' | 'friend3' | 'friend4';
export const ACTORS: readonly Actor[] = ['anonymous', 'owner', 'agent', 'friend1', 'friend2', 'friend3', 'friend4'];

/** Flows a signed-in account holder runs for their own account. */
const SIGNED_IN = new Set(['realName', 'binding', 'totpEnrollment']);

export interface LiveWorld {
  readonly world: MemoryWorld;
  readonly ids: Record<Exclude<Actor, 'anonymous'>, AccountId>;
  /** A live session for the actor, signed in again if a recovery ended the last one. */
  session(actor: Actor): HostSession;
}

export const createLiveWorld = async (seed = 1): Promise<LiveWorld> => {
  const world = createMemoryWorld({ seed, passwordBlocklist: commonPasswordBlocklist() });
  const now = world.clock.now();
  const create = async (phone: string, handle: string, email?: string): Promise<AccountId> => {
    const created = world.directory.createNow({
      phone: phone as Phone,
      handle: handle as Handle,
      passwordHash: await world.hasher.hash(SEED.password),
      at: now - 400 * DAY,
      ...(email === undefined ? {} : { email: email as Email }),
    });
    if (!created.ok) throw new Error(`could not seed ${handle}: ${created.conflict}`);
    return created.account.id;
  };
  const owner = await create(SEED.phone, SEED.handle, SEED.email);
  const friends: AccountId[] = [];
  for (const [i, handle] of SEED.friends.entries()) {
    const friend = await create(`+861380013810${i + 1}`, handle);
    // Friends of long standing: the policy does not count a friendship younger than 30 days.
    world.directory.befriend(owner, friend, now - 200 * DAY);
    friends.push(friend);
  }
  const agent = await create('+8613800138200', SEED.agent);
  const ids = { owner, agent, friend1: friends[0], friend2: friends[1], friend3: friends[2], friend4: friends[3] } as Record<Exclude<Actor, 'anonymous'>, AccountId>;
  const sessions = new Map<Actor, string>();
  const session = (actor: Actor): HostSession => {
    if (actor === 'anonymous') return { actor: null, sessionId: null };
    const accountId = ids[actor];
    const epoch = world.directory.peek(accountId)?.securityEpoch ?? 0;
    let sessionId = sessions.get(actor);
    if (sessionId === undefined || !world.sessions.isLive(sessionId, epoch)) {
      sessionId = world.sessions.signIn(accountId, epoch, world.clock.now(), actor === 'agent' ? 'support desk' : 'phone', 'Hangzhou').id;
      sessions.set(actor, sessionId);
    }
    return { actor: accountId, sessionId, role: actor === 'agent' ? 'agent' : 'user' };
  };
  return { world, ids, session };
};

// ---------------------------------------------------------------------------------------------
// who sends what
// ---------------------------------------------------------------------------------------------

export const startActor = (machine: string): Actor => (SIGNED_IN.has(machine) ? 'owner' : 'anonymous');

export const eventActor = (machine: string, type: string): Actor => {
  if (type === 'friend.confirm' || type === 'friend.refuse') return 'friend1';
  if (type.startsWith('review.')) return 'agent';
  if (type === 'owner.stop') return 'owner';
  return startActor(machine);
};

// ---------------------------------------------------------------------------------------------
// forms
// ---------------------------------------------------------------------------------------------

export interface Field {
  readonly name: string;
  readonly kind: 'text' | 'bool' | 'list' | 'choice';
  readonly value: string | boolean;
  readonly optional?: boolean;
  readonly choices?: readonly string[];
}

/** What the forms read their defaults from: the flow, its context, its view and the adapters. */
export interface FormContext {
  readonly machine: string;
  readonly flowId: string;
  readonly context: Record<string, unknown>;
  readonly view: Record<string, unknown>;
  readonly live: LiveWorld;
  readonly requesterToken: string | undefined;
}

/** The last message this flow had sent (its outbox keys start with the flow id). */
const lastMessageText = (c: FormContext): string | undefined => {
  const sent = c.live.world.messenger.sent;
  for (let i = sent.length - 1; i >= 0; i--) {
    const entry = sent[i];
    if (entry !== undefined && entry.idempotencyKey.startsWith(`${c.flowId}:`)) return entry.message.text;
  }
  return undefined;
};

const lastCode = (c: FormContext): string => {
  const text = lastMessageText(c) ?? '';
  // A link's token may hold digits too: look for the code outside any URL.
  return text.replace(/https?:\/\/\S+/g, ' ').match(/\b\d{6}\b/)?.[0] ?? '';
};
const lastLinkToken = (c: FormContext): string => lastMessageText(c)?.match(/[?&]token=([A-Za-z0-9_-]+)/)?.[1] ?? '';

/** The code the enrolling user's authenticator app would show now. */
const totpNow = (c: FormContext): string => {
  const secretRef = c.context['secretRef'];
  if (typeof secretRef !== 'string') return '';
  return totpAt(c.live.world.secondFactors.secretFor(secretRef), c.live.world.clock.now(), { periodSeconds: c.live.world.policy.totp.periodSeconds, digits: c.live.world.policy.totp.digits });
};

const text = (name: string, value: string, optional = false): Field => ({ name, kind: 'text', value, ...(optional ? { optional } : {}) });

/** Fields with values a person would type; the codec adds any this table does not know. */
const HINTS: Record<string, (c: FormContext) => readonly Field[]> = {
  'phone.submit': () => [text('phone', '+86 139 0013 9000'), text('region', '', true)],
  'code.submit': (c) => [text('code', lastCode(c))],
  'handle.submit': () => [text('handle', 'li_xiaolong')],
  'password.submit': () => [text('password', 'a brand new long passphrase')],
  'channel.submit': (c) => {
    if (c.machine === 'smsRecovery') return [text('channel', SEED.phone)];
    if (c.machine === 'emailRecovery') return [text('channel', SEED.email)];
    const kind = c.machine === 'binding' ? 'email' : 'phone';
    return [{ name: 'kind', kind: 'choice', value: kind, choices: ['phone', 'email'] }, text('value', kind === 'email' ? 'wang.new@example.com' : '+86 139 0013 9001'), text('region', '', true)];
  },
  'link.open': (c) => [text('token', lastLinkToken(c))],
  'link.confirm': (c) => [text('token', lastLinkToken(c))],
  'secondFactor.submit': () => [text('code', '')],
  'session.revoke': (c) => [text('sessionId', String((c.view['recentLogins'] as { sessionId?: string }[] | undefined)?.[0]?.sessionId ?? ''))],
  'realName.submit': () => [text('reference', 'kyc_7f3a9c2e')],
  'totp.confirm': (c) => [text('code', totpNow(c))],
  'account.submit': (c) =>
    c.machine === 'friendAssist' ? [text('handle', SEED.handle)] : [text('handle', SEED.handle, true), text('phone', '', true), text('email', '', true), text('region', '', true)],
  'friends.nominate': () => [{ name: 'handles', kind: 'list', value: SEED.friends.slice(0, 3).join(', ') }],
  'friends.replace': () => [text('old', SEED.friends[2]), text('new', SEED.friends[3])],
  'evidence.submit': () => [
    text('nickname', 'Xiaoming', true),
    text('team', 'Hangzhou sales', true),
    { name: 'frequentContacts', kind: 'list', value: 'Li Lei, Han Meimei', optional: true },
    { name: 'pastDevices', kind: 'list', value: 'iPhone 12', optional: true },
    { name: 'loginPlaces', kind: 'list', value: 'Hangzhou', optional: true },
    text('formerPhone', '', true),
    text('contactEmail', 'reach.me@example.net'),
  ],
  'evidence.answer': () => [text('answer', 'An iPhone 12 and a Windows laptop, both in Hangzhou.')],
  'review.approve': () => [{ name: 'resetSecondFactor', kind: 'bool', value: false }],
  'review.reject': () => [text('reason', '', true)],
  'review.askMore': () => [text('question', 'Which devices did you sign in from last month?')],
};

/** Values for fields only the codec named. */
const fallback = (name: string, c: FormContext): string => {
  if (name === 'token') return c.machine === 'friendAssist' ? (c.requesterToken ?? '') : lastLinkToken(c);
  if (name === 'code') return lastCode(c);
  return '';
};

/**
 * The fields of a client event, found by decoding it with the flow's own codec: each failure
 * names the next missing field and the type it wants. Undefined when the codec refuses the type
 * itself, i.e. the event is internal (a delivery result, a clock tick) and no client may send it.
 */
export const probeFields = (codec: FlowDefinition['clientEvents'], type: string): { name: string; kind: Field['kind'] }[] | undefined => {
  const body: Record<string, unknown> = { type };
  const fields: { name: string; kind: Field['kind'] }[] = [];
  for (let i = 0; i < 16; i++) {
    const decoded = decodeWith(codec, body);
    if (E.isRight(decoded)) return fields;
    const field = decoded.left.field;
    if (field === 'type') return undefined;
    // No field named, or one the placeholder cannot satisfy: the person fills it in.
    if (field === undefined || field in body) return fields;
    const expected = decoded.left.message;
    const kind: Field['kind'] = /boolean/.test(expected) ? 'bool' : /Array|\[\]/.test(expected) ? 'list' : 'text';
    body[field] = kind === 'bool' ? false : kind === 'list' ? [] : /"(\w+)"/.exec(expected)?.[1] ?? 'x';
    fields.push({ name: field, kind });
  }
  return fields;
};

export const formFields = (codec: FlowDefinition['clientEvents'], type: string, c: FormContext): Field[] | undefined => {
  const probed = probeFields(codec, type);
  if (probed === undefined) return undefined;
  const hinted = [...(HINTS[type]?.(c) ?? [])];
  for (const p of probed) if (!hinted.some((h) => h.name === p.name)) hinted.unshift({ name: p.name, kind: p.kind, value: p.kind === 'bool' ? false : fallback(p.name, c) });
  return hinted;
};

/** A form's values as the event body the codec expects: lists split, blank optionals dropped. */
export const eventBody = (type: string, fields: readonly Field[], values: Record<string, unknown>): Record<string, unknown> => {
  const body: Record<string, unknown> = { type };
  for (const f of fields) {
    const raw = values[f.name] ?? f.value;
    if (f.kind === 'bool') body[f.name] = raw === true || raw === 'true';
    else if (f.kind === 'list')
      body[f.name] = String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    else body[f.name] = String(raw);
    if (f.optional === true && (body[f.name] === '' || (Array.isArray(body[f.name]) && (body[f.name] as unknown[]).length === 0))) delete body[f.name];
  }
  return body;
};
