/**
 * An enumeration prober, run as a pair: the same script against a bound and an unbound
 * identifier, side by side at the same virtual times. What the two flows show must be the same
 * until a code is verified (the typed identifier and the random flow id aside).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { StepResult } from '../../src/runtime/runtime.ts';
import type { InvariantBook } from '../invariants.ts';
import type { Driver, Sim } from '../sim.ts';
import { guess, SECOND } from './common.ts';

const observable = (result: StepResult): unknown => {
  if (E.isLeft(result)) return { error: result.left.code, field: result.left.field ?? null, retryAfterMs: result.left.retryAfterMs ?? null };
  const { channel: _channel, ...view } = result.right.view as Record<string, unknown>;
  // Pending effects are the host's bookkeeping (a provider that failed); a client never sees them.
  return { view, nextDeadline: result.right.nextDeadline };
};

export const spawnProberPair = (sim: Sim, at: number, method: 'sms' | 'email', book: InvariantBook): [Driver, Driver] => {
  const machine = method === 'sms' ? 'smsRecovery' : 'emailRecovery';
  const known = sim.driver(machine, 'prober-known');
  const unknown = sim.driver(machine, 'prober-unknown');
  known.notes['noFaults'] = true;
  unknown.notes['noFaults'] = true;
  const slot = sim.population.pairs[sim.pairsUsed++];
  if (slot === undefined) throw new Error('no pair slots in this world');
  const channels = method === 'sms' ? [slot.person.phone, slot.unknownPhone] : [slot.person.email as string, slot.unknownEmail];
  const both = async (act: (d: Driver) => Promise<StepResult>): Promise<void> => {
    const a = await act(known);
    const b = await act(unknown);
    book.check('enumeration-pairs', JSON.stringify(observable(a)) === JSON.stringify(observable(b)), unknown, () => `views differ: ${JSON.stringify(observable(a))} vs ${JSON.stringify(observable(b))}`);
  };
  let steps = known.rng.int(3, 12);
  const step = async (): Promise<void> => {
    if (known.done || unknown.done || steps-- <= 0) return;
    const roll = known.rng.int(0, 9);
    const code = guess(known);
    if (roll < 6) await both((d) => d.send({ type: 'code.submit', code }, 'guess'));
    else if (roll < 9) await both((d) => d.send({ type: 'code.resend' }));
    else await both((d) => d.send({ type: 'support.request' }));
    known.later(known.rng.int(1, 120) * SECOND, step);
  };
  sim.queue.push(at, known.ordinal, async () => {
    await known.start();
    await unknown.start();
    await both((d) => d.send({ type: 'channel.submit', channel: d === known ? channels[0] : channels[1] }));
    known.later(known.rng.int(1, 60) * SECOND, step);
  });
  return [known, unknown];
};
