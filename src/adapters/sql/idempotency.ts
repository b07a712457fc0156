/**
 * "The first answer wins" across instances. A caller claims its key by inserting it inside the
 * transaction that does the work; a second caller with the same key waits on that insert (the
 * unique key makes it wait for the first transaction to end) and then reads the stored answer
 * instead of doing the work again. A rolled-back first attempt leaves no claim behind.
 */
import type { SqlQueryable } from './client.ts';

export type IdempotencyScope = 'directory' | 'sessions' | 'budgets';

/** How an answer is kept: by default as it is; an answer holding a secret keeps a reference. */
export interface StoredAs<T, S> {
  toStored(result: T): S;
  fromStored(stored: S, tx: SqlQueryable): Promise<T>;
}

const asItIs = <T>(): StoredAs<T, T> => ({ toStored: (result) => result, fromStored: async (stored) => stored });

/**
 * Runs `work` once per (scope, key) and stores its answer as JSON; later calls get that answer.
 * Must run inside a transaction, together with the writes `work` makes.
 */
export const once = async <T, S = T>(tx: SqlQueryable, scope: IdempotencyScope, key: string, work: () => Promise<T>, as: StoredAs<T, S> = asItIs<T>() as unknown as StoredAs<T, S>): Promise<T> => {
  const claimed = await tx.query('INSERT INTO af_idempotency (scope, key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING key', [scope, key]);
  if (claimed.length === 0) {
    const [earlier] = await tx.query<{ result: string | null }>('SELECT result FROM af_idempotency WHERE scope = $1 AND key = $2', [scope, key]);
    if (earlier?.result === null || earlier?.result === undefined) throw new Error(`idempotency key ${scope}/${key.slice(0, 64)} has no stored answer`);
    return as.fromStored(JSON.parse(earlier.result) as S, tx);
  }
  const result = await work();
  await tx.query('UPDATE af_idempotency SET result = $3 WHERE scope = $1 AND key = $2', [scope, key, JSON.stringify(as.toStored(result) ?? null)]);
  return result;
};
