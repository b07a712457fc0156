/**
 * The HTTP service: registration and every recovery path as a small JSON API over one runtime,
 * plus the page at `/`. Routes only translate: the caller comes from the session token, the
 * request id from `Idempotency-Key`, and every refusal is a problem from `problem.ts`.
 *
 * Routes:
 *   GET    /                      the page (also at /recover, where e-mailed reset links land)
 *   POST   /flows/:name           start a flow (body: its input, usually none)      201
 *   GET    /flows/:id             read a flow (secret view fields left out)         200
 *   POST   /flows/:id/events      send a client event                                200
 *   POST   /sessions              sign in with phone and password                    201
 *   GET    /sessions/current      who is signed in                                   200
 *   DELETE /sessions/current      sign out                                           204
 *   GET    /dev/inbox             the development inbox, when one is configured      200
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import * as E from 'fp-ts/lib/Either.js';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AccountId } from '../domain/account.ts';
import { type FlowError, flowError } from '../domain/errors.ts';
import { MemorySessions } from '../adapters/memory/sessions.ts';
import type { FlowPorts } from '../runtime/ports.ts';
import type { FlowRuntime, StepReply } from '../runtime/runtime.ts';
import { type AbuseLimits, type CaptchaVerifier, checkCaptcha, clientKey, DEFAULT_ABUSE_LIMITS, numberChecks, numberNamedBy, phonePrefix, smsStartChecks, spend } from './abuse.ts';
import { DEFAULT_MAX_BODY_BYTES, parseJsonBody } from './body.ts';
import type { DevInbox } from './devInbox.ts';
import { exposedFlow, SECRET_VIEW_FIELDS } from './flows.ts';
import { idempotencyKey, isRepeatedEvent, isRepeatedStart, requestIdFor } from './idempotency.ts';
import { PAGE_CSP, pageHtml } from './page.ts';
import { flowProblem, type Problem, problem, type ProblemCode, PROBLEM_CONTENT_TYPE } from './problem.ts';
import { type Caller, deviceFrom, hostOf, type IsAgent, memorySessionIssuer, resolveCaller, SESSION_COOKIE, type SessionIssuer, sessionTokens } from './sessions.ts';
import { signIn } from './signIn.ts';
import { DEFAULT_MIN_ENTRY_MS, padded, realTiming, type Timing } from './timing.ts';

export interface AppOptions {
  readonly runtime: FlowRuntime;
  readonly ports: FlowPorts;
  /** Creates sessions at sign-in; defaults to `signIn` of the in-memory Sessions port. */
  readonly sessionIssuer?: SessionIssuer;
  /**
   * Signs session tokens (≥ 32 bytes); a host with several processes passes one shared key.
   * Absent, it is drawn from `ports.random`: unguessable over Web Crypto, not over a seeded source.
   */
  readonly sessionKey?: Uint8Array;
  /** Which accounts are support agents; without it nobody is. */
  readonly isAgent?: IsAgent;
  /** When set, starting an entry flow needs a `CAPTCHA-Token` header it accepts. */
  readonly captcha?: CaptchaVerifier;
  readonly limits?: Partial<AbuseLimits>;
  /** The least time an anonymous write (entry, event, sign-in) takes to answer. */
  readonly minEntryMs?: number;
  readonly timing?: Timing;
  readonly devInbox?: DevInbox;
  /** The client's address; behind a proxy, the host reads it from its trusted header here. */
  readonly clientAddress?: (c: Context) => string;
  /** `Secure` on the session cookie; only a plain-HTTP development host turns it off. */
  readonly secureCookie?: boolean;
  readonly maxBodyBytes?: number;
  /** Told every step a start or an event took, e.g. so a scheduler wakes the flow at `nextDeadline`. */
  readonly onStep?: (reply: StepReply) => void;
  /** Told about errors nothing else handled (never shown to the client). */
  readonly onError?: (error: unknown) => void;
}

/** Headers every answer carries; the page replaces the content security policy with its own. */
const BASE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

const INBOX_SIZE = 20;

/**
 * Behind a proxy or load balancer every request comes from the proxy: the client is the
 * left-most `X-Forwarded-For` address. Only for hosts that set TRUST_PROXY=1, since a client
 * reaching the service directly could otherwise pick a fresh address for every request.
 */
export const forwardedClientAddress = (c: Context): string => c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || defaultClientAddress(c);

const defaultClientAddress = (c: Context): string => {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // No socket behind the request (app.request() in a test): every such caller is one client.
    return 'unknown';
  }
};

type Reply = Pick<StepReply, 'flowId' | 'view' | 'nextDeadline'>;

/**
 * What a client sees of a step. The runtime's `replayed` becomes a header, so a replay's body is
 * the same bytes; its `version` is left out because the first answer to a request id counts the
 * write that stores the reply and the replay does not (and no route takes a version back).
 */
const replyBody = (reply: StepReply, hidden: readonly string[] = []): Reply => ({
  flowId: reply.flowId,
  view: hidden.length === 0 ? reply.view : (Object.fromEntries(Object.entries(reply.view).filter(([k]) => !hidden.includes(k))) as StepReply['view']),
  nextDeadline: reply.nextDeadline,
});

/**
 * @example
 * const world = createMemoryWorld();
 * const app = createApp({ runtime: createRuntime(world, serviceFlows(world)), ports: world });
 * const res = await app.request('/flows/registration', { method: 'POST' });
 */
export const createApp = (options: AppOptions): Hono => {
  const { runtime, ports } = options;
  const limits: AbuseLimits = { ...DEFAULT_ABUSE_LIMITS, ...options.limits };
  const timing = options.timing ?? realTiming;
  const minEntryMs = options.minEntryMs ?? DEFAULT_MIN_ENTRY_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const clientAddress = options.clientAddress ?? defaultClientAddress;
  const secureCookie = options.secureCookie ?? true;
  const report = options.onError ?? ((error: unknown) => console.error('account-flows server: unhandled error', error));
  const issuer = options.sessionIssuer ?? (ports.sessions instanceof MemorySessions ? memorySessionIssuer(ports.sessions) : undefined);
  if (issuer === undefined) throw new TypeError('createApp needs a sessionIssuer when the Sessions port is not the in-memory one.');
  const tokens = sessionTokens(options.sessionKey ?? ports.random.bytes(32));
  let dummyHash: Promise<string> | undefined;
  const signInDeps = { ports, issuer, limits, dummyHash: () => (dummyHash ??= ports.hasher.hash(`no password at all ${Array.from(ports.random.bytes(16)).join('.')}`)) };

  const app = new Hono();

  // ------------------------------------------------------------------------------------------
  // answers
  // ------------------------------------------------------------------------------------------

  const answerProblem = (c: Context, p: Problem): Response => c.body(JSON.stringify(p.body), p.body.status, { ...p.headers, 'content-type': PROBLEM_CONTENT_TYPE });
  const refuse = (c: Context, code: ProblemCode, detail?: string): Response => answerProblem(c, problem(code, c.req.path, detail));
  const json = (c: Context, status: 200 | 201, body: unknown, headers: Record<string, string> = {}): Response =>
    c.body(JSON.stringify(body), status, { ...headers, 'content-type': 'application/json' });

  /** A start (201), an event (200) or a read (200, secret view fields left out). */
  const stepAnswer = (c: Context, result: E.Either<FlowError, StepReply>, kind: 'start' | 'event' | 'read'): Response => {
    if (E.isLeft(result)) {
      // A start of a flow this host does not run: the runtime says "invalid input" about the name.
      if (result.left.code === 'invalid_input' && result.left.field === 'flow') return refuse(c, 'not_found');
      return answerProblem(c, flowProblem(result.left, c.req.path));
    }
    const reply = result.right;
    if (kind !== 'read') options.onStep?.(reply);
    return json(c, kind === 'start' ? 201 : 200, replyBody(reply, kind === 'read' ? SECRET_VIEW_FIELDS : []), {
      ...(kind === 'start' ? { location: `/flows/${encodeURIComponent(reply.flowId)}` } : {}),
      ...(reply.replayed ? { 'idempotent-replayed': 'true' } : {}),
    });
  };

  // ------------------------------------------------------------------------------------------
  // request facts
  // ------------------------------------------------------------------------------------------

  const callerOf = async (c: Context): Promise<Caller> => {
    const caller = await resolveCaller(
      { authorization: c.req.header('authorization'), cookie: getCookie(c, SESSION_COOKIE) },
      { tokens, sessions: ports.sessions, directory: ports.directory, isAgent: options.isAgent },
    );
    if (caller.kind === 'anonymous' && caller.staleCookie) deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secureCookie, httpOnly: true, sameSite: 'Strict' });
    return caller;
  };

  const bodyOf = async (c: Context, optional: boolean): Promise<E.Either<Response, unknown>> => {
    const parsed = parseJsonBody(await c.req.text(), c.req.header('content-type'), optional);
    return E.isLeft(parsed) ? E.left(refuse(c, parsed.left.code, parsed.left.detail)) : parsed;
  };

  /** The request id for this caller's `Idempotency-Key`, or a problem when the header is malformed. */
  const requestIdOf = (c: Context, caller: Caller): E.Either<Response, string | undefined> => {
    const key = idempotencyKey(c.req.header('idempotency-key'));
    if (E.isLeft(key)) return E.left(refuse(c, 'idempotency_key_invalid', 'Send 16 to 128 printable ASCII characters, such as a random UUID.'));
    return E.right(key.right === undefined ? undefined : requestIdFor(key.right, hostOf(caller).actor));
  };

  const entry = (handler: (pad: () => void) => Promise<Response>): Promise<Response> => padded(timing, minEntryMs, handler);

  // ------------------------------------------------------------------------------------------
  // middleware
  // ------------------------------------------------------------------------------------------

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(BASE_HEADERS)) if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  });
  const limitBody = bodyLimit({ maxSize: maxBodyBytes, onError: (c) => refuse(c, 'payload_too_large', `The body may hold at most ${maxBodyBytes} bytes.`) });

  app.notFound((c) => refuse(c, 'not_found'));
  app.onError((error, c) => {
    report(error);
    return refuse(c, 'internal');
  });

  // ------------------------------------------------------------------------------------------
  // the page
  // ------------------------------------------------------------------------------------------

  const page = (c: Context): Response => c.html(pageHtml({ devInbox: options.devInbox !== undefined }), 200, { 'content-security-policy': PAGE_CSP });
  app.get('/', page);
  // E-mailed reset links land here (`?flow=…&token=…`); the page takes it from there.
  app.get('/recover', page);

  app.get('/dev/inbox', async (c) => {
    if (options.devInbox === undefined) return refuse(c, 'not_found');
    return json(c, 200, { messages: await options.devInbox.recent(INBOX_SIZE) });
  });

  // ------------------------------------------------------------------------------------------
  // flows
  // ------------------------------------------------------------------------------------------

  app.post('/flows/:name', limitBody, (c) =>
    entry(async (pad) => {
      const name = c.req.param('name');
      const flow = exposedFlow(name);
      if (flow === undefined) return refuse(c, 'not_found');
      if (flow.startedBy === 'anonymous') pad();
      const body = await bodyOf(c, true);
      if (E.isLeft(body)) return body.left;
      const caller = await callerOf(c);
      if (caller.kind === 'invalid') return refuse(c, 'session_invalid');
      if (flow.startedBy === 'signedIn' && caller.kind !== 'signedIn') return answerProblem(c, flowProblem(flowError('session_required', 'Sign in first.'), c.req.path));
      const requestId = requestIdOf(c, caller);
      if (E.isLeft(requestId)) return requestId.left;
      const client = clientKey(clientAddress(c));
      if (flow.startedBy === 'anonymous') {
        const captcha = await checkCaptcha(options.captcha, c.req.header('captcha-token'), client);
        if (captcha !== 'ok') return refuse(c, captcha);
      }
      const repeated = requestId.right !== undefined && (await isRepeatedStart(ports.store, name, requestId.right));
      if (flow.sendsSms && !repeated) {
        const spent = await spend(ports.budgets, smsStartChecks(limits, client), ports.clock.now());
        if (E.isLeft(spent)) return answerProblem(c, flowProblem(spent.left, c.req.path));
      }
      return stepAnswer(c, await runtime.start(name, body.right, hostOf(caller), requestId.right), 'start');
    }),
  );

  app.get('/flows/:id', async (c) => stepAnswer(c, await runtime.read(c.req.param('id')), 'read'));

  app.post('/flows/:id/events', limitBody, (c) =>
    entry(async (pad) => {
      const flowId = c.req.param('id');
      const body = await bodyOf(c, false);
      const caller = await callerOf(c);
      // Anonymous callers are the ones who probe identifiers; a signed-in account acts on itself.
      if (caller.kind !== 'signedIn') pad();
      if (E.isLeft(body)) return body.left;
      if (caller.kind === 'invalid') return refuse(c, 'session_invalid');
      const requestId = requestIdOf(c, caller);
      if (E.isLeft(requestId)) return requestId.left;
      const named = numberNamedBy(body.right);
      const prefix = named === undefined ? undefined : phonePrefix(named.raw, named.region, ports.policy, limits.prefixDigits);
      if (prefix !== undefined && !(requestId.right !== undefined && (await isRepeatedEvent(ports.store, flowId, requestId.right)))) {
        const spent = await spend(ports.budgets, numberChecks(limits, prefix), ports.clock.now());
        if (E.isLeft(spent)) return answerProblem(c, flowProblem(spent.left, c.req.path));
      }
      return stepAnswer(c, await runtime.send(flowId, body.right, hostOf(caller), requestId.right), 'event');
    }),
  );

  app.all('/flows/:name', (c) => methodNotAllowed(c, 'GET, POST'));
  app.all('/flows/:id/events', (c) => methodNotAllowed(c, 'POST'));

  // ------------------------------------------------------------------------------------------
  // sessions
  // ------------------------------------------------------------------------------------------

  app.post('/sessions', limitBody, (c) =>
    entry(async (pad) => {
      pad();
      const body = await bodyOf(c, false);
      if (E.isLeft(body)) return body.left;
      const outcome = await signIn(signInDeps, body.right, clientKey(clientAddress(c)), deviceFrom(c.req.header('user-agent')));
      if (E.isLeft(outcome)) return outcome.left === 'credentials_invalid' ? refuse(c, 'credentials_invalid') : answerProblem(c, flowProblem(outcome.left, c.req.path));
      const token = tokens.issue(outcome.right.id);
      setCookie(c, SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'Strict', secure: secureCookie });
      return json(c, 201, { token, accountId: outcome.right.accountId }, { location: '/sessions/current' });
    }),
  );

  app.get('/sessions/current', async (c) => {
    const caller = await callerOf(c);
    if (caller.kind === 'invalid') return refuse(c, 'session_invalid');
    if (caller.kind !== 'signedIn') return answerProblem(c, flowProblem(flowError('session_required', 'Sign in first.'), c.req.path));
    const account = await ports.directory.get(caller.host.actor as AccountId);
    return json(c, 200, { accountId: caller.host.actor, handle: account?.handle ?? null, role: caller.host.role ?? 'user' });
  });

  app.delete('/sessions/current', async (c) => {
    const caller = await callerOf(c);
    if (caller.kind === 'invalid') return refuse(c, 'session_invalid');
    if (caller.kind !== 'signedIn') return answerProblem(c, flowProblem(flowError('session_required', 'Sign in first.'), c.req.path));
    await ports.sessions.revoke(caller.host.sessionId, ports.clock.now());
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secureCookie, httpOnly: true, sameSite: 'Strict' });
    return c.body(null, 204);
  });

  app.all('/sessions', (c) => methodNotAllowed(c, 'POST'));
  app.all('/sessions/current', (c) => methodNotAllowed(c, 'GET, DELETE'));

  const methodNotAllowed = (c: Context, allow: string): Response => {
    c.header('allow', allow);
    return refuse(c, 'method_not_allowed');
  };

  return app;
};
