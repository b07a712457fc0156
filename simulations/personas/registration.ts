/**
 * People signing up (seed 002): honest ones at their own pace, the forgetful whose code expires
 * under them, the impatient hammering "resend", guessers, people with blocked, foreign or
 * already registered numbers, and people who walk away.
 */
import type { Driver, Sim } from '../sim.ts';
import { abandon, guess, MINUTE, PATIENT, resendThroughOutage, SECOND, whenCodeArrives } from './common.ts';

export const REGISTRATION_PERSONAS = ['fast', 'slow', 'forgetful', 'impatient', 'guesser', 'lockout', 'outage', 'blocked', 'foreign', 'taken', 'walkaway', 'twins'] as const;
export type RegistrationPersona = (typeof REGISTRATION_PERSONAS)[number];

const finish = async (driver: Driver, ordinal: number): Promise<void> => {
  // One in five first tries a handle somebody already has.
  const taken = driver.rng.chance(0.2) ? driver.rng.pick(driver.sim.population.people).handle : null;
  if (taken !== null) await driver.send({ type: 'handle.submit', handle: taken.toUpperCase() });
  await driver.send({ type: 'handle.submit', handle: `new_${driver.sim.options.shard}_${ordinal}` });
  if (driver.rng.chance(0.2)) await driver.send({ type: 'password.submit', password: 'password123' });
  const password = `a fresh passphrase ${ordinal} ${driver.rng.digits(4)}`;
  driver.notes['passwords'] = [password];
  await driver.send({ type: 'password.submit', password });
};

export const spawnRegistration = (sim: Sim, at: number, persona: RegistrationPersona, ordinal: number): Driver => {
  const driver = sim.driver('registration', persona);
  const { population } = sim;
  const phone =
    persona === 'blocked'
      ? driver.rng.pick(population.blockedPhones)
      : persona === 'foreign'
        ? driver.rng.pick(population.foreignPhones)
        : persona === 'taken'
          ? driver.rng.pick(population.people).phone
          : driver.rng.pick(population.freshPhones);
  sim.queue.push(at, driver.ordinal, async () => {
    await driver.start();
    const entered = await driver.send({ type: 'phone.submit', phone });
    if (entered._tag === 'Left') {
      if (driver.rng.chance(0.5)) await driver.send({ type: 'flow.cancel' });
      return;
    }
    const patience = persona === 'slow' ? { ...PATIENT, lookEvery: [2 * MINUTE, 9 * MINUTE] as const, giveUpAfter: 30 * MINUTE } : PATIENT;
    switch (persona) {
      case 'guesser': {
        let budget = driver.rng.int(3, 15);
        const attempt = async (): Promise<void> => {
          if (driver.done) return;
          const r = await driver.send({ type: 'code.submit', code: guess(driver) }, 'guess');
          if (r._tag === 'Right' && !r.right.view.done && --budget > 0) driver.later(driver.rng.int(1, 10) * SECOND, attempt);
        };
        driver.later(2 * SECOND, attempt);
        return;
      }
      case 'outage':
        resendThroughOutage(driver, (e) => driver.send(e), driver.rng.chance(0.5));
        return;
      case 'walkaway':
        if (driver.rng.chance(0.4)) driver.later(driver.rng.int(10, 300) * SECOND, async () => void (await driver.send({ type: 'flow.cancel' })));
        return abandon();
      case 'lockout': {
        // Five wrong codes, a new code, five more: the flow locks, with a retry-after.
        let tries = 0;
        const attempt = async (): Promise<void> => {
          if (driver.done || tries > 12) return;
          if (tries === 5) {
            const wait = Math.max(0, ((driver.last?.view['resendAllowedAt'] as number | null) ?? 0) - driver.sim.world.clock.now());
            tries++;
            driver.later(wait, async () => {
              await driver.send({ type: 'code.resend' });
              driver.later(SECOND, attempt);
            });
            return;
          }
          tries++;
          const r = await driver.send({ type: 'code.submit', code: guess(driver) }, 'guess');
          if (r._tag === 'Right') driver.later(driver.rng.int(1, 5) * SECOND, attempt);
        };
        driver.later(2 * SECOND, attempt);
        return;
      }
      case 'forgetful':
        driver.later(driver.rng.int(11, 20) * MINUTE, async () => {
          const code = driver.latestCode();
          if (code !== null) await driver.send({ type: 'code.submit', code }, 'stale');
          await driver.send({ type: 'code.resend' });
          whenCodeArrives(driver, PATIENT, async (fresh) => {
            await driver.send({ type: 'code.submit', code: fresh }, 'real');
            if (driver.state === 'choosingHandle') await finish(driver, ordinal);
          }, abandon);
        });
        return;
      case 'impatient': {
        let presses = driver.rng.int(2, 6);
        const press = async (): Promise<void> => {
          await driver.send({ type: 'code.resend' });
          if (--presses > 0) driver.later(driver.rng.int(5, 30) * SECOND, press);
          else whenCodeArrives(driver, PATIENT, async (code) => {
            await driver.send({ type: 'code.submit', code }, 'real');
            if (driver.state === 'choosingHandle') await finish(driver, ordinal);
          }, abandon);
        };
        driver.later(driver.rng.int(3, 10) * SECOND, press);
        return;
      }
      default:
        whenCodeArrives(driver, patience, async (code) => {
          if (driver.rng.chance(0.1)) await driver.send({ type: 'code.submit', code: guess(driver) }, 'guess');
          await driver.send({ type: 'code.submit', code }, 'real');
          if (driver.state === 'choosingHandle') await finish(driver, ordinal);
        }, abandon);
    }
  });
  return driver;
};

/**
 * Two people racing for one handle (and sometimes one number): both pass the handle check,
 * only one account can be created; the other is sent back to choose again, or told the
 * number already has an account.
 */
export const spawnTwins = (sim: Sim, at: number, ordinal: number): [Driver, Driver] => {
  const first = sim.driver('registration', 'twin-first');
  const second = sim.driver('registration', 'twin-second');
  const handle = `twin_${sim.options.shard}_${ordinal}`;
  const phoneA = first.rng.pick(sim.population.freshPhones);
  const samePhone = first.rng.chance(0.5);
  const phoneB = samePhone ? phoneA : second.rng.pick(sim.population.freshPhones);
  const password = `twin passphrase ${ordinal}`;
  first.notes['passwords'] = [password];
  second.notes['passwords'] = [password];
  const codeOf = (d: Driver) => d.latestCode() ?? '000000';
  sim.queue.push(at, first.ordinal, async () => {
    await first.start();
    await first.send({ type: 'phone.submit', phone: phoneA });
    // The same number may be sent a code only after its cooldown.
    first.later(61 * SECOND, async () => {
      await second.start();
      await second.send({ type: 'phone.submit', phone: phoneB });
      second.later(5 * SECOND, async () => {
        await first.send({ type: 'code.submit', code: codeOf(first) }, 'real');
        await second.send({ type: 'code.submit', code: codeOf(second) }, 'real');
        await first.send({ type: 'handle.submit', handle });
        await second.send({ type: 'handle.submit', handle: handle.toUpperCase() });
        await first.send({ type: 'password.submit', password });
        await second.send({ type: 'password.submit', password });
        if (second.state === 'choosingHandle') {
          await second.send({ type: 'handle.submit', handle: `${handle}_b` });
          await second.send({ type: 'password.submit', password });
        }
      });
    });
  });
  return [first, second];
};
