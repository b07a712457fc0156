/**
 * Manual review by customer support (seed 001's last resort): a person who lost their phone names
 * the account and tells support what they remember; an agent, from a signed-in agent session,
 * approves (sometimes resetting the second factor), rejects, asks for more (the person answers or
 * not), or never acts. An approval opens a dispute window in which the owner can stop it from a
 * live session of the account; after it the person sets a password and must bind a phone or
 * e-mail they can reach, with a code that arrives through the messenger like any other.
 *
 * Around them: impostors naming somebody else's account, unknown accounts, people who walk away
 * or withdraw, who hammer "resend", guess codes, bind a number another account holds, and an
 * operator who closes the account while the recovery is under way.
 *
 * And the lingering: support and the person each act just before their deadline, every round the
 * policy allows, or the person resends the binding code just before it lapses, week after week.
 * The case's lifetime (`flowMaxLifetimeMs`) is what ends them: support times out, an approval too
 * late for its dispute window expires, the binding lapses — all at the end, not after it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { DAY, HOUR } from '../../src/domain/time.ts';
import type { HostSession, StepResult } from '../../src/runtime/runtime.ts';
import type { Ledger } from '../ledger.ts';
import type { Person } from '../population.ts';
import type { Driver, Sim } from '../sim.ts';
import { abandon, guess, MINUTE, PATIENT, SECOND, whenCodeArrives } from './common.ts';
import { applied, stopAsOwner } from './friends.ts';

export const REVIEW_PERSONAS = ['honest', 'slow', 'attacker', 'unknown', 'walkaway', 'withdraw', 'hammer', 'guesser', 'closed', 'lingering'] as const;
export type ReviewPersona = (typeof REVIEW_PERSONAS)[number];

type Decision = 'approve' | 'approveReset' | 'reject' | 'askMore' | 'never';

const DECISIONS: Readonly<Record<'honest' | 'attacker' | 'unknown' | 'closed', readonly (readonly [Decision, number])[]>> = {
  honest: [['approve', 50], ['approveReset', 12], ['reject', 10], ['askMore', 23], ['never', 5]],
  attacker: [['approve', 22], ['approveReset', 23], ['reject', 25], ['askMore', 25], ['never', 5]],
  unknown: [['approve', 10], ['reject', 60], ['askMore', 25], ['never', 5]],
  closed: [['approve', 40], ['approveReset', 60]],
};

type Event = Record<string, unknown> & { readonly type: string };

/** A support agent's session: the host marks it as an agent's; agents are not accounts of this world. */
const agentSession = (sim: Sim, driver: Driver): HostSession => {
  const n = driver.rng.int(1, 4);
  return { actor: `agent-${sim.options.shard}-${n}`, sessionId: `agent-session-${sim.options.shard}-${n}`, role: 'agent' };
};

export const spawnManualReview = (sim: Sim, at: number, persona: ReviewPersona, ledger: Ledger): Driver => {
  const driver = sim.driver('manualReview', persona);
  const { rng } = driver;
  const record = ledger.reviewFlow(driver);
  const now = (): number => sim.world.clock.now();
  const slow = persona === 'slow';
  const policy = sim.world.policy;
  /** When the operator closes the account, for the 'closed' persona. */
  const closes = persona === 'closed' ? rng.weighted<'window' | 'binding' | 'applying'>([['window', 40], ['binding', 30], ['applying', 30]]) : null;
  /** How the lingering stretch the case: support approves at the last hour, never decides, or the person resends codes. */
  const lingers = persona === 'lingering' ? rng.weighted<'lateApproval' | 'silentSupport' | 'resends'>([['lateApproval', 45], ['silentSupport', 20], ['resends', 35]]) : null;
  // Their case ends at its deadline by design: a crash-after-save outage there would only test the harness.
  if (persona === 'lingering') driver.notes['noFaults'] = true;
  let owner: Person | null = null;

  const agent = (event: Event): Promise<StepResult> => driver.send(event, 'none', agentSession(sim, driver));
  const person = (event: Event, tag: 'real' | 'guess' | 'none' = 'none'): Promise<StepResult> => driver.send(event, tag);
  /** An error page: the person tries again where the flow is, a little later. */
  const retryLater = (result: StepResult, step: () => Promise<void>): boolean => {
    if (E.isRight(result) || result.left.code !== 'port_failure') return false;
    driver.later(rng.int(20, 60) * MINUTE, step);
    return true;
  };

  /** After the case closed, the evidence is deleted at its retention limit: wake the flow then. */
  const purgeLater = (): void => {
    driver.later(32 * DAY, async () => {
      if (!driver.done) return purgeLater();
      const until = driver.last?.view['evidenceDeletedAt'];
      if (typeof until === 'number') driver.later(until - now(), async () => void (await driver.tick()));
    });
  };

  sim.queue.push(at, driver.ordinal, async () => {
    // Impostors name somebody of the busy world, who is signed in somewhere and can stop them;
    // everyone else is one of the circle the friend and review personas share.
    const pool = persona === 'attacker' || sim.population.circle.length === 0 ? sim.population.people : sim.population.circle;
    const active = pool.filter((p) => ledger.isActive(p.id));
    owner = persona === 'unknown' ? null : rng.pick(active.length > 0 ? active : pool);
    driver.notes['person'] = owner?.id ?? null;
    await driver.start();
    purgeLater();
    // Walking away: at the first screen or the second, by closing the tab or by pressing "cancel".
    const leaves = persona === 'walkaway' ? rng.pick(['start', 'account'] as const) : null;
    const leave = async (): Promise<void> => {
      if (rng.chance(0.35)) driver.later(rng.int(1, 20) * MINUTE, async () => void (driver.done ? undefined : await person({ type: 'flow.cancel' })));
    };
    if (leaves === 'start') return leave();

    driver.later(rng.int(30, 180) * SECOND, async () => {
      const account = owner === null ? undefined : await sim.world.directory.get(owner.id);
      const how = rng.weighted<'handle' | 'phone' | 'email'>([['handle', 60], ['phone', 25], ['email', 15]]);
      const named =
        owner === null
          ? how === 'phone'
            ? { phone: rng.pick(sim.population.unknownPhones) }
            : how === 'email'
              ? { email: rng.pick(sim.population.unknownEmails) }
              : { handle: `nobody_${sim.options.shard}_${driver.ordinal}` }
          : how === 'phone' && account?.phone != null
            ? { phone: account.phone.value }
            : how === 'email' && account?.email != null
              ? { email: account.email.value }
              : { handle: owner.handle };
      record.account = owner !== null && ledger.isActive(owner.id) ? owner.id : null;
      await person({ type: 'account.submit', ...named });
      if (leaves === 'account') return leave();
      driver.later(rng.int(2, 20) * MINUTE, async () => {
        if (rng.chance(0.05)) await person({ type: 'evidence.submit', nickname: '  ', contactEmail: 'me@example.com' });
        const evidence = await person({
          type: 'evidence.submit',
          nickname: `nick ${driver.ordinal}`,
          team: rng.pick(['Hangzhou sales', 'Shenzhen R&D', 'Beijing ops']),
          frequentContacts: ['Li Lei', 'Han Meimei'].slice(0, rng.int(0, 2)),
          pastDevices: [rng.pick(['iPhone 12', 'Huawei P40', 'Xiaomi 13'])],
          loginPlaces: [rng.pick(['Hangzhou', 'Suzhou', 'Shanghai'])],
          contactEmail: `reach.me.${sim.options.shard}.${driver.ordinal}@example.net`,
        });
        if (!applied(evidence)) return;
        if (persona === 'withdraw' && rng.chance(0.3)) {
          driver.later(rng.int(10, 600) * MINUTE, async () => void (driver.done ? undefined : await person({ type: 'flow.cancel' })));
        }
        // Rarely the owner hears of the ticket before support decides (a call from support, a friend).
        if (persona === 'attacker' && rng.chance(0.25)) ownerStops(rng.int(20 * MINUTE, 1 * DAY));
        if (lingers === 'resends') driver.later(rng.int(1, 20) * HOUR, async () => void (driver.done ? undefined : await decide('approve', 0)));
        else if (lingers !== null) linger(0);
        else agentTurn(0);
      });
    });
  });

  /** The owner, from a live session of the account, stops the request. */
  const ownerStops = (after: number, then?: () => void): void => {
    const id = owner?.id ?? null;
    if (id === null) return;
    driver.later(after, async () => {
      then?.();
      await stopAsOwner(sim, driver, ledger, record, id, 'Mac');
    });
  };

  const agentTurn = (round: number): void => {
    const table = persona === 'attacker' || persona === 'unknown' || persona === 'closed' ? DECISIONS[persona] : DECISIONS.honest;
    const decision = rng.weighted(round >= policy.review.maxInfoRequests ? table.filter(([d]) => d !== 'askMore') : table);
    if (decision === 'never') return;
    driver.later(rng.int(30 * MINUTE, slow ? 2.9 * DAY : 2 * DAY), async () => {
      if (!driver.done) await decide(decision, round);
    });
  };

  const reject = async (reason: string): Promise<void> => {
    // Support upholding a dispute inside the window of its own approval must win, accepted or not.
    const approval = record.approval;
    if (approval !== null && now() < approval.at + policy.review.disputeWindowMs) record.rejectedAt ??= now();
    await agent({ type: 'review.reject', reason });
  };

  const decide = async (decision: Decision, round: number): Promise<void> => {
    switch (decision) {
      case 'approve':
      case 'approveReset': {
        const resetSecondFactor = decision === 'approveReset';
        const approved = await agent({ type: 'review.approve', resetSecondFactor });
        if (applied(approved)) {
          record.approval = { at: now(), resetSecondFactor };
          return afterApproval();
        }
        // Nothing matched what the person named: support can only reject.
        return reject('We could not find the account you named.');
      }
      case 'reject':
        return reject(rng.chance(0.5) ? 'The contacts you named do not match.' : '');
      case 'askMore': {
        const asked = await agent({ type: 'review.askMore', question: rng.pick(['Which city did you sign in from last spring?', 'Who is your team lead?', 'Which phone did you use before?']) });
        if (applied(asked)) userTurn(round + 1);
        return;
      }
      case 'never':
        return;
    }
  };

  /** Support asked a question; the person answers, or not, and support may decide meanwhile. */
  const userTurn = (round: number): void => {
    const roll = rng.weighted<'answer' | 'silent' | 'agentDecides' | 'withdraw' | 'ownerStops'>([
      ['answer', 68],
      ['silent', 10],
      ['agentDecides', 20],
      ['withdraw', persona === 'withdraw' ? 70 : 2],
      ['ownerStops', persona === 'attacker' ? 45 : 0],
    ]);
    switch (roll) {
      case 'answer':
        driver.later(rng.int(10 * MINUTE, slow ? 6.5 * DAY : 1.5 * DAY), async () => {
          if (driver.done) return;
          const answered = await person({ type: 'evidence.answer', answer: rng.pick(['Suzhou, on a business trip.', 'Zhang Wei.', 'A Huawei P40.']) });
          if (applied(answered)) agentTurn(round);
        });
        return;
      case 'agentDecides':
        driver.later(rng.int(1 * HOUR, 2 * DAY), async () => {
          if (!driver.done) await decide(rng.chance(0.5) ? 'approve' : 'reject', round);
        });
        return;
      case 'withdraw':
        driver.later(rng.int(1 * HOUR, 3 * DAY), async () => void (driver.done ? undefined : await person({ type: 'flow.cancel' })));
        return;
      case 'ownerStops':
        ownerStops(rng.int(1 * HOUR, 3 * DAY));
        return;
      case 'silent':
        return;
    }
  };

  /** `early` before the flow's next deadline, as its last reply named it (at once if that is sooner). */
  const beforeDeadline = (early: number, action: () => Promise<void>): void => {
    const due = driver.last?.nextDeadline;
    if (typeof due === 'number') driver.later(Math.max(0, due - now() - early), action);
  };

  /**
   * Support asks and the person answers, each minutes before their deadline, every round the
   * policy allows; the last answer comes hours early, and support then approves in the case's last
   * hours (or never decides). Both end at the case's end: the window would outlast it.
   */
  const linger = (round: number): void => {
    if (round >= policy.review.maxInfoRequests) {
      if (lingers === 'lateApproval') {
        const end = (driver.last?.nextDeadline as number | null | undefined) ?? now();
        // An hour or two before the end, and after the last answer: any outage is over by the end.
        driver.later(Math.max(MINUTE, end - now() - rng.int(60, 120) * MINUTE), async () => void (driver.done ? undefined : await decide('approve', round)));
      }
      return;
    }
    beforeDeadline(rng.int(1, 30) * MINUTE, async () => {
      if (driver.state !== 'awaitingAgent') return;
      const asked = await agent({ type: 'review.askMore', question: rng.pick(['Which city did you sign in from last spring?', 'Who is your team lead?', 'Which phone did you use before?']) });
      if (!applied(asked)) return;
      const last = round + 1 >= policy.review.maxInfoRequests;
      beforeDeadline(last ? rng.int(3 * 60, 12 * 60) * MINUTE : rng.int(1, 30) * MINUTE, async () => {
        if (driver.state !== 'awaitingUser') return;
        const answered = await person({ type: 'evidence.answer', answer: rng.pick(['Suzhou, on a business trip.', 'Zhang Wei.', 'A Huawei P40.']) });
        if (applied(answered)) linger(round + 1);
      });
    });
  };

  /** A new code hours before the binding would lapse, each time, until the case's end stops the deadline moving. */
  const resendJustInTime = (): void => {
    const due = driver.last?.nextDeadline;
    beforeDeadline(rng.int(1, 20) * HOUR, async () => {
      if (driver.state !== 'awaitingBindingCode') return;
      await person({ type: 'code.resend' });
      if (driver.last?.nextDeadline !== due) resendJustInTime();
    });
  };

  /** The dispute window: the owner may stop it, support may uphold a dispute, the person waits. */
  const afterApproval = (): void => {
    // The screen says from when a password may be set: the person and the owner go by that.
    const shown = driver.last?.view['passwordAllowedAt'];
    const window = typeof shown === 'number' ? shown - now() : policy.review.disputeWindowMs;
    const id = owner?.id ?? null;
    if (persona === 'attacker') {
      const reset = record.approval?.resetSecondFactor === true;
      const when = rng.weighted<'window' | 'afterWindow' | 'atReset' | 'never'>([['window', 45], ['afterWindow', 20], ['atReset', reset ? 50 : 0], ['never', 15]]);
      if (when === 'window') ownerStops(rng.int(10 * MINUTE, window - 30 * MINUTE));
      // The owner reads the "approved" message late, but before the new password.
      if (when === 'afterWindow') ownerStops(window + rng.int(1 * SECOND, 30 * MINUTE));
      if (when === 'atReset' && driver.flowId !== null) {
        // The host dies right after deciding to reset the factor and stays down a while; the owner,
        // alerted, stops the recovery meanwhile. The reset that was still waiting must not land.
        const flowId = driver.flowId;
        driver.later(window - SECOND, async () => {
          sim.store.crashNext.add(flowId);
          driver.notes['outage'] = 15 * MINUTE;
        });
        ownerStops(window + rng.int(1, 10) * MINUTE, () => {
          sim.store.crashNext.delete(flowId);
          delete driver.notes['outage'];
        });
      }
    }
    if (rng.chance(0.03)) driver.later(rng.int(1 * HOUR, 20 * HOUR), async () => void (driver.done ? undefined : await reject('The account holder disputed this request by phone.')));
    if (persona === 'withdraw') {
      const inWindow = rng.chance(0.5);
      driver.later(inWindow ? rng.int(1 * HOUR, 20 * HOUR) : window + rng.int(1 * MINUTE, 2 * HOUR), async () => {
        if (!driver.done && record.passwordAt === null) await person({ type: 'flow.cancel' });
      });
    }
    // The operator closes the account during the window (fraud, a court order): the recovery must not land.
    if (closes === 'window' && id !== null) driver.later(rng.int(1 * HOUR, 20 * HOUR), async () => ledger.deactivate(id));
    // Some never come back to set the password.
    if (rng.chance(0.06)) return;
    driver.later(window + rng.int(5 * MINUTE, slow ? 6 * DAY : 1.5 * DAY), afterWindow);
  };

  /** After the window: password, security review, then binding — from wherever the flow stands. */
  const afterWindow = async (): Promise<void> => {
    if (driver.done) return;
    if (driver.state === 'hardening.choosingPassword') {
      if (owner !== null && rng.chance(0.2)) await person({ type: 'password.submit', password: owner.password });
      const password = `support gave it back ${driver.ordinal} ${rng.digits(4)}`;
      driver.notes['passwords'] = [...((driver.notes['passwords'] as string[] | undefined) ?? []), password];
      const set = await person({ type: 'password.submit', password });
      if (applied(set)) ledger.passwordAccepted(record, now());
      if (retryLater(set, afterWindow)) return;
      // Some set the password and close the tab: the review lapses and no channel is bound.
      if (rng.chance(0.04)) return;
    }
    if ((driver.state as string) === 'hardening.applying') {
      driver.later(rng.int(20, 60) * MINUTE, afterWindow);
      return;
    }
    if ((driver.state as string) === 'hardening.reviewingSecurity') {
      const logins = (driver.last?.view['recentLogins'] as { sessionId: string }[] | undefined) ?? [];
      const stranger = logins[0];
      if (stranger !== undefined && rng.chance(0.3) && retryLater(await person({ type: 'session.revoke', sessionId: stranger.sessionId }), afterWindow)) return;
      if (retryLater(await person({ type: 'security.done' }), afterWindow)) return;
    }
    if ((driver.state as string) !== 'bindingRequired') return;
    const id = owner?.id ?? null;
    if (closes === 'binding' && id !== null && ledger.isActive(id)) ledger.deactivate(id);
    if (rng.chance(0.04)) return;
    driver.later(rng.int(1, 10) * MINUTE, () => bind(rng.chance(0.06)));
  };

  /** A channel the person can reach: a new number or address, or one another account already holds. */
  const pickChannel = (taken: boolean): { kind: 'phone' | 'email'; value: string } => {
    if (taken) return { kind: 'phone', value: rng.pick(sim.population.people).phone };
    return rng.chance(0.6) ? { kind: 'phone', value: rng.pick(sim.population.freshPhones) } : { kind: 'email', value: `back.${sim.options.shard}.${driver.ordinal}.${rng.int(0, 9)}@example.net` };
  };

  const bind = async (taken: boolean): Promise<void> => {
    if (driver.done || driver.state !== 'bindingRequired') return;
    const channel = pickChannel(taken);
    // Now and then the provider loses the first message to a new number: the person asks again.
    if (driver.flowId !== null && rng.chance(0.08)) sim.messenger.dropNext.add(driver.flowId);
    const sent = await person({ type: 'channel.submit', ...channel });
    if (retryLater(sent, () => (driver.state === 'awaitingBindingCode' ? Promise.resolve(enterCode()) : bind(taken)))) return;
    if ((driver.state as string) !== 'awaitingBindingCode') return;
    // A typo noticed at once is refused until the cooldown; the right address goes after it.
    if (rng.chance(0.08)) {
      await person({ type: 'channel.submit', ...pickChannel(false) });
      driver.later(policy.sends.cooldownMs + rng.int(1, 30) * SECOND, async () => {
        if (!driver.done && driver.state === 'awaitingBindingCode') await person({ type: 'channel.submit', ...channel });
        enterCode();
      });
      return;
    }
    enterCode();
  };

  const enterCode = (): void => {
    if (driver.done) return;
    if (persona === 'guesser') return guessCodes(2);
    if (persona === 'hammer') return hammer(rng.int(5, 7));
    if (persona === 'lingering') return resendJustInTime();
    if (rng.chance(0.04)) return;
    whenCodeArrives(driver, PATIENT, useCode, abandon);
  };

  const useCode = async (code: string): Promise<void> => {
    if (rng.chance(0.1)) await person({ type: 'code.submit', code: guess(driver) }, 'guess');
    const id = owner?.id ?? null;
    if (closes === 'applying' && driver.flowId !== null && id !== null) {
      // The code is redeemed, the host dies before writing the binding, and the operator closes
      // the account while it is down: the delayed write is refused.
      sim.store.crashNext.add(driver.flowId);
      driver.notes['outage'] = 10 * MINUTE;
      await person({ type: 'code.submit', code }, 'real');
      delete driver.notes['outage'];
      driver.later(MINUTE, async () => ledger.deactivate(id));
      return;
    }
    await person({ type: 'code.submit', code }, 'real');
    // The number belonged to another account: told only now that the code proved it, bind another.
    if ((driver.state as string) === 'bindingRequired') driver.later(rng.int(1, 5) * MINUTE, () => bind(false));
  };

  /** Five wrong codes kill a code; a new one and five more lock the flow. */
  const guessCodes = (rounds: number): void => {
    driver.later(rng.int(5, 30) * SECOND, async () => {
      for (let i = 0; i < policy.code.maxWrongPerCode && driver.state === 'awaitingBindingCode'; i++) await person({ type: 'code.submit', code: guess(driver) }, 'guess');
      if (rounds <= 1 || driver.done) return;
      const allowedAt = (driver.last?.view['resendAllowedAt'] as number | null | undefined) ?? now();
      driver.later(Math.max(0, allowedAt - now()), async () => {
        if (driver.state !== 'awaitingBindingCode') return;
        await person({ type: 'code.resend' });
        guessCodes(rounds - 1);
      });
    });
  };

  /** "Resend" the moment it is allowed, and once too early: the send budget stops the sixth. */
  const hammer = (presses: number): void => {
    driver.later(rng.int(2, 10) * SECOND, async () => {
      if (driver.state !== 'awaitingBindingCode') return;
      await person({ type: 'code.resend' });
      const allowedAt = (driver.last?.view['resendAllowedAt'] as number | null | undefined) ?? now();
      driver.later(Math.max(0, allowedAt - now()) + rng.int(0, 15) * SECOND, async () => {
        if (driver.state !== 'awaitingBindingCode') return;
        await person({ type: 'code.resend' });
        if (presses > 1) hammer(presses - 1);
        else whenCodeArrives(driver, PATIENT, useCode, abandon);
      });
    });
  };

  return driver;
};
