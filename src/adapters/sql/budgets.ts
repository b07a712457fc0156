/**
 * Budgets shared by every instance over one database. The rule itself is the domain's `decide`;
 * this file only makes read-decide-write atomic across processes: the budget's row is locked
 * (`FOR UPDATE`) for the length of the transaction, so of two instances racing for the last
 * unit the second reads the first one's spend and is refused.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type BudgetDecision, BudgetState, decide, EMPTY_BUDGET, withoutSpend } from '../../domain/budget.ts';
import type { RateRule } from '../../domain/policy.ts';
import type { Instant } from '../../domain/time.ts';
import type { Budgets } from '../../ports/budgets.ts';
import type { SqlClient, SqlQueryable } from './client.ts';
import { once, type StoredAs } from './idempotency.ts';

export class SqlBudgets implements Budgets {
  readonly #client: SqlClient;

  constructor(client: SqlClient) {
    this.#client = client;
  }

  consume(key: string, rule: RateRule, now: Instant, idempotencyKey?: string): Promise<BudgetDecision> {
    return this.#client.transaction((tx) =>
      idempotencyKey === undefined ? spend(tx, key, rule, now) : once(tx, 'budgets', idempotencyKey, () => spend(tx, key, rule, now), onBudget(key)),
    );
  }

  release(key: string, idempotencyKey: string): Promise<void> {
    return this.#client.transaction(async (tx) => {
      // Locks the claim, then the budget: the order `consume` takes them in, so the two never deadlock.
      const [claim] = await tx.query<{ result: string | null }>('SELECT result FROM af_idempotency WHERE scope = $1 AND key = $2 FOR UPDATE', ['budgets', idempotencyKey]);
      const spent = claim?.result === null || claim?.result === undefined ? undefined : spentUnit(claim.result);
      // A claim from before budgets were named in it can only be released by the caller's word.
      if (spent === undefined || (spent.budgetKey !== undefined && spent.budgetKey !== key)) return;
      await tx.query('DELETE FROM af_idempotency WHERE scope = $1 AND key = $2', ['budgets', idempotencyKey]);
      const [row] = await tx.query<{ events: string }>('SELECT events FROM af_budgets WHERE key = $1 FOR UPDATE', [key]);
      if (row === undefined) return;
      const log = parseState(key, row.events);
      const next = withoutSpend(log, spent.next);
      if (next !== log) await tx.query('UPDATE af_budgets SET events = $2 WHERE key = $1', [key, JSON.stringify(next)]);
    });
  }

  async peek(key: string, rule: RateRule, now: Instant): Promise<BudgetDecision> {
    const [row] = await this.#client.query<{ events: string }>('SELECT events FROM af_budgets WHERE key = $1', [key]);
    return decide(row === undefined ? EMPTY_BUDGET : parseState(key, row.events), rule, now);
  }

  /** Every instant at which a unit of `key` was spent and is still remembered (invariant checks). */
  async spent(key: string): Promise<readonly number[]> {
    const [row] = await this.#client.query<{ events: string }>('SELECT events FROM af_budgets WHERE key = $1', [key]);
    return row === undefined ? [] : parseState(key, row.events).events;
  }
}

/** A keyed decision is stored with the budget it was made on, so only that budget can release it. */
type StoredDecision = BudgetDecision & { readonly budgetKey?: string };

const onBudget = (key: string): StoredAs<BudgetDecision, StoredDecision> => ({
  toStored: (decision) => ({ ...decision, budgetKey: key }),
  fromStored: async ({ budgetKey: _budgetKey, ...decision }) => decision as BudgetDecision,
});

/** An allowed decision as stored: the unit it spent is the last instant of `next`. */
const SpentUnit = t.intersection([t.type({ allowed: t.literal(true), next: BudgetState }), t.partial({ budgetKey: t.string })]);

const spentUnit = (text: string): t.TypeOf<typeof SpentUnit> | undefined => decodeJson(SpentUnit, text);

/** A stored JSON text through its codec; undefined when it is not JSON or not that shape. */
const decodeJson = <A>(codec: t.Decoder<unknown, A>, text: string): A | undefined => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const decoded = codec.decode(json);
  return E.isRight(decoded) ? decoded.right : undefined;
};

const spend = async (tx: SqlQueryable, key: string, rule: RateRule, now: Instant): Promise<BudgetDecision> => {
  // The row must exist before it can be locked; of two first spenders, the second waits on the
  // first one's insert and then locks the row it committed.
  await tx.query(`INSERT INTO af_budgets (key, events) VALUES ($1, '{"events":[]}') ON CONFLICT DO NOTHING`, [key]);
  const [row] = await tx.query<{ events: string }>('SELECT events FROM af_budgets WHERE key = $1 FOR UPDATE', [key]);
  const decision = decide(row === undefined ? EMPTY_BUDGET : parseState(key, row.events), rule, now);
  if (decision.allowed) await tx.query('UPDATE af_budgets SET events = $2 WHERE key = $1', [key, JSON.stringify(decision.next)]);
  return decision;
};

const parseState = (key: string, text: string): BudgetState => {
  const state = decodeJson(BudgetState, text);
  // Refusing loudly is right here: a budget we cannot read must not be treated as empty.
  if (state === undefined) throw new Error(`budget ${key.slice(0, 64)} holds an unreadable log`);
  return state;
};
