/**
 * The invariant catalogue. Each invariant has a name and a one-line statement (both go into
 * the report), counts how often it was checked, and records violations with the flow and a
 * reason. Checks use the harness's own knowledge — what was delivered, when, to whom, what the
 * person typed — never the machine's opinion of itself.
 */
import type { AnyMachineSnapshot } from 'xstate';
import type { AccountId } from '../src/domain/account.ts';
import { handleKey, type Handle } from '../src/domain/handle.ts';
import { totpAt } from '../src/domain/hotp.ts';
import type { StepObservation } from '../src/runtime/runtime.ts';
import { Ledger } from './ledger.ts';
import type { Delivery } from './messenger.ts';
import { PathChecks } from './pathChecks.ts';
import type { Driver, Observer, Sim } from './sim.ts';

export const CATALOGUE = {
  'send-budget': 'Code sends to one phone or e-mail never exceed the hourly and daily budgets in any window, nor come closer than the cooldown.',
  'code-in-time': 'A code or link is accepted only before its expiry.',
  'code-once': 'A delivered code or link is accepted at most once.',
  'code-own-flow': 'A code or link is accepted only by the flow, purpose and channel it was sent for (an unknown channel never verifies).',
  'code-attempt-limits': 'No code is accepted after its per-code or per-flow wrong-try limit.',
  'code-current-epoch': 'No code issued before a password reset is accepted after it, nor sets a password after it.',
  'password-after-challenge': "A password changes only after its path's challenge passed in that flow.",
  'no-2fa-bypass': 'No self-service path changes the password of an account with a second factor without a valid one; only a support approval may reset the factor.',
  'recovery-hardened': 'After a recovery every older session is dead and every bound channel was told.',
  'unique-identities': 'Handles (ignoring case) and phone numbers stay unique.',
  'registration-eligible': 'Blocked and out-of-region numbers never register.',
  'flows-terminate': 'Every flow ends, by success or timeout, within its bounded lifetime.',
  'no-secrets-at-rest': 'No code, password or reset token appears in a snapshot, an outbox entry or a trace.',
  'enumeration-pairs': 'A bound and an unbound identifier get the same observable view until a code is verified.',
  'friends-count-once': 'A friend counts once, only inside the window, only when eligible.',
  'review-dispute-window': 'A password changes on the review path only after an approval and an undisputed dispute window.',
  'owner-stop-wins': 'After the owner stops a recovery, it changes neither the password nor the second factor.',
} as const;

export type InvariantName = keyof typeof CATALOGUE;

export interface Violation {
  readonly invariant: InvariantName;
  readonly flow: string;
  readonly flowId: string | null;
  readonly machine: string;
  readonly reason: string;
}

export class InvariantBook {
  readonly checked = new Map<InvariantName, number>(Object.keys(CATALOGUE).map((k) => [k as InvariantName, 0]));
  readonly violations: Violation[] = [];

  check(name: InvariantName, ok: boolean, driver: Driver | undefined, reason: () => string): void {
    this.checked.set(name, (this.checked.get(name) ?? 0) + 1);
    if (!ok) this.violations.push({ invariant: name, flow: driver?.ordinal ?? '-', flowId: driver?.flowId ?? null, machine: driver?.machine ?? '-', reason: reason() });
  }
}

type Context = Record<string, unknown> & {
  readonly code?: { readonly used: boolean; readonly counter: number } | null;
  readonly link?: { readonly used: boolean } | null;
  readonly subject?: { readonly accountId: string } | null;
};

const contextOf = (snapshot: AnyMachineSnapshot): Context => snapshot.context as Context;
const flipped = (from: { used: boolean } | null | undefined, to: { used: boolean } | null | undefined): boolean => from?.used === false && to?.used === true;

/** Watches every step of every flow of a world and judges it against the catalogue. */
export class InvariantChecker implements Observer {
  readonly book = new InvariantBook();
  readonly #accepted = new Set<string>();
  readonly #proven = new Set<string>();
  /** The account's epoch when each flow's challenge passed: its own reset must be the very next one. */
  readonly #provenEpoch = new Map<string, number>();
  readonly #passedSecondFactor = new Set<string>();
  readonly #resets = new Map<string, number[]>();
  readonly #recoveries: { readonly driver: Driver; readonly accountId: string; readonly epoch: number; readonly channels: readonly string[] }[] = [];
  /** Every string an effect carried: checked against the secrets once they are all known. */
  readonly #effectStrings = new Map<string, Driver | undefined>();

  /** What the friend and review personas did: the record those paths are judged by. */
  readonly ledger: Ledger;
  readonly #paths: PathChecks;

  constructor(private readonly sim: Sim) {
    this.ledger = new Ledger(sim);
    this.#paths = new PathChecks(sim, this.book, this.ledger);
  }

  onStep(step: StepObservation, driver: Driver | undefined): void {
    this.#paths.onStep(step, driver);
    const from = contextOf(step.from);
    const to = contextOf(step.to);
    if (flipped(from.code, to.code)) this.#acceptance(step, driver, 'code');
    if (flipped(from.link, to.link)) this.#acceptance(step, driver, 'link');
    if (step.event === 'secondFactor.submit' && step.from.matches('secondFactor') && !step.to.matches('secondFactor') && !step.to.matches('locked')) {
      this.#secondFactorPassed(step, driver, to);
    }
    if (step.event === 'recovery.applied') this.#passwordChanged(step, driver, to);
    if (step.event === 'account.created') this.#registered(step, driver, to);
    for (const entry of step.effects) collectStrings(entry.effect.params, (value) => this.#effectStrings.set(value, driver));
  }

  #acceptance(step: StepObservation, driver: Driver | undefined, kind: 'code' | 'link'): void {
    const { policy } = this.sim.world;
    const value = driver?.submission.value ?? null;
    const deliveries = driver?.flowId === undefined || driver.flowId === null ? [] : this.sim.messenger.forFlow(driver.flowId);
    const delivered: Delivery | undefined = [...deliveries].reverse().find((d) => (kind === 'code' ? d.code : d.token) === value && value !== null);
    // The person took a foreign value from another flow's message: it must not work here even
    // when it equals this flow's own (codes keyed without their flow would collide like that).
    const foreign = driver?.submission.tag === 'foreign';
    this.book.check('code-own-flow', delivered !== undefined && !foreign, driver, () =>
      foreign ? `a ${kind} from another flow's message was accepted` : `a ${kind} accepted that was never delivered to this flow (${driver?.submission.tag} submission)`,
    );
    // Judged before the delivery is looked up: a guess accepted past the limits breaks them too.
    const tries = driver?.wrong[kind];
    this.book.check(
      'code-attempt-limits',
      tries === undefined || (tries.sinceDelivery < policy.code.maxWrongPerCode && tries.inFlow < policy.code.maxWrongPerFlow),
      driver,
      () => `${kind} accepted after ${tries?.sinceDelivery} wrong tries on it and ${tries?.inFlow} in the flow`,
    );
    if (delivered === undefined) return;
    const ttl = kind === 'code' ? policy.code.ttlMs : policy.code.emailLinkTtlMs;
    this.book.check('code-in-time', step.at < delivered.at + ttl, driver, () => `${kind} delivered at ${delivered.at} accepted at ${step.at}, lifetime ${ttl} ms`);
    const id = `${delivered.key}|${kind}`;
    this.book.check('code-once', !this.#accepted.has(id), driver, () => `${kind} from ${delivered.key} accepted twice`);
    this.#accepted.add(id);
    const subject = contextOf(step.to).subject?.accountId;
    if (subject !== undefined) {
      const resetsBetween = (this.#resets.get(subject) ?? []).filter((t) => t >= delivered.at && t <= step.at);
      this.book.check('code-current-epoch', resetsBetween.length === 0, driver, () => `a ${kind} delivered before the password reset at ${resetsBetween[0]} was accepted`);
    }
    if (step.to.matches('hardening') || step.to.matches('secondFactor') || step.to.matches('accountUnavailable') || step.to.matches('choosingHandle') || step.to.matches('alreadyRegistered')) {
      if (driver?.flowId != null) {
        this.#proven.add(driver.flowId);
        const epoch = subject === undefined ? undefined : this.sim.world.directory.peek(subject as AccountId)?.securityEpoch;
        if (epoch !== undefined) this.#provenEpoch.set(driver.flowId, epoch);
      }
    }
  }

  #secondFactorPassed(step: StepObservation, driver: Driver | undefined, to: Context): void {
    const accountId = to.subject?.accountId;
    const person = this.ledger.person(accountId);
    const value = driver?.submission.value ?? '';
    const { periodSeconds, skewSteps } = this.sim.world.policy.totp;
    const valid = person?.totpSecret == null ? false : Array.from({ length: 2 * skewSteps + 1 }, (_, i) => i - skewSteps).some((k) => totpAt(person.totpSecret as Uint8Array, step.at + k * periodSeconds * 1000) === value);
    this.book.check('no-2fa-bypass', valid, driver, () => 'the second-factor step passed without a valid TOTP code');
    if (valid && driver?.flowId != null) this.#passedSecondFactor.add(driver.flowId);
  }

  #passwordChanged(step: StepObservation, driver: Driver | undefined, to: Context): void {
    const accountId = to.subject?.accountId;
    if (accountId === undefined || driver?.flowId == null) return;
    this.#resets.set(accountId, [...(this.#resets.get(accountId) ?? []), step.at]);
    const account = this.sim.world.directory.peek(accountId as AccountId);
    this.#recoveries.push({ driver, accountId, epoch: account?.securityEpoch ?? 0, channels: [account?.phone?.value, account?.email?.value].filter((c): c is NonNullable<typeof c> => c != null) });
    const path = driver.machine;
    // Asked before the ledger hears of this recovery: the factor is judged as it stood before it.
    const hasFactor = this.ledger.hasFactor(accountId, step.at);
    this.ledger.recovered(accountId as AccountId, step.at);
    const proven =
      path === 'smsRecovery' || path === 'emailRecovery'
        ? this.#proven.has(driver.flowId)
        : path === 'friendAssist'
          ? this.#paths.friendsPasswordChanged(step, driver)
          : path === 'manualReview'
            ? this.#paths.reviewPasswordChanged(step, driver)
            : true;
    this.book.check('password-after-challenge', proven, driver, () => `the password of ${accountId} changed in ${path} without a passed challenge`);
    const provenEpoch = this.#provenEpoch.get(driver.flowId);
    if (provenEpoch !== undefined) {
      // The directory's own record of this flow's reset, not when the flow heard of it (a crash delays that).
      const mine = this.sim.world.directory.passwordChanges.filter((c) => c.id === accountId && c.idempotencyKey.startsWith(`${driver.flowId}:`));
      const epoch = mine[mine.length - 1]?.epoch;
      this.book.check('code-current-epoch', epoch === undefined || epoch === provenEpoch + 1, driver, () => `a challenge passed under epoch ${provenEpoch} set the password at epoch ${epoch}: another change came between`);
    }
    // Manual review is not self-service: a person checked the evidence. A factor it did not
    // reset stays enrolled and still guards every sign-in; that it disappears only after an
    // approval with a reset is checked at the end of the run.
    if (hasFactor && path !== 'manualReview') {
      this.book.check('no-2fa-bypass', this.#passedSecondFactor.has(driver.flowId), driver, () => `the password of ${accountId}, which has TOTP, changed without it`);
    }
  }

  /** After the run, every recovery's hardening must have done all its work. */
  async #checkHardening(): Promise<void> {
    const toldByFlow = new Map<string, Set<string>>();
    for (const [key, attempt] of this.sim.messenger.attempts) {
      if (!key.includes(':notify:')) continue;
      const flowId = key.split(':')[0] as string;
      const told = toldByFlow.get(flowId) ?? new Set<string>();
      told.add(attempt.to);
      toldByFlow.set(flowId, told);
    }
    for (const { driver, accountId, epoch, channels } of this.#recoveries) {
      // Sessions issued under an epoch older than the one the recovery moved to must be revoked.
      const sessions = await this.sim.world.sessions.list(accountId as AccountId);
      const older = sessions.filter((s) => s.epoch < epoch && s.revokedAt === null);
      this.book.check('recovery-hardened', older.length === 0, driver, () => `${older.length} sessions from before the recovery (epoch < ${epoch}) of ${accountId} survived it`);
      const told = toldByFlow.get(driver.flowId ?? '') ?? new Set<string>();
      const missing = channels.filter((c) => !told.has(c));
      this.book.check('recovery-hardened', missing.length === 0, driver, () => `${missing.length} of ${channels.length} channels bound at the recovery were not told of it`);
    }
  }

  #registered(step: StepObservation, driver: Driver | undefined, to: Context): void {
    const phone = String(to['phone'] ?? '');
    const allowed = phone.startsWith('+86') || phone.startsWith('+852');
    this.book.check('registration-eligible', allowed && !this.sim.population.blockedPhones.includes(phone), driver, () => `${phone} registered at ${step.at}`);
  }

  /** The end-of-run checks over the whole world. */
  async finish(): Promise<void> {
    const { world, population } = this.sim;
    const accounts = world.directory.all();
    const phones = accounts.map((a) => a.phone?.value);
    const handles = accounts.map((a) => handleKey(a.handle as Handle));
    this.book.check('unique-identities', new Set(phones).size === phones.length, undefined, () => 'two accounts share a phone number');
    this.book.check('unique-identities', new Set(handles).size === handles.length, undefined, () => 'two accounts share a handle ignoring case');
    const blocked = new Set(population.blockedPhones);
    for (const account of accounts) this.book.check('registration-eligible', !blocked.has(account.phone?.value ?? ''), undefined, () => `blocked number ${account.phone?.value} has an account`);
    await this.#paths.finish();
    this.#checkBudgets();
    for (const driver of this.sim.drivers) {
      if (driver.flowId === null) continue;
      const ended = driver.endedAt !== null && driver.endedAt - driver.startedAt <= world.policy.flowMaxLifetimeMs;
      this.book.check('flows-terminate', ended, driver, () => `still ${driver.state} after the run (started ${driver.startedAt})`);
    }
    this.#checkSecrets();
    await this.#checkHardening();
  }

  #checkBudgets(): void {
    const { sends } = this.sim.world.policy;
    const byAddress = new Map<string, number[]>();
    for (const d of this.sim.messenger.deliveries) {
      if ((d.code === null && d.token === null) || d.duplicated) continue;
      const list = byAddress.get(d.to) ?? [];
      list.push(d.at);
      byAddress.set(d.to, list);
    }
    for (const [address, times] of byAddress) {
      times.forEach((at, i) => {
        const previous = times[i - 1];
        this.book.check('send-budget', previous === undefined || at - previous >= sends.cooldownMs, undefined, () => `${address}: sends at ${previous} and ${at}, closer than the cooldown`);
        for (const window of sends.windows) {
          const inside = times.filter((t) => t > at - window.windowMs && t <= at).length;
          this.book.check('send-budget', inside <= window.limit, undefined, () => `${address}: ${inside} sends within ${window.windowMs} ms`);
        }
      });
    }
  }

  #checkSecrets(): void {
    const secrets = new Set<string>();
    for (const d of this.sim.messenger.deliveries) {
      if (d.code !== null) secrets.add(d.code);
      if (d.token !== null) secrets.add(d.token);
    }
    for (const driver of this.sim.drivers) for (const password of (driver.notes['passwords'] as string[] | undefined) ?? []) secrets.add(password);
    // Other secrets a persona held, such as a friend-assisted requester's token.
    for (const driver of this.sim.drivers) for (const secret of (driver.notes['secrets'] as string[] | undefined) ?? []) secrets.add(secret);
    for (const flowId of this.sim.world.store.ids()) {
      const raw = this.sim.world.store.raw(flowId) ?? '';
      let leaked: string | null = null;
      JSON.parse(raw, (_key, value: unknown) => {
        if (typeof value === 'string' && secrets.has(value)) leaked = value;
        return value;
      });
      const driver = this.sim.byFlowId.get(flowId);
      this.book.check('no-secrets-at-rest', leaked === null, driver, () => 'a code, token or password is stored in the flow envelope');
    }
    for (const [value, driver] of this.#effectStrings) {
      this.book.check('no-secrets-at-rest', !secrets.has(value), driver, () => 'a code, token or password was put in an outbox entry');
    }
    for (const driver of this.sim.drivers) {
      const words = driver.trace.flatMap((l) => `${l.detail} ${l.outcome}`.split(/[^\w-]+/));
      const text = driver.trace.map((l) => `${l.detail} ${l.outcome}`).join('\n');
      const ownPasswords = (driver.notes['passwords'] as string[] | undefined) ?? [];
      const leak = words.find((w) => secrets.has(w)) ?? ownPasswords.find((p) => text.includes(p));
      this.book.check('no-secrets-at-rest', leak === undefined, driver, () => 'a secret appears in the trace');
    }
  }
}

const collectStrings = (value: unknown, found: (s: string) => void): void => {
  if (typeof value === 'string') found(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, found);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) collectStrings(v, found);
};
