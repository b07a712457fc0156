/**
 * Sessions over SQL, with the memory sessions' semantics. Sign-in order is a sequence column,
 * which is also the login history `recentLogins` reads (a session is its login record).
 */
import type { AccountId } from '../../domain/account.ts';
import type { Instant } from '../../domain/time.ts';
import type { LoginRecord, Session, Sessions } from '../../ports/sessions.ts';
import { type SqlClient, toNullableNumber, toNumber } from './client.ts';
import { once } from './idempotency.ts';

interface SessionRow {
  readonly id: string;
  readonly account_id: string;
  readonly epoch: unknown;
  readonly created_at: unknown;
  readonly device: string;
  readonly place: string;
  readonly revoked_at: unknown;
}

const COLUMNS = 'id, account_id, epoch, created_at, device, place, revoked_at';

const toSession = (row: SessionRow): Session => ({
  id: row.id,
  accountId: row.account_id as AccountId,
  epoch: toNumber(row.epoch),
  createdAt: toNumber(row.created_at),
  device: row.device,
  place: row.place,
  revokedAt: toNullableNumber(row.revoked_at),
});

export class SqlSessions implements Sessions {
  readonly #client: SqlClient;

  constructor(client: SqlClient) {
    this.#client = client;
  }

  /**
   * Signs an account in (tests, simulations, hosts whose login is not their own). Session ids
   * are random UUIDs from the database, not a counter: they are unguessable and do not collide
   * between instances.
   */
  async signIn(accountId: AccountId, epoch: number, at: Instant, device = 'phone', place = 'Shanghai'): Promise<Session> {
    const [row] = await this.#client.query<SessionRow>(
      `INSERT INTO af_sessions (id, account_id, epoch, created_at, device, place) VALUES ('sess-' || gen_random_uuid(), $1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [accountId, epoch, at, device, place],
    );
    if (row === undefined) throw new Error('the session insert returned no row');
    return toSession(row);
  }

  async get(sessionId: string): Promise<Session | undefined> {
    const [row] = await this.#client.query<SessionRow>(`SELECT ${COLUMNS} FROM af_sessions WHERE id = $1`, [sessionId]);
    return row === undefined ? undefined : toSession(row);
  }

  async list(accountId: AccountId): Promise<readonly Session[]> {
    return (await this.#client.query<SessionRow>(`SELECT ${COLUMNS} FROM af_sessions WHERE account_id = $1 ORDER BY seq`, [accountId])).map(toSession);
  }

  revokeAllExcept(accountId: AccountId, keep: string | null, at: Instant, idempotencyKey: string): Promise<number> {
    return this.#client.transaction((tx) =>
      once(tx, 'sessions', idempotencyKey, async () => {
        const ended = await tx.query(
          'UPDATE af_sessions SET revoked_at = $3 WHERE account_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR id <> $2::text) RETURNING id',
          [accountId, keep, at],
        );
        return ended.length;
      }),
    );
  }

  async revoke(sessionId: string, at: Instant): Promise<void> {
    await this.#client.query('UPDATE af_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [sessionId, at]);
  }

  async recentLogins(accountId: AccountId, limit: number): Promise<readonly LoginRecord[]> {
    const rows = await this.#client.query<SessionRow>(`SELECT ${COLUMNS} FROM af_sessions WHERE account_id = $1 ORDER BY seq DESC LIMIT $2`, [accountId, limit]);
    return rows.map((r) => ({ at: toNumber(r.created_at), device: r.device, place: r.place, sessionId: r.id }));
  }

  /** A session is live when not revoked and issued under the account's current epoch. */
  async isLive(sessionId: string, currentEpoch: number): Promise<boolean> {
    const session = await this.get(sessionId);
    return session !== undefined && session.revokedAt === null && session.epoch === currentEpoch;
  }
}
