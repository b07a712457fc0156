/**
 * Who is calling: the HostSession the runtime gets is derived from a session token alone
 * (`Authorization: Bearer …` or the HttpOnly cookie), never from a request body. A token is the
 * session id with an HMAC over it, so even a store that numbers its sessions (`sess-1`, `sess-2`)
 * hands out tokens nobody can guess; the key lives only in the host.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { AccountId } from '../domain/account.ts';
import type { Instant } from '../domain/time.ts';
import type { MemorySessions } from '../adapters/memory/sessions.ts';
import type { AccountDirectory } from '../ports/accountDirectory.ts';
import type { Session, Sessions } from '../ports/sessions.ts';
import type { HostSession } from '../runtime/runtime.ts';
import { bytesToId } from '../runtime/ids.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * What the Sessions port lacks for a login: creating a session. The host's own session layer
 * provides it (the memory one through `signIn`, a SQL one with an INSERT).
 */
export interface SessionIssuer {
  issue(input: { readonly accountId: AccountId; readonly epoch: number; readonly at: Instant; readonly device: string; readonly place: string }): Promise<Session>;
}

/** Says whether an account is a support agent; only then does its session act as 'agent'. */
export type IsAgent = (accountId: AccountId) => boolean | Promise<boolean>;

export const SESSION_COOKIE = 'af_session';

/** The caller as the service sees it. `invalid`: a Bearer token was sent and is not a live session. */
export type Caller =
  | { readonly kind: 'anonymous'; readonly staleCookie: boolean }
  | { readonly kind: 'signedIn'; readonly host: HostSession & { readonly actor: string; readonly sessionId: string } }
  | { readonly kind: 'invalid' };

export const ANONYMOUS_HOST: HostSession = { actor: null, sessionId: null };

export const hostOf = (caller: Caller): HostSession => (caller.kind === 'signedIn' ? caller.host : ANONYMOUS_HOST);

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** The issuer over the in-memory sessions (tests, demos, the service before SQL arrives). */
export const memorySessionIssuer = (sessions: MemorySessions): SessionIssuer => ({
  issue: async ({ accountId, epoch, at, device, place }) => sessions.signIn(accountId, epoch, at, device, place),
});

export interface SessionTokens {
  issue(sessionId: string): string;
  /** The session id a token names, when its MAC is right; undefined otherwise. */
  open(token: string): string | undefined;
}

const MAX_TOKEN = 512;

/**
 * @example
 * const tokens = sessionTokens(key);
 * tokens.open(tokens.issue('sess-1')); // 'sess-1'
 */
export const sessionTokens = (key: Uint8Array): SessionTokens => {
  if (key.length < 32) throw new RangeError('The session token key must be at least 32 bytes.');
  const own = key.slice();
  const mac = (sessionId: string): string => bytesToId(hmac(sha256, own, utf8ToBytes(`account-flows/http-session/v1\u0000${sessionId}`)));
  const encode = (s: string): string => bytesToId(utf8ToBytes(s));
  return {
    issue: (sessionId) => `${encode(sessionId)}.${mac(sessionId)}`,
    open: (token) => {
      if (token.length > MAX_TOKEN) return undefined;
      const dot = token.lastIndexOf('.');
      if (dot <= 0) return undefined;
      const sessionId = decodeId(token.slice(0, dot));
      if (sessionId === undefined) return undefined;
      return constantTimeEqual(mac(sessionId), token.slice(dot + 1)) ? sessionId : undefined;
    },
  };
};

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The inverse of `bytesToId` for UTF-8 text; undefined for anything that is not such an id. */
const decodeId = (id: string): string | undefined => {
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const ch of id) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    value = ((value << 6) | digit) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
};

const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** The token in `Authorization: Bearer …`, if that is the scheme used. */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  const match = authorization === undefined ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
  return match?.[1];
};

/** The session behind a token, when it is live: not revoked, and of the account's current epoch. */
export const liveSession = async (sessionId: string, ports: { readonly sessions: Sessions; readonly directory: AccountDirectory }): Promise<Session | undefined> => {
  const session = await ports.sessions.get(sessionId);
  if (session === undefined || session.revokedAt !== null) return undefined;
  const account = await ports.directory.get(session.accountId);
  return account !== undefined && account.status === 'active' && account.securityEpoch === session.epoch ? session : undefined;
};

/**
 * The caller of one request. A Bearer token wins over the cookie; a dead Bearer token is an
 * error the client must hear, a dead cookie only makes the caller anonymous (and is cleared).
 */
export const resolveCaller = async (
  request: { readonly authorization: string | undefined; readonly cookie: string | undefined },
  deps: { readonly tokens: SessionTokens; readonly sessions: Sessions; readonly directory: AccountDirectory; readonly isAgent?: IsAgent | undefined },
): Promise<Caller> => {
  const bearer = request.authorization === undefined ? undefined : bearerToken(request.authorization);
  if (request.authorization !== undefined && bearer === undefined) return { kind: 'invalid' };
  const token = bearer ?? request.cookie;
  if (token === undefined) return { kind: 'anonymous', staleCookie: false };
  const sessionId = deps.tokens.open(token);
  const session = sessionId === undefined ? undefined : await liveSession(sessionId, deps);
  if (session === undefined) return bearer !== undefined ? { kind: 'invalid' } : { kind: 'anonymous', staleCookie: true };
  const agent = deps.isAgent === undefined ? false : await deps.isAgent(session.accountId);
  return { kind: 'signedIn', host: { actor: session.accountId, sessionId: session.id, role: agent ? 'agent' : 'user' } };
};

/** A short, printable description of the device for the account's login list. */
export const deviceFrom = (userAgent: string | undefined): string => {
  const printable = (userAgent ?? '').replace(/[^\x20-\x7e]/g, '').trim();
  return printable === '' ? 'unknown device' : printable.slice(0, 80);
};
