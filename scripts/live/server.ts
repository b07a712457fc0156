/**
 * The live view's server: Node's own `http`, one in-memory world, one runtime, and a page that
 * loads nothing from anywhere but here (its Content-Security-Policy says so to the browser).
 * Flows are moved exactly as a host moves them — `start`, `send`, `tick` — and every step the
 * runtime applies is recorded through its `observe` option, effects included.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as E from 'fp-ts/lib/Either.js';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { MemoryWorld } from '../../src/adapters/memory/index.ts';
import { stateName } from '../../src/flows/common.ts';
import { stateDomId } from '../../src/graph/dot.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import { createRuntime, type StepResult } from '../../src/runtime/runtime.ts';
import { catalogueFlows, diagramCatalogue } from '../catalogue.ts';
import { renderDiagram } from '../render.ts';
import { redact } from './redact.ts';
import { ACTORS, type Actor, createLiveWorld, eventActor, eventBody, type Field, type FormContext, formFields, startActor } from './world.ts';

export interface LiveOptions {
  /** 0 (the default) takes a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly seed?: number;
}

export interface LiveServer {
  readonly url: string;
  readonly port: number;
  /** The in-memory world behind the page, for tests that check what it must not show. */
  readonly world: MemoryWorld;
  close(): Promise<void>;
}

interface StepLog {
  readonly at: number;
  readonly event: string;
  readonly to: string;
  readonly effects: readonly { readonly type: string; readonly params: unknown }[];
}

interface Accepted {
  readonly type: string;
  readonly as: Actor;
  readonly fields: readonly Field[];
}

const PAGE = new URL('./page/', import.meta.url);
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
// Everything from this origin, nothing from anywhere else: the page works offline or not at all.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const MAX_BODY = 64 * 1024;
const MAX_TICKS = 200;

const readBody = async (req: IncomingMessage): Promise<unknown> => {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
};

const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void => {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
  res.end(payload);
};

/** The SVG element itself, for inlining into the page (no XML prolog, DOCTYPE or comments). */
const inlineSvg = (svg: string): string => svg.slice(svg.indexOf('<svg')).replace(/<!--[\s\S]*?-->\n?/g, '');

/**
 * @example
 * const live = await startLiveServer({ port: 0 });
 * console.log(live.url); // http://127.0.0.1:40123/
 */
export const startLiveServer = async (options: LiveOptions = {}): Promise<LiveServer> => {
  const live = await createLiveWorld(options.seed ?? 1);
  const { world } = live;
  const definitions = catalogueFlows(world);
  const byName = new Map<string, FlowDefinition>(definitions.map((d) => [d.name, d]));
  const entries = diagramCatalogue(world).filter((e) => byName.has(e.name));
  const logs = new Map<string, StepLog[]>();
  const flows = new Map<string, { readonly machine: string; requesterToken?: string }>();

  const runtime = createRuntime(world, definitions, {
    observe: (step) => {
      const log = logs.get(step.flowId) ?? [];
      log.push({
        at: step.at,
        event: step.event,
        to: stateName(step.to.value),
        effects: step.effects.map((e) => ({ type: e.effect.type, params: redact(e.effect.params) })),
      });
      logs.set(step.flowId, log);
    },
  });

  const svgs = new Map<string, Promise<string>>();
  const diagram = (name: string): Promise<string> | undefined => {
    const entry = entries.find((e) => e.name === name);
    if (entry === undefined) return undefined;
    let cached = svgs.get(name);
    if (cached === undefined) {
      cached = renderDiagram(entry).then((d) => inlineSvg(d.svg));
      svgs.set(name, cached);
    }
    return cached;
  };

  const snapshotOf = async (flowId: string): Promise<{ definition: FlowDefinition; snapshot: AnyMachineSnapshot } | undefined> => {
    const envelope = (await world.store.load(flowId)) as { machine: string; snapshot: { value: unknown; context: unknown } } | undefined;
    const definition = envelope === undefined ? undefined : byName.get(envelope.machine);
    if (envelope === undefined || definition === undefined) return undefined;
    const snapshot = (definition.machine as AnyStateMachine).resolveState({ value: envelope.snapshot.value as never, context: envelope.snapshot.context as never });
    return { definition, snapshot };
  };

  const flowState = async (flowId: string) => {
    const loaded = await snapshotOf(flowId);
    const read = await runtime.read(flowId);
    if (loaded === undefined || E.isLeft(read)) return undefined;
    const { definition, snapshot } = loaded;
    const hidden = new Set(definition.secretViewFields ?? []);
    const view = Object.fromEntries(Object.entries(read.right.view).filter(([k]) => !hidden.has(k)));
    const nodes = snapshot._nodes.filter((n) => n.parent !== undefined);
    const leaves = nodes.filter((n) => n.type === 'atomic' || n.type === 'final');
    const context = snapshot.context as Record<string, unknown>;
    const forms: FormContext = { machine: definition.name, flowId, context, view: read.right.view as Record<string, unknown>, live, requesterToken: flows.get(flowId)?.requesterToken };
    const accepted: Accepted[] = [];
    if (snapshot.status === 'active') {
      // Deepest states first: what this step is about before what every state accepts (cancel).
      const types = [...new Set([...snapshot._nodes].reverse().flatMap((n) => Object.keys(n.on)))];
      for (const type of types) {
        const fields = formFields(definition.clientEvents, type, forms);
        if (fields !== undefined) accepted.push({ type, as: eventActor(definition.name, type), fields });
      }
    }
    return {
      flowId,
      machine: definition.name,
      status: snapshot.status,
      state: stateName(snapshot.value),
      now: world.clock.now(),
      nextDeadline: read.right.nextDeadline,
      activeStates: nodes.map((n) => n.id),
      currentStates: leaves.map((n) => n.id),
      activeIds: nodes.filter((n) => !leaves.includes(n)).map((n) => stateDomId(n.id)),
      currentIds: leaves.map((n) => stateDomId(n.id)),
      view: redact(view),
      context: redact(context),
      steps: logs.get(flowId) ?? [],
      events: accepted,
      actors: ACTORS,
    };
  };

  const answer = async (flowId: string, result: StepResult) =>
    E.isLeft(result)
      ? { ok: false, error: { code: result.left.code, message: result.left.message, field: result.left.field ?? null }, flow: await flowState(flowId) }
      : { ok: true, flow: await flowState(flowId) };

  const activeFlows = async (): Promise<{ id: string; deadline: number | null }[]> => {
    const out: { id: string; deadline: number | null }[] = [];
    for (const id of flows.keys()) {
      const read = await runtime.read(id);
      if (E.isRight(read) && !read.right.view.done) out.push({ id, deadline: read.right.nextDeadline });
    }
    return out;
  };

  /** Moves the virtual clock, waking every flow at each of its deadlines in turn on the way. */
  const advance = async (ms: number): Promise<void> => {
    const target = world.clock.now() + ms;
    const stuck = new Set<string>();
    for (let i = 0; i < MAX_TICKS; i++) {
      const due = (await activeFlows()).filter((f) => f.deadline !== null && f.deadline <= target && !stuck.has(f.id));
      if (due.length === 0) break;
      const at = Math.min(...due.map((f) => f.deadline as number));
      world.clock.advanceTo(at);
      for (const f of due.filter((d) => (d.deadline as number) <= at)) {
        await runtime.tick(f.id);
        const after = await runtime.read(f.id);
        // A deadline the flow does not act on (nothing due after all) must not loop forever.
        if (E.isRight(after) && after.right.nextDeadline !== null && after.right.nextDeadline <= at) stuck.add(f.id);
      }
    }
    world.clock.advanceTo(target);
    for (const f of await activeFlows()) await runtime.tick(f.id);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const file = STATIC[path];
    if (method === 'GET' && file !== undefined) {
      send(res, 200, readFileSync(new URL(file, PAGE), 'utf8'), TYPES[file.split('.').pop() ?? ''] ?? 'text/plain');
      return;
    }
    if (method === 'GET' && path === '/api/machines') {
      send(res, 200, { now: world.clock.now(), machines: entries.map((e) => ({ name: e.name, summary: e.summary, startAs: startActor(e.name) })) });
      return;
    }
    const svgPath = /^\/api\/diagram\/([A-Za-z]+)\.svg$/.exec(path);
    if (method === 'GET' && svgPath !== null) {
      const svg = diagram(svgPath[1] ?? '');
      if (svg === undefined) send(res, 404, { error: 'no such machine' });
      else send(res, 200, await svg, 'image/svg+xml; charset=utf-8');
      return;
    }
    if (method === 'GET' && path === '/api/flows') {
      const list = [];
      for (const [id, f] of flows) {
        const read = await runtime.read(id);
        list.push({ flowId: id, machine: f.machine, state: E.isRight(read) ? read.right.view.state : '?', done: E.isRight(read) && read.right.view.done });
      }
      send(res, 200, { now: world.clock.now(), flows: list });
      return;
    }
    if (method === 'POST' && path === '/api/flows') {
      const body = (await readBody(req)) as { machine?: unknown };
      const machine = typeof body.machine === 'string' ? body.machine : '';
      if (!byName.has(machine)) {
        send(res, 404, { ok: false, error: { code: 'unknown_machine', message: `No machine named "${machine.slice(0, 40)}".` } });
        return;
      }
      const started = await runtime.start(machine, {}, live.session(startActor(machine)));
      if (E.isLeft(started)) {
        send(res, 200, { ok: false, error: { code: started.left.code, message: started.left.message } });
        return;
      }
      const token = started.right.view['requesterToken'];
      flows.set(started.right.flowId, { machine, ...(typeof token === 'string' ? { requesterToken: token } : {}) });
      send(res, 200, { ok: true, flow: await flowState(started.right.flowId) });
      return;
    }
    const flowPath = /^\/api\/flows\/([A-Za-z0-9_-]{1,128})(\/events)?$/.exec(path);
    if (flowPath !== null && flows.has(flowPath[1] ?? '')) {
      const flowId = flowPath[1] as string;
      if (method === 'GET' && flowPath[2] === undefined) {
        send(res, 200, await flowState(flowId));
        return;
      }
      if (method === 'POST' && flowPath[2] === '/events') {
        const body = (await readBody(req)) as { type?: unknown; values?: unknown; as?: unknown };
        const state = await flowState(flowId);
        const offered = state?.events.find((e) => e.type === body.type);
        if (offered === undefined) {
          send(res, 200, { ok: false, error: { code: 'event_not_accepted', message: `"${String(body.type).slice(0, 40)}" is not possible in this step.` }, flow: state });
          return;
        }
        const as = ACTORS.includes(body.as as Actor) ? (body.as as Actor) : offered.as;
        const values = typeof body.values === 'object' && body.values !== null ? (body.values as Record<string, unknown>) : {};
        send(res, 200, await answer(flowId, await runtime.send(flowId, eventBody(offered.type, offered.fields, values), live.session(as))));
        return;
      }
    }
    if (method === 'POST' && path === '/api/clock') {
      const body = (await readBody(req)) as { ms?: unknown; flowId?: unknown };
      const ms = typeof body.ms === 'number' && Number.isFinite(body.ms) && body.ms >= 0 && body.ms <= 366 * 24 * 3600 * 1000 ? body.ms : 0;
      await advance(ms);
      const flowId = typeof body.flowId === 'string' && flows.has(body.flowId) ? body.flowId : undefined;
      send(res, 200, { now: world.clock.now(), flow: flowId === undefined ? null : await flowState(flowId) });
      return;
    }
    send(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (error as Error).message.slice(0, 200) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    world,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
};
