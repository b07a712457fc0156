import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { VirtualClock } from '../../src/adapters/clocks.ts';
import { createSqlPorts, hostKey, openPglite, type SqlClient, sqlSentLog } from '../../src/adapters/sql/index.ts';

describe('host keys and the sent log on PGlite', () => {
  let client: SqlClient;
  beforeAll(async () => {
    client = await openPglite();
    expect(E.isRight(await createSqlPorts(client))).toBe(true);
  }, 60_000);
  afterAll(() => client.close());

  it('should create a key once and give every later caller the same bytes', async () => {
    let made = 0;
    const fresh = () => (made++, new Uint8Array(32).fill(made));
    const [a, b] = await Promise.all([hostKey(client, 'codes', fresh), hostKey(client, 'codes', fresh)]);
    expect(a).toEqual(b);
    expect(await hostKey(client, 'codes', fresh)).toEqual(a);
    expect(await hostKey(client, 'sessions', fresh)).not.toEqual(a);
  });

  it('should remember an accepted key, keep its first provider id, and forget it once swept', async () => {
    const clock = new VirtualClock(1_000);
    const log = sqlSentLog(client, clock);
    expect(await log.get('f:1:0')).toBeUndefined();
    await log.record('f:1:0', 'smtp-1');
    await log.record('f:1:0', 'smtp-2');
    expect(await log.get('f:1:0')).toBe('smtp-1');
    clock.advanceBy(10);
    await log.record('f:2:0', 'smtp-3');
    expect(await log.sweep(1_005)).toBe(1);
    expect(await log.get('f:1:0')).toBeUndefined();
    expect(await log.get('f:2:0')).toBe('smtp-3');
  });
});
