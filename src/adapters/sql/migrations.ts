/**
 * The schema, as versioned migrations kept in TypeScript so they bundle and ship with the
 * package (no .sql files to locate at run time). A migration, once released, never changes:
 * a new need is a new migration with the next version.
 *
 * Every table is prefixed `af_` so the schema can share a database with the host's own tables.
 * Instants are bigint milliseconds handed in by the caller; nothing reads the database's clock,
 * so virtual time in tests and simulations means the same thing here as in memory.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type FlowError, flowError } from '../../domain/errors.ts';
import type { SqlClient } from './client.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** One statement each: PGlite's parameterised protocol runs a single statement per call. */
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'flows, budgets, accounts, sessions',
    statements: [
      // flow_id sorts byte-wise ("C"), as the memory store's string comparison does, whatever
      // the database's default collation.
      `CREATE TABLE af_flows (
        flow_id text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL,
        envelope text NOT NULL,
        next_deadline bigint,
        pending_effects integer NOT NULL DEFAULT 0,
        finished boolean NOT NULL DEFAULT false,
        updated_at bigint NOT NULL
      )`,
      'CREATE INDEX af_flows_due ON af_flows (next_deadline, flow_id) WHERE next_deadline IS NOT NULL',
      'CREATE INDEX af_flows_pending ON af_flows (flow_id) WHERE pending_effects > 0',
      'CREATE INDEX af_flows_updated ON af_flows (updated_at)',
      'CREATE TABLE af_budgets (key text PRIMARY KEY, events text NOT NULL)',
      // One table for every "first answer wins" key; `result` is NULL only while the claiming
      // transaction is still open, and nobody else can see that row before it commits.
      `CREATE TABLE af_idempotency (
        scope text NOT NULL,
        key text NOT NULL,
        result text,
        PRIMARY KEY (scope, key)
      )`,
      `CREATE TABLE af_accounts (
        id text PRIMARY KEY,
        handle text NOT NULL,
        handle_key text NOT NULL CHECK (handle_key = lower(handle)),
        phone text,
        phone_verified_at bigint,
        email text,
        email_verified_at bigint,
        password_hash text NOT NULL,
        security_epoch integer NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
        created_at bigint NOT NULL,
        real_name text NOT NULL DEFAULT 'not_started',
        sensitive_hold_until bigint
      )`,
      'CREATE UNIQUE INDEX af_accounts_handle_key ON af_accounts (handle_key)',
      'CREATE UNIQUE INDEX af_accounts_phone ON af_accounts (phone)',
      'CREATE UNIQUE INDEX af_accounts_email ON af_accounts (email)',
      'CREATE SEQUENCE af_account_ids OWNED BY af_accounts.id',
      `CREATE TABLE af_friendships (
        account_id text NOT NULL REFERENCES af_accounts (id),
        friend_id text NOT NULL REFERENCES af_accounts (id),
        since bigint NOT NULL,
        seq bigserial NOT NULL,
        PRIMARY KEY (account_id, friend_id)
      )`,
      `CREATE TABLE af_sessions (
        id text PRIMARY KEY,
        seq bigserial NOT NULL,
        account_id text NOT NULL,
        epoch integer NOT NULL,
        created_at bigint NOT NULL,
        device text NOT NULL,
        place text NOT NULL,
        revoked_at bigint
      )`,
      'CREATE INDEX af_sessions_by_account ON af_sessions (account_id, seq)',
    ],
  },
  {
    version: 2,
    name: 'host keys, sent log',
    statements: [
      // Keys every instance must share (code derivation, session tokens) when the host gives none.
      'CREATE TABLE af_host_keys (name text PRIMARY KEY, key text NOT NULL)',
      // Which outbox keys a provider accepted, so a host that died before hearing back does not send twice.
      'CREATE TABLE af_sent_log (idempotency_key text PRIMARY KEY, provider_id text NOT NULL, recorded_at bigint NOT NULL)',
      'CREATE INDEX af_sent_log_recorded ON af_sent_log (recorded_at)',
    ],
  },
  {
    version: 3,
    name: 'idempotency retention',
    statements: [
      // The first sweep to see a record stamps it with the sweep's instant (see
      // sweepIdempotency): `once` is handed no instant, and the database's own clock is not read.
      'ALTER TABLE af_idempotency ADD COLUMN seen_at bigint',
      'CREATE INDEX af_idempotency_seen ON af_idempotency (seen_at)',
    ],
  },
];

/** The newest schema this code knows. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export interface MigrationReport {
  /** The schema version found (0 for an empty database). */
  readonly from: number;
  readonly to: number;
  /** Versions this call applied; empty when another instance (or an earlier start) did. */
  readonly applied: readonly number[];
}

/** Any fixed number will do; it only has to differ from the host's own advisory locks. */
const MIGRATION_LOCK = 0x61666d67; // "afmg"

/**
 * Brings the schema up to `LATEST_SCHEMA_VERSION`, all of it in one transaction.
 *
 * Safe when several instances start at once: the first takes a transaction-scoped advisory lock,
 * the others wait on it and then find nothing left to do. A database already at a newer schema
 * than this code knows is refused (`envelope_mismatch` on `af_schema_migrations`, changing
 * nothing): an older instance must not write rows whose meaning it no longer knows.
 */
export const migrate = (client: SqlClient): Promise<E.Either<FlowError, MigrationReport>> =>
  client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`CREATE TABLE IF NOT EXISTS af_schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const [row] = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM af_schema_migrations');
    const from = row?.version ?? 0;
    if (from > LATEST_SCHEMA_VERSION) {
      return E.left(
        flowError('envelope_mismatch', `The database is at schema v${from}; this code knows up to v${LATEST_SCHEMA_VERSION}. Upgrade account-flows before starting this instance.`, {
          field: 'af_schema_migrations',
        }),
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS.filter((m) => m.version > from)) {
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO af_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return E.right({ from, to: Math.max(from, LATEST_SCHEMA_VERSION), applied });
  });
