import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { createMemoryWorld } from '../../src/adapters/memory/index.ts';
import { INTERNAL_ERROR_CODES, PUBLIC_ERROR_CODES } from '../../src/domain/errors.ts';
import type { FlowEnvelope } from '../../src/runtime/envelope.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { createApp } from '../../src/server/app.ts';
import { serviceFlows } from '../../src/server/flows.ts';
import { PROBLEM_TYPE_BASE, PROBLEMS } from '../../src/server/problem.ts';
import { flowOf, type ProblemBody, problemOf, testService } from './support.ts';

/** Every member RFC 9457 defines, and the code this service adds. */
const expectProblem = (p: ProblemBody, code: string, status: number, instance: string): void => {
  expect(p).toMatchObject({ type: `${PROBLEM_TYPE_BASE}${code}`, status, code, instance, title: PROBLEMS[code as keyof typeof PROBLEMS].title });
  expect(p.detail).toEqual(expect.any(String));
};

describe('problem details', () => {
  it('should have one status and title for every FlowError code, and a generic sentence for every internal one', () => {
    for (const code of [...PUBLIC_ERROR_CODES, ...INTERNAL_ERROR_CODES]) {
      expect(PROBLEMS[code].status).toBeGreaterThanOrEqual(400);
      expect(PROBLEMS[code].genericDetail === undefined).toBe((PUBLIC_ERROR_CODES as readonly string[]).includes(code));
    }
  });

  describe('for each class of bad input, and nothing changes', () => {
    const withFlow = async () => {
      const s = testService();
      const { flowId } = await flowOf(await s.post('/flows/registration'));
      const state = async () => (await s.get(`/flows/${flowId}`)).text();
      return { s, flowId, path: `/flows/${flowId}/events`, before: await state(), state };
    };

    it('should refuse malformed JSON with 400', async () => {
      const { s, path, before, state } = await withFlow();
      const res = await s.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type": "phone.submit", "phone": ' });
      expect(res.status).toBe(400);
      const p = await problemOf(res);
      expectProblem(p, 'malformed_json', 400, path);
      expect(p.detail).not.toContain('phone');
      expect(await state()).toBe(before);
    });

    it('should refuse a body that is not JSON with 415', async () => {
      const { s, path, before, state } = await withFlow();
      const res = await s.app.request(path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"type":"phone.submit","phone":"+8613800138000"}' });
      expectProblem(await problemOf(res), 'unsupported_media_type', 415, path);
      expect(await state()).toBe(before);
      expect(s.world.messenger.sent).toEqual([]);
    });

    it('should refuse a body over 16 KiB with 413, whether its length is declared or streamed', async () => {
      const { s, path, before, state } = await withFlow();
      const big = JSON.stringify({ type: 'phone.submit', phone: '+8613800138000', pad: 'x'.repeat(17 * 1024) });
      const declared = await s.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(big.length) }, body: big });
      expectProblem(await problemOf(declared), 'payload_too_large', 413, path);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      });
      const streamed = await s.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await state()).toBe(before);
      expect(s.world.messenger.sent).toEqual([]);
    });

    it('should refuse an event without a body with 400', async () => {
      const { s, path, before, state } = await withFlow();
      expectProblem(await problemOf(await s.post(path)), 'malformed_json', 400, path);
      expect(await state()).toBe(before);
    });

    it('should name the field of an event that does not decode, with 400', async () => {
      const { s, path, before, state } = await withFlow();
      const res = await s.post(path, { type: 'phone.submit', phone: 13800138000 });
      const p = await problemOf(res);
      expectProblem(p, 'invalid_input', 400, path);
      expect(p.errors).toEqual([{ field: 'phone', code: 'invalid_input', detail: p.detail }]);
      expect(await state()).toBe(before);
    });

    it('should name the field the domain refuses, with 422, and text nobody', async () => {
      const { s, path, before, state } = await withFlow();
      const p = await problemOf(await s.post(path, { type: 'phone.submit', phone: '+1 202 555 0123' }));
      expectProblem(p, 'phone_region_not_allowed', 422, path);
      expect(p.errors?.map((e) => e.field)).toEqual(['phone']);
      expect(await state()).toBe(before);
      expect(s.world.messenger.sent).toEqual([]);
    });

    it('should refuse an event the step does not take with 409', async () => {
      const { s, path, before, state } = await withFlow();
      expectProblem(await problemOf(await s.post(path, { type: 'code.submit', code: '123456' })), 'event_not_accepted', 409, path);
      expect(await state()).toBe(before);
    });

    it('should refuse a malformed Idempotency-Key with 400', async () => {
      const { s, path, before, state } = await withFlow();
      const res = await s.post(path, { type: 'phone.submit', phone: '+8613800138000' }, { 'idempotency-key': 'short' });
      expectProblem(await problemOf(res), 'idempotency_key_invalid', 400, path);
      expect(await state()).toBe(before);
      expect(s.world.messenger.sent).toEqual([]);
    });

    it('should refuse an Authorization header that is not a live session with 401', async () => {
      const { s, path, before, state } = await withFlow();
      for (const authorization of ['Bearer nonsense.token', 'Basic dXNlcjpwYXNz']) {
        const res = await s.post(path, { type: 'phone.submit', phone: '+8613800138000' }, { authorization });
        expectProblem(await problemOf(res), 'session_invalid', 401, path);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      }
      expect(await state()).toBe(before);
    });
  });

  it('should answer unknown routes, unknown flows, unknown flow ids and wrong methods as problems', async () => {
    const s = testService();
    expectProblem(await problemOf(await s.get('/nowhere')), 'not_found', 404, '/nowhere');
    expectProblem(await problemOf(await s.post('/flows/payments')), 'not_found', 404, '/flows/payments');
    expectProblem(await problemOf(await s.post('/flows/__proto__')), 'not_found', 404, '/flows/__proto__');
    const unknown = await problemOf(await s.get('/flows/AAAAAAAAAAAAAAAAAAAAAA'));
    expectProblem(unknown, 'flow_not_found', 404, '/flows/AAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.detail).toBe('There is nothing here.');
    const put = await s.app.request('/flows/registration', { method: 'PUT' });
    expectProblem(await problemOf(put), 'method_not_allowed', 405, '/flows/registration');
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(s.store.inserts).toBe(0);
  });

  it('should answer a store that fails with a generic 503 and a store that holds junk with a generic 500', async () => {
    const world = createMemoryWorld();
    let failing = false;
    const store = world.store;
    const flaky = { ...world, store: { load: (id: string) => (failing ? Promise.reject(new Error('connection refused to db.internal:5432')) : store.load(id)), insert: store.insert.bind(store), replace: store.replace.bind(store) } };
    const runtime = createRuntime(flaky, serviceFlows(flaky));
    const app = createApp({ runtime, ports: flaky, minEntryMs: 0 });
    const started = await runtime.start('registration', {});
    if (E.isLeft(started)) throw new Error(started.left.message);
    failing = true;
    const down = await app.request(`/flows/${started.right.flowId}`);
    const p = await problemOf(down);
    expectProblem(p, 'port_failure', 503, `/flows/${started.right.flowId}`);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(JSON.stringify(p)).not.toMatch(/store|db\.internal|connection/);

    failing = false;
    await store.insert({ flowId: 'junk', machine: 'registration', machineVersion: 1, schemaVersion: 1, version: 1, createdAt: 0, updatedAt: 0, snapshot: { value: 'nowhere', context: {}, status: 'active' }, outbox: [], replies: [] } as FlowEnvelope);
    const corrupt = await problemOf(await app.request('/flows/junk'));
    expectProblem(corrupt, 'snapshot_corrupt', 500, '/flows/junk');
    expect(corrupt.detail).toBe('The request could not be processed.');
    expect(corrupt).not.toHaveProperty('errors');
    expect(JSON.stringify(corrupt)).not.toMatch(/registration|context|snapshot\./);
  });

  it('should answer an exception nobody expected with a generic 500 and tell only the host', async () => {
    const world = createMemoryWorld();
    const runtime = createRuntime(world, serviceFlows(world));
    const told: unknown[] = [];
    const app = createApp({ runtime: { ...runtime, read: () => Promise.reject(new Error('secret internals')) }, ports: world, onError: (e) => told.push(e) });
    const res = await app.request('/flows/abc');
    const p = await problemOf(res);
    expectProblem(p, 'internal', 500, '/flows/abc');
    expect(JSON.stringify(p)).not.toContain('secret internals');
    expect(told).toHaveLength(1);
  });
});
