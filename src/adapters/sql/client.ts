/**
 * The little the SQL adapters need from a database: run one parameterised statement, and run
 * several in one transaction. PGlite and node-postgres both implement it over the same SQL text,
 * so every statement the adapters issue is tested against both.
 */

/** Something statements run on: the client itself, or the transaction handed to `transaction`. */
export interface SqlQueryable {
  /** Runs one statement with `$1…` parameters and returns its rows (`RETURNING` rows for writes). */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<readonly T[]>;
}

export interface SqlClient extends SqlQueryable {
  /**
   * Runs `work` inside BEGIN…COMMIT on one connection; a rejection rolls everything back. Only
   * `tx` may be used inside: the client itself may be busy with this very transaction.
   */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Releases what the client opened itself (a pool it created, an embedded database). */
  close(): Promise<void>;
}

/** PostgreSQL's SQLSTATE for a unique-index violation, as both drivers report it in `code`. */
export const UNIQUE_VIOLATION = '23505';

export const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION;

/**
 * Runs one statement that may hit a unique index, inside a savepoint, so the violation undoes
 * only that statement and the surrounding transaction (with its idempotency claim) goes on.
 */
export const unlessUniqueViolation = async <T>(tx: SqlQueryable, statement: () => Promise<T>): Promise<T | 'unique_violation'> => {
  await tx.query('SAVEPOINT af_unique');
  try {
    const result = await statement();
    await tx.query('RELEASE SAVEPOINT af_unique');
    return result;
  } catch (error) {
    await tx.query('ROLLBACK TO SAVEPOINT af_unique');
    if (isUniqueViolation(error)) return 'unique_violation';
    throw error;
  }
};

/**
 * int8 arrives as a string from node-postgres and as a number or bigint from PGlite; every
 * instant and count the adapters store is far inside Number's exact range.
 */
export const toNumber = (value: unknown): number => {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number from the database, got ${typeof value}`);
};

export const toNullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : toNumber(value));
