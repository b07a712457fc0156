/**
 * Signed-in people binding or changing a phone or e-mail: adding a missing e-mail (as the
 * hardening after a recovery offers), changing the phone, trying the current value, trying an
 * address another account holds, losing the session half-way, guessing, and walking away.
 */
import type { AccountId } from '../../src/domain/account.ts';
import type { HostSession } from '../../src/runtime/runtime.ts';
import type { Driver, Sim } from '../sim.ts';
import { abandon, guess, MINUTE, PATIENT, resendThroughOutage, SECOND, whenCodeArrives } from './common.ts';

export const BINDING_PERSONAS = ['addEmail', 'changePhone', 'sameValue', 'taken', 'sessionEnds', 'sessionEndsEarly', 'idleAtStart', 'guesser', 'slow', 'walkaway', 'canceller', 'outage', 'hammer', 'epochMovesWhileApplying', 'lastMinute'] as const;
export type BindingPersona = (typeof BINDING_PERSONAS)[number];

export const spawnBinding = (sim: Sim, at: number, persona: BindingPersona, ordinal: number): Driver => {
  const driver = sim.driver('binding', persona);
  const active = sim.population.people.filter((p) => !p.deactivated);
  const person = driver.rng.pick(active.length > 0 ? active : sim.population.people);
  const others = sim.population.people.filter((p) => p.email !== null && p.id !== person.id);
  sim.queue.push(at, driver.ordinal, async () => {
    const account = await sim.world.directory.get(person.id as AccountId);
    if (account === undefined || account.status !== 'active') return;
    const signedIn = sim.world.sessions.signIn(person.id, account.securityEpoch, sim.world.clock.now(), 'Browser', 'Shanghai');
    const session: HostSession = { actor: person.id, sessionId: signedIn.id };
    const send = (event: Record<string, unknown> & { type: string }, tag: Parameters<Driver['send']>[1] = 'none') => driver.send(event, tag, session);
    const started = await driver.start({}, session);
    if (started._tag === 'Left') return;
    if (persona === 'idleAtStart') return abandon();
    if (persona === 'sessionEndsEarly') {
      await sim.world.sessions.revoke(signedIn.id, sim.world.clock.now());
      await send({ type: 'channel.submit', kind: 'email', value: `late${sim.options.shard}x${ordinal}@example.net` });
      return;
    }
    const channel =
      persona === 'changePhone' || persona === 'guesser' || persona === 'slow' || persona === 'outage' || persona === 'hammer'
        ? { kind: 'phone', value: driver.rng.pick(sim.population.freshPhones) }
        : persona === 'sameValue'
          ? { kind: 'phone', value: person.phone }
          : persona === 'taken' && others.length > 0
            ? { kind: 'email', value: (driver.rng.pick(others).email as string).toUpperCase() }
            : { kind: 'email', value: `bound${sim.options.shard}x${ordinal}@example.net` };
    const submitted = await send({ type: 'channel.submit', ...channel });
    if (submitted._tag === 'Left') {
      await send({ type: 'flow.cancel' });
      return;
    }
    const useCode = async (code: string): Promise<void> => void (await send({ type: 'code.submit', code }, 'real'));
    switch (persona) {
      case 'walkaway':
        return abandon();
      case 'outage':
        resendThroughOutage(driver, send, driver.rng.chance(0.5));
        return;
      case 'hammer': {
        // Resends too early, then past the hourly budget (the code dies, the flow says when to
        // try again), then again too early: every refusal is shown with its real wait.
        const gaps = [10, 51, 61, 61, 61, 61, 61, 1_000];
        const press = async (): Promise<void> => {
          const gap = gaps.shift();
          if (driver.done || gap === undefined) return;
          await send({ type: 'code.resend' });
          driver.later(gap * SECOND, press);
        };
        driver.later(5 * SECOND, press);
        return;
      }
      case 'canceller':
        driver.later(driver.rng.chance(0.7) ? driver.rng.int(5, 60) * SECOND : driver.rng.int(11, 20) * MINUTE, async () => void (await send({ type: 'flow.cancel' })));
        return;
      case 'lastMinute': {
        // Back just before the flow's lifetime ends, asking for a new code: the code would outlive
        // the flow, and the flow still ends at its own deadline.
        const expiresAt = driver.startedAt + sim.world.policy.flowMaxLifetimeMs;
        driver.later(expiresAt - 5 * MINUTE - sim.world.clock.now(), async () => void (await send({ type: 'code.resend' })));
        return;
      }
      case 'epochMovesWhileApplying':
        // The code is redeemed, the host dies before writing the change, and while it is down a
        // recovery elsewhere moves the account to a new epoch: the delayed write is refused.
        whenCodeArrives(driver, PATIENT, async (code) => {
          if (driver.flowId !== null) sim.store.crashNext.add(driver.flowId);
          driver.notes['outage'] = 10 * MINUTE;
          await send({ type: 'code.submit', code }, 'real');
          driver.later(MINUTE, async () => sim.world.directory.bumpEpoch(person.id));
        }, abandon);
        return;
      case 'sessionEnds':
        driver.later(driver.rng.chance(0.5) ? driver.rng.int(5, 60) * SECOND : driver.rng.int(11, 20) * MINUTE, async () => {
          await sim.world.sessions.revoke(signedIn.id, sim.world.clock.now());
          await send({ type: 'code.submit', code: driver.latestCode() ?? '000000' }, 'real');
        });
        return;
      case 'guesser': {
        let tries = 0;
        const attempt = async (): Promise<void> => {
          if (driver.done || tries > 12) return;
          if (tries++ === 5) {
            const wait = Math.max(0, ((driver.last?.view['resendAllowedAt'] as number | null) ?? 0) - sim.world.clock.now());
            driver.later(wait, async () => {
              await send({ type: 'code.resend' });
              driver.later(SECOND, attempt);
            });
            return;
          }
          const r = await send({ type: 'code.submit', code: guess(driver) }, 'guess');
          if (r._tag === 'Right') driver.later(driver.rng.int(1, 5) * SECOND, attempt);
        };
        driver.later(2 * SECOND, attempt);
        return;
      }
      case 'slow':
        driver.later(driver.rng.int(11, 20) * MINUTE, async () => {
          await send({ type: 'code.submit', code: driver.latestCode() ?? '000000' }, 'stale');
          await send({ type: 'code.resend' });
          whenCodeArrives(driver, PATIENT, useCode, abandon);
        });
        return;
      default:
        whenCodeArrives(driver, PATIENT, useCode, abandon);
    }
  });
  return driver;
};
