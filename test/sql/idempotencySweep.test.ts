/**
 * Stored answers (`af_idempotency`) are forgotten after `IDEMPOTENCY_RETENTION_MS`, counted
 * from the first sweep that sees them: a retry inside the retention replays, one after it is
 * new. The same cases run on PGlite and on PostgreSQL; the service's periodic sweep includes it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/clocks.ts';
import type { SqlClient, SqlQueryable } from '../../src/adapters/sql/client.ts';
import { once } from '../../src/adapters/sql/idempotency.ts';
import { IDEMPOTENCY_RETENTION_MS, sweepIdempotency } from '../../src/adapters/sql/index.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import type { AccountId } from '../../src/domain/account.ts';
import { DAY } from '../../src/domain/time.ts';
import { openDurableParts } from '../../src/server/durable.ts';
import { describePostgres, emptyTables, SETUP_TIMEOUT_MS, sqlPorts, suiteClient } from './support.ts';

const T0 = Date.UTC(2026, 6, 1);
const R = IDEMPOTENCY_RETENTION_MS;
const alice = 'acct-alice' as AccountId;

const storedKeys = async (db: SqlQueryable): Promise<{ key: string; seen_at: number | null }[]> =>
  (await db.query<{ key: string; seen_at: string | number | null }>('SELECT key, seen_at FROM af_idempotency ORDER BY key')).map((r) => ({
    key: r.key,
    seen_at: r.seen_at === null ? null : Number(r.seen_at),
  }));

const sweepCases = (client: () => SqlClient): void => {
  beforeEach(async () => {
    await sqlPorts(client());
    await emptyTables(client());
  }, SETUP_TIMEOUT_MS);

  /** Runs `once` for `key`; the work answers how many times it has run so far. */
  const counter = () => {
    let runs = 0;
    const call = (key: string) => client().transaction((tx) => once(tx, 'directory', key, async () => ({ run: ++runs })));
    return { call, runs: () => runs };
  };

  it('should keep a week, as the sent log does', () => {
    expect(R).toBe(7 * DAY);
  });

  it('should replay a retry through the whole retention and treat one after it as new', async () => {
    const { call, runs } = counter();
    expect(await call('f1:1:0')).toEqual({ run: 1 });
    // The first sweep only stamps the record: nothing has aged yet.
    expect(await sweepIdempotency(client(), T0)).toBe(0);
    expect(await storedKeys(client())).toEqual([{ key: 'f1:1:0', seen_at: T0 }]);
    // Exactly the retention later it is still kept, and a retry gets the first answer.
    expect(await sweepIdempotency(client(), T0 + R)).toBe(0);
    expect(await call('f1:1:0')).toEqual({ run: 1 });
    expect(runs()).toBe(1);
    // One millisecond more and it is gone; the same key now does the work again.
    expect(await sweepIdempotency(client(), T0 + R + 1)).toBe(1);
    expect(await storedKeys(client())).toEqual([]);
    expect(await call('f1:1:0')).toEqual({ run: 2 });
    expect(runs()).toBe(2);
    // …and that new answer is kept and replayed in its turn.
    expect(await call('f1:1:0')).toEqual({ run: 2 });
  });

  it('should count each record from the sweep that first saw it, deleting only the aged ones', async () => {
    const { call } = counter();
    await call('f1:1:0');
    await call('f1:1:1');
    expect(await sweepIdempotency(client(), T0)).toBe(0);
    await call('f2:1:0');
    expect(await sweepIdempotency(client(), T0 + DAY)).toBe(0);
    expect(await storedKeys(client())).toEqual([
      { key: 'f1:1:0', seen_at: T0 },
      { key: 'f1:1:1', seen_at: T0 },
      { key: 'f2:1:0', seen_at: T0 + DAY },
    ]);
    expect(await sweepIdempotency(client(), T0 + R + 1)).toBe(2);
    expect(await storedKeys(client())).toEqual([{ key: 'f2:1:0', seen_at: T0 + DAY }]);
    expect(await sweepIdempotency(client(), T0 + DAY + R)).toBe(0);
    expect(await sweepIdempotency(client(), T0 + DAY + R + 1)).toBe(1);
    expect(await sweepIdempotency(client(), T0 + 10 * R)).toBe(0);
  });

  it('should do the work when the record is swept between the claim and the read', async () => {
    const { call } = counter();
    await call('f1:1:0');
    let runs = 0;
    const answer = await client().transaction((tx) => {
      // The first claim meets the stored record; a sweep that commits right then deletes it.
      let swept = false;
      const racing: SqlQueryable = {
        query: async (text, params) => {
          const rows = await tx.query(text, params);
          if (!swept && text.startsWith('INSERT INTO af_idempotency') && rows.length === 0) {
            swept = true;
            await tx.query('DELETE FROM af_idempotency');
          }
          return rows as never;
        },
      };
      return once(racing, 'directory', 'f1:1:0', async () => ({ run: `new ${++runs}` }));
    });
    expect(answer).toEqual({ run: 'new 1' });
    expect(runs).toBe(1);
    expect(await call('f1:1:0')).toEqual({ run: 'new 1' });
  });

  it('should let a port replay its answer inside the retention and act again after it', async () => {
    const { sessions } = await sqlPorts(client());
    await sessions.signIn(alice, 0, T0);
    await sessions.signIn(alice, 0, T0);
    expect(await sessions.revokeAllExcept(alice, null, T0, 'f1:3:0')).toBe(2);
    await sweepIdempotency(client(), T0);
    const later = await sessions.signIn(alice, 0, T0 + R);
    expect(await sweepIdempotency(client(), T0 + R)).toBe(0);
    // A re-run of the same outbox entry: the first count, and the new session is left alone.
    expect(await sessions.revokeAllExcept(alice, null, T0 + R, 'f1:3:0')).toBe(2);
    expect(await sessions.isLive(later.id, 0)).toBe(true);
    expect(await sweepIdempotency(client(), T0 + R + 1)).toBe(1);
    expect(await sessions.revokeAllExcept(alice, null, T0 + R + 1, 'f1:3:0')).toBe(1);
    expect(await sessions.isLive(later.id, 0)).toBe(false);
  });
};

describe('idempotency retention on PGlite', () => {
  sweepCases(suiteClient(openPglite));
});

describePostgres('idempotency retention on PostgreSQL', (url) => {
  sweepCases(suiteClient(() => openPostgres(url())));
});

describe("the service's periodic sweep", () => {
  it('should forget stored answers past the retention along with flows and sent-log keys', async () => {
    const clock = new VirtualClock(T0);
    const parts = await openDurableParts({ DATA_DIR: 'memory' }, { devInbox: false, clock });
    if (E.isLeft(parts)) return expect.fail(parts.left);
    try {
      const sessions = parts.right.world.sessions?.sessions;
      if (sessions === undefined) return expect.fail('the durable world has no sessions');
      await parts.right.world.sessions?.issuer.issue({ accountId: alice, epoch: 0, at: T0, device: 'phone', place: 'Shanghai' });
      expect(await sessions.revokeAllExcept(alice, null, T0, 'f1:3:0')).toBe(1);
      expect(await parts.right.sweep(T0)).toBe(0);
      expect(await parts.right.sweep(T0 + R)).toBe(0);
      expect(await parts.right.sweep(T0 + R + 1)).toBe(1);
    } finally {
      await parts.right.close();
    }
  }, SETUP_TIMEOUT_MS);
});
