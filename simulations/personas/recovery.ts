/**
 * People recovering a password through a bound channel (seeds 000 and 001): honest ones fast or
 * slow, the forgetful, the impatient, people with a second factor (and attackers without it),
 * guessers, people whose number or account is gone, people who switch to e-mail, and people
 * who try another flow's code.
 */
import { totpAt } from '../../src/domain/hotp.ts';
import type { Person } from '../population.ts';
import type { Driver, Sim } from '../sim.ts';
import { abandon, guess, leaveReview, MINUTE, PATIENT, resendThroughOutage, SECOND, whenCodeArrives } from './common.ts';

export const RECOVERY_PERSONAS = ['honest', 'slow', 'forgetful', 'impatient', 'guesser', 'secondFactorThief', 'crossFlow', 'switcher', 'numberGone', 'unknown', 'deactivatedMeanwhile', 'supportAtOnce', 'canceller', 'outage', 'lockout', 'linkDeactivated', 'linkGuesser', 'linkIdle'] as const;
export type RecoveryPersona = (typeof RECOVERY_PERSONAS)[number];

/** The second factor, then a new password, then the security review. */
const afterChallenge = async (driver: Driver, person: Person, thief: boolean): Promise<void> => {
  if (driver.state === 'secondFactor') {
    if (thief || person.totpSecret === null) {
      for (let i = 0; i < 6 && driver.state === 'secondFactor'; i++) await driver.send({ type: 'secondFactor.submit', code: guess(driver) }, 'guess');
      return;
    }
    if (driver.rng.chance(0.2)) await driver.send({ type: 'secondFactor.submit', code: guess(driver) }, 'guess');
    await driver.send({ type: 'secondFactor.submit', code: totpAt(person.totpSecret, driver.sim.world.clock.now()) }, 'real');
  }
  if (driver.state !== 'hardening.choosingPassword') return;
  // People often try their old password first; the flow refuses it.
  if (driver.rng.chance(0.3)) await driver.send({ type: 'password.submit', password: person.password });
  const password = `recovered passphrase ${driver.ordinal} ${driver.rng.digits(4)}`;
  driver.notes['passwords'] = [password];
  await driver.send({ type: 'password.submit', password });
  if ((driver.state as string) === 'hardening.reviewingSecurity') {
    const logins = (driver.last?.view['recentLogins'] as { sessionId: string }[] | undefined) ?? [];
    const stranger = logins[0];
    if (stranger !== undefined && driver.rng.chance(0.3)) await driver.send({ type: 'session.revoke', sessionId: stranger.sessionId });
    await leaveReview(driver, (event) => driver.send(event));
  }
};

export const spawnChannelRecovery = (sim: Sim, at: number, method: 'sms' | 'email', persona: RecoveryPersona, fixedChannel?: string): Driver => {
  const driver = sim.driver(method === 'sms' ? 'smsRecovery' : 'emailRecovery', persona);
  const { population } = sim;
  const candidates = method === 'email' ? population.people.filter((p) => p.email !== null) : population.people;
  const person = driver.rng.pick(candidates.length > 0 ? candidates : population.people);
  const channel =
    fixedChannel !== undefined
      ? fixedChannel
      : persona === 'unknown'
      ? method === 'sms'
        ? driver.rng.pick(population.unknownPhones)
        : driver.rng.pick(population.unknownEmails)
      : method === 'sms'
        ? person.phone
        : (person.email ?? person.phone);
  driver.notes['person'] = person.id;
  sim.queue.push(at, driver.ordinal, async () => {
    await driver.start();
    if (persona === 'numberGone' && method === 'sms' && driver.rng.chance(0.4)) {
      await driver.send({ type: 'number.deactivated' });
      return;
    }
    if (persona === 'supportAtOnce' && fixedChannel === undefined) {
      await driver.send({ type: 'support.request' });
      return;
    }
    await driver.send({ type: 'channel.submit', channel });
    if (fixedChannel !== undefined) {
      driver.later(SECOND, async () => void (await driver.send({ type: 'support.request' })));
      return;
    }
    // The operator closes the account while the person is recovering it.
    const closeEarly = persona === 'linkDeactivated' && driver.rng.chance(0.5);
    if (persona === 'deactivatedMeanwhile' || closeEarly) sim.world.directory.deactivate(person.id);
    if (persona === 'numberGone') {
      // The FAQ: no SMS comes because the number is gone; sometimes noticed only after the code expired.
      driver.later(driver.rng.chance(0.5) ? driver.rng.int(30, 300) * SECOND : driver.rng.int(11, 30) * MINUTE, async () => void (await driver.send({ type: 'number.deactivated' })));
      return;
    }
    if (persona === 'outage') {
      const refuse = driver.rng.chance(0.5);
      driver.notes['refuse'] = refuse;
      if (method === 'sms') resendThroughOutage(driver, (e) => driver.send(e), refuse);
      else
        resendThroughOutage(driver, (e) => driver.send(e), refuse, {
          outageMs: 65 * MINUTE,
          // Another recovery to the same address sends just before the host is back: the
          // delayed send then meets the per-address cooldown.
          beforeComeback: (comebackAt) => {
            if (refuse) spawnChannelRecovery(sim, comebackAt - 30 * SECOND, 'email', 'supportAtOnce', channel);
          },
        });
      return;
    }
    if (persona === 'lockout') {
      let tries = 0;
      const attempt = async (): Promise<void> => {
        if (driver.done || tries > 12) return;
        if (tries++ === 5) {
          const wait = Math.max(0, ((driver.last?.view['resendAllowedAt'] as number | null) ?? 0) - sim.world.clock.now());
          driver.later(wait, async () => {
            await driver.send({ type: 'code.resend' });
            driver.later(SECOND, attempt);
          });
          return;
        }
        const r = await driver.send({ type: 'code.submit', code: guess(driver) }, 'guess');
        if (r._tag === 'Right') driver.later(driver.rng.int(1, 5) * SECOND, attempt);
      };
      driver.later(2 * SECOND, attempt);
      return;
    }
    if (method === 'email' && (persona === 'linkDeactivated' || persona === 'linkGuesser' || persona === 'linkIdle')) {
      driver.later(driver.rng.int(1, 5) * MINUTE, async () => {
        const token = [...driver.seen()].reverse().find((d) => d.token !== null)?.token ?? null;
        if (token === null) return;
        const wrongToken = () => `${token.slice(0, 20)}${driver.rng.digits(2)}`;
        if (persona === 'linkGuesser') {
          // Nine wrong links across two e-mails, then the real one opened and a wrong confirm:
          // the flow's tenth wrong try locks it even on an opened link.
          for (let i = 0; i < 5; i++) await driver.send({ type: 'link.open', token: wrongToken() }, 'guess');
          const wait = Math.max(0, ((driver.last?.view['resendAllowedAt'] as number | null) ?? 0) - sim.world.clock.now());
          driver.later(wait, async () => {
            await driver.send({ type: 'code.resend' });
            const fresh = [...driver.seen()].reverse().find((d) => d.token !== null)?.token ?? token;
            for (let i = 0; i < 4; i++) await driver.send({ type: 'link.open', token: wrongToken() }, 'guess');
            await driver.send({ type: 'link.open', token: fresh }, 'real');
            await driver.send({ type: 'link.confirm', token: wrongToken() }, 'guess');
          });
          return;
        }
        await driver.send({ type: 'link.open', token }, 'real');
        if (persona === 'linkIdle') {
          // Back after both the code and the link expired, with the code from the e-mail.
          driver.later(61 * MINUTE, async () => void (await driver.send({ type: 'code.submit', code: driver.latestCode() ?? '000000' }, 'stale')));
          return;
        }
        if (!closeEarly) {
          await driver.send({ type: 'link.confirm', token: wrongToken() }, 'guess');
          sim.world.directory.deactivate(person.id);
        }
        await driver.send({ type: 'link.confirm', token }, 'real');
      });
      return;
    }
    // An operator closes the account right after the link was opened (email) — judged at confirm.
    if (persona === 'linkDeactivated') return;
    if (persona === 'canceller') {
      driver.later(driver.rng.int(5, 120) * SECOND, async () => void (await driver.send({ type: 'flow.cancel' })));
      return;
    }
    const thief = persona === 'secondFactorThief';
    const useCode = async (code: string): Promise<void> => {
      await driver.send({ type: 'code.submit', code }, 'real');
      await afterChallenge(driver, person, thief);
    };
    const patience = persona === 'slow' ? { ...PATIENT, lookEvery: [1 * MINUTE, 8 * MINUTE] as const, giveUpAfter: 25 * MINUTE } : PATIENT;
    switch (persona) {
      case 'guesser':
      case 'unknown': {
        const attempt = async (): Promise<void> => {
          if (driver.done) return;
          const r = await driver.send({ type: 'code.submit', code: guess(driver) }, 'guess');
          if (r._tag === 'Right' && !r.right.view.done && driver.rng.chance(0.85)) driver.later(driver.rng.int(1, 20) * SECOND, attempt);
        };
        driver.later(3 * SECOND, attempt);
        return;
      }
      case 'crossFlow': {
        // Somebody else's code, from any delivery in this world: it must never work here.
        driver.later(20 * SECOND, async () => {
          const others = sim.messenger.deliveries.filter((d) => d.code !== null && d.flowId !== driver.flowId);
          const foreign = others.length > 0 ? driver.rng.pick(others).code : null;
          if (foreign !== null) await driver.send({ type: 'code.submit', code: foreign }, 'foreign');
        });
        return;
      }
      case 'switcher':
        driver.later(driver.rng.chance(0.5) ? driver.rng.int(30, 120) * SECOND : driver.rng.int(11, 20) * MINUTE, async () => {
          if (!driver.done && method === 'sms') await driver.send({ type: 'switch.toEmail' });
        });
        return;
      case 'forgetful':
        driver.later(driver.rng.int(11, 30) * MINUTE, async () => {
          const code = driver.latestCode();
          if (code !== null) await driver.send({ type: 'code.submit', code }, 'stale');
          await driver.send({ type: 'code.resend' });
          whenCodeArrives(driver, PATIENT, useCode, abandon);
        });
        return;
      case 'impatient': {
        let presses = driver.rng.int(2, 5);
        const press = async (): Promise<void> => {
          await driver.send({ type: 'code.resend' });
          if (--presses > 0) driver.later(driver.rng.int(5, 30) * SECOND, press);
          else whenCodeArrives(driver, PATIENT, useCode, abandon);
        };
        driver.later(driver.rng.int(3, 10) * SECOND, press);
        return;
      }
      default:
        if (method === 'email' && persona === 'honest' && driver.rng.chance(0.6)) {
          // The e-mail link: a mail scanner opens it first, then the person confirms it.
          driver.later(driver.rng.int(1, 9) * MINUTE, async () => {
            const token = [...driver.seen()].reverse().find((d) => d.token !== null)?.token ?? null;
            if (token === null) return whenCodeArrives(driver, PATIENT, useCode, async () => support(driver));
            await driver.send({ type: 'link.open', token }, 'real');
            await driver.send({ type: 'link.confirm', token }, 'real');
            await afterChallenge(driver, person, false);
          });
          return;
        }
        whenCodeArrives(driver, patience, useCode, async () => support(driver));
    }
  });
  return driver;
};

/** The FAQ's last step when nothing arrives: go to customer support. */
const support = async (driver: Driver): Promise<void> => {
  if (!driver.done) await driver.send({ type: 'support.request' });
};

/**
 * One person, two recoveries at once (SMS and e-mail): whichever sets its password first wins;
 * the other is refused, because the security epoch moved under it.
 */
export const spawnDoubleRecovery = (sim: Sim, at: number): [Driver, Driver] => {
  const sms = sim.driver('smsRecovery', 'double-sms');
  const email = sim.driver('emailRecovery', 'double-email');
  const withEmail = sim.population.people.filter((p) => p.email !== null && !p.deactivated && p.totpSecret === null);
  const person = sms.rng.pick(withEmail.length > 0 ? withEmail : sim.population.people);
  sms.notes['person'] = person.id;
  email.notes['person'] = person.id;
  const password = (d: Driver) => {
    const p = `double passphrase ${d.ordinal}`;
    d.notes['passwords'] = [p];
    return p;
  };
  sim.queue.push(at, sms.ordinal, async () => {
    await sms.start();
    await email.start();
    await sms.send({ type: 'channel.submit', channel: person.phone });
    await email.send({ type: 'channel.submit', channel: person.email ?? person.phone });
    sms.later(30 * SECOND, async () => {
      await sms.send({ type: 'code.submit', code: sms.latestCode() ?? '000000' }, 'real');
      await email.send({ type: 'code.submit', code: email.latestCode() ?? '000000' }, 'real');
      const [first, second] = sms.rng.chance(0.5) ? [sms, email] : [email, sms];
      await first.send({ type: 'password.submit', password: password(first) });
      await second.send({ type: 'password.submit', password: password(second) });
      if ((first.state as string) === 'hardening.reviewingSecurity') await first.send({ type: 'security.done' });
    });
  });
  return [sms, email];
};
