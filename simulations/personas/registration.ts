/**
 * People signing up (seed 002): honest ones at their own pace, the forgetful whose code expires
 * under them, the impatient hammering "resend", guessers, people with blocked, foreign or
 * already registered numbers, and people who walk away.
 */
import type { Driver, Sim } from '../sim.ts';
import { abandon, guess, MINUTE, PATIENT, SECOND, whenCodeArrives } from './common.ts';

export const REGISTRATION_PERSONAS = ['fast', 'slow', 'forgetful', 'impatient', 'guesser', 'blocked', 'foreign', 'taken', 'walkaway'] as const;
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
      case 'walkaway':
        return abandon();
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
