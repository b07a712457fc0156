/**
 * SMS and e-mail recovery against one reference model of their rules: the entry answers a bound,
 * an unknown and a malformed channel alike (only a bound one is ever sent anything); codes, and
 * for e-mail reset links, follow the challenge rules; a code for an unknown channel never
 * verifies; an enrolled second factor comes before the new password; the password applies only
 * at the epoch the flow started under; the FAQ exits (support, switch to e-mail, deactivated
 * number) and cancel end the flow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemoryWorld } from '../../src/adapters/memory/index.ts';
import type { Account } from '../../src/domain/account.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import { channelRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import type { FlowDefinition } from '../../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../../src/runtime/ports.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { currentCode } from '../support/faultyHost.ts';
import { enrollTotp } from '../support/friends.ts';
import { askResend, Budget, ChallengeModel, deliver, LOCKED, NOTICE_FOR, type Outcome, P, providerDropsNextCode, wrongCode } from './challenge.ts';
import { applied, type Expected, exit, type Hosted, hostWith, readFlow, type Replacement, refused, startFlow, stories, storyKit, weighted } from './kit.ts';
import { TEETH_SEED } from '../setup/fastCheck.ts';
import { itHasTeeth } from '../support/teeth.ts';

type Kind = 'sms' | 'email';

const ADDRESS = { sms: '+8613800138000', email: 'wang@example.com' } as const;
/** What a person may type: the bound channel (also as typed sloppily), another valid one, junk. */
const TYPED: Record<Kind, readonly (readonly [typed: string, key: string, bound: boolean])[]> = {
  sms: [
    ['+8613800138000', '+8613800138000', true],
    ['+8613700137000', '+8613700137000', false],
    ['13800138000,13900139000', 'unparsed:13800138000,13900139000', false],
  ],
  email: [
    ['wang@example.com', 'wang@example.com', true],
    ['  Wang@Example.COM ', 'wang@example.com', true],
    ['nobody@example.com', 'nobody@example.com', false],
    ['a@x.com,b@y.com', 'unparsed:a@x.com,b@y.com', false],
  ],
};
const NEW_PASSWORD = 'a brand new long passphrase';

const FINAL = new Set(['recovered', 'refused', 'accountUnavailable', 'switchedToEmail', 'handedToSupport', 'locked', 'cancelled', 'timedOut']);
const RESULT: Record<string, string> = {
  recovered: 'recovered',
  refused: 'refused',
  accountUnavailable: 'account_unavailable',
  switchedToEmail: 'switch_to_email',
  handedToSupport: 'support',
  locked: 'locked',
  cancelled: 'cancelled',
  timedOut: 'timed_out',
};

const handles = (kind: Kind): Record<string, readonly string[]> => {
  const sms = kind === 'sms';
  return {
    enteringChannel: ['channel.submit', 'support.request', 'flow.cancel', ...(sms ? ['number.deactivated'] : [])],
    awaitingCode: ['code.submit', 'code.resend', 'support.request', 'flow.cancel', ...(sms ? ['switch.toEmail', 'number.deactivated'] : ['link.open'])],
    codeExpired: ['code.submit', 'code.resend', 'support.request', 'flow.cancel', ...(sms ? ['switch.toEmail', 'number.deactivated'] : [])],
    linkOpened: ['link.confirm', 'flow.cancel'],
    secondFactor: ['secondFactor.submit', 'flow.cancel'],
    'hardening.choosingPassword': ['password.submit', 'flow.cancel'],
    'hardening.reviewingSecurity': ['session.revoke', 'security.done', 'flow.cancel'],
  };
};

class Model {
  state = 'enteringChannel';
  readonly code = new ChallengeModel(P.code.ttlMs);
  readonly link = new ChallengeModel(P.code.emailLinkTtlMs);
  readonly budgets = new Map<string, Budget>();
  readonly handled: Record<string, readonly string[]>;
  channel: string | null = null;
  /** The epoch the flow's codes are bound to, when the typed channel is bound to an active account. */
  subject: { readonly epoch: number } | null = null;
  account = { active: true, epoch: 0 };
  secondFactorWrong = 0;
  providerDrops = false;
  sent = 0;

  constructor(
    readonly kind: Kind,
    readonly secondFactor: boolean,
    public now: number,
    readonly expiresAt: number,
  ) {
    this.handled = handles(kind);
  }

  get top(): string {
    return this.state.split('.')[0] ?? this.state;
  }

  gate(type: string): Expected | undefined {
    if (FINAL.has(this.state)) return refused('flow_finished');
    if (!(this.handled[this.state] ?? []).includes(type)) return refused('event_not_accepted');
    return undefined;
  }

  send(): void {
    this.code.issue(this.now);
    if (this.kind === 'email') this.link.issue(this.now);
    const key = `sends:${this.kind === 'sms' ? 'phone' : 'email'}:${this.channel ?? ''}`;
    const budget = this.budgets.get(key) ?? new Budget(P.sends);
    this.budgets.set(key, budget);
    // Only a bound channel is sent anything; a failed delivery is never shown (it would say "bound").
    const result = deliver(this.code, budget, this.now, { sends: this.subject !== null, providerDrops: this.providerDrops, failureVisible: false });
    if (result === 'refused') this.link.kill(this.now);
    if (result === 'failed') this.providerDrops = false;
    if (result === 'sent') {
      this.sent += 1;
      this.link.delivered = this.link.counter;
    }
  }

  /** A presented code or link, judged as the flow judges it: an unknown channel's "right" code is a guess. */
  judge(which: ChallengeModel, right: boolean): Outcome {
    const staleEpoch = this.subject !== null && this.subject.epoch !== this.account.epoch;
    let outcome = which.outcome(this.now, right && !staleEpoch);
    if (this.subject === null && outcome === 'accepted') outcome = 'wrong';
    return outcome;
  }

  deadline(): number | null {
    if (FINAL.has(this.state)) return null;
    const waiting = this.top === 'awaitingCode' || this.top === 'linkOpened';
    const codeDeadline = waiting && this.code.live ? Math.max(this.code.expiresAt, this.link.live ? this.link.expiresAt : 0) : Number.POSITIVE_INFINITY;
    return Math.min(codeDeadline, this.expiresAt);
  }
}

interface Real extends Hosted {
  readonly account: Account;
  readonly authenticator: (() => string) | null;
}

const isCodeMessage = (key: string) => key.split(':').length === 3;

const codeMessages = (world: MemoryWorld, address: string) => world.messenger.sent.filter((m) => m.message.to === address && isCodeMessage(m.idempotencyKey));

const agree = async (m: Model, r: Real): Promise<void> => {
  const { view, nextDeadline } = await readFlow(r);
  expect({
    state: view.state,
    notice: view.notice,
    codeExpiresAt: view.codeExpiresAt,
    linkExpiresAt: view['linkExpiresAt'],
    resendAllowedAt: view.resendAllowedAt,
    triesLeft: view.triesLeft,
    result: view.result,
    nextDeadline,
    sent: codeMessages(r.host.world, ADDRESS[m.kind]).length,
  }).toEqual({
    state: m.state,
    notice: m.code.notice,
    codeExpiresAt: m.code.codeExpiresAt(),
    linkExpiresAt: m.kind === 'email' ? m.link.codeExpiresAt() : undefined,
    resendAllowedAt: m.code.resendAllowedAt,
    triesLeft: m.code.triesLeft(),
    result: RESULT[m.state] ?? null,
    nextDeadline: m.deadline(),
    sent: m.sent,
  });
};

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

const submitChannel = (m: Model, key: string, bound: boolean): Expected => {
  const gated = m.gate('channel.submit');
  if (gated !== undefined) return gated;
  m.channel = key;
  m.subject = bound && m.account.active ? { epoch: m.account.epoch } : null;
  m.state = 'awaitingCode';
  m.send();
  return applied;
};

/** Where an accepted challenge leads, by the facts about the account right now. */
const proven = (m: Model): string => {
  if (!m.account.active) return 'accountUnavailable';
  return m.secondFactor ? 'secondFactor' : 'hardening.choosingPassword';
};

const refuse = (m: Model, which: ChallengeModel, outcome: Exclude<Outcome, 'accepted'>, canLock: boolean): void => {
  const outOfTries = which.spend(outcome);
  if (canLock && outcome === 'wrong' && outOfTries) {
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else {
    m.code.notice = NOTICE_FOR[outcome];
  }
};

const submitCode = (m: Model, right: boolean): Expected => {
  const gated = m.gate('code.submit');
  if (gated !== undefined) return gated;
  if (m.state === 'codeExpired') {
    m.code.notice = { code: 'code_expired' };
    return applied;
  }
  const outcome = m.judge(m.code, right);
  if (outcome === 'accepted') {
    m.code.spend(outcome);
    m.code.notice = null;
    m.state = proven(m);
  } else refuse(m, m.code, outcome, true);
  return applied;
};

const openLink = (m: Model, right: boolean): Expected => {
  const gated = m.gate('link.open');
  if (gated !== undefined) return gated;
  // Opening only looks (mail scanners open links): nothing is used up, and guesses never lock the flow.
  const outcome = m.judge(m.link, right);
  if (outcome === 'accepted') m.state = m.account.active ? 'linkOpened' : 'accountUnavailable';
  else refuse(m, m.link, outcome, false);
  return applied;
};

const confirmLink = (m: Model, right: boolean): Expected => {
  const gated = m.gate('link.confirm');
  if (gated !== undefined) return gated;
  const outcome = m.judge(m.link, right);
  if (outcome === 'accepted') {
    m.link.spend(outcome);
    m.code.notice = null;
    m.state = proven(m);
  } else refuse(m, m.link, outcome, true);
  return applied;
};

const submitSecondFactor = (m: Model, right: boolean): Expected => {
  const gated = m.gate('secondFactor.submit');
  if (gated !== undefined) return gated;
  if (right) {
    m.code.notice = null;
    m.state = 'hardening.choosingPassword';
  } else if (m.secondFactorWrong + 1 >= P.code.maxWrongPerCode) {
    m.secondFactorWrong += 1;
    m.state = 'locked';
    m.code.notice = LOCKED;
  } else {
    m.secondFactorWrong += 1;
    m.code.notice = { code: 'code_invalid' };
  }
  return applied;
};

const submitPassword = (m: Model, password: string): Expected => {
  const gated = m.gate('password.submit');
  if (gated !== undefined) return gated;
  if (password.length < P.password.minLength) return refused('password_too_short');
  if (password === OLD_PASSWORD) return refused('password_reused');
  m.code.notice = null;
  // The new password applies only at the epoch the flow started under, to an active account.
  if (m.account.active && m.subject !== null && m.subject.epoch === m.account.epoch) {
    m.account.epoch += 1;
    m.state = 'hardening.reviewingSecurity';
  } else m.state = 'refused';
  return applied;
};

const tick = (m: Model): void => {
  if (FINAL.has(m.state)) return;
  const waiting = m.top === 'awaitingCode' || m.top === 'linkOpened';
  const linkOver = !m.link.issued || m.now >= m.link.expiresAt;
  if (waiting && m.code.live && m.now >= m.code.expiresAt && linkOver) m.state = 'codeExpired';
  // The password is reset by then: the lifetime ends the optional review, not the recovery.
  else if (m.now >= m.expiresAt) m.state = m.state === 'hardening.reviewingSecurity' ? 'recovered' : 'timedOut';
};

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const { act, twice, times, malformed, world, waits, wake, restart } = storyKit(agree);

const lastMessage = (m: Model, r: Real) => codeMessages(r.host.world, ADDRESS[m.kind]).at(-1)?.message.text;
const deliveredCode = (m: Model, r: Real) => ({ type: 'code.submit', code: lastMessage(m, r)?.match(/\b\d{6}\b/)?.[0] ?? '000000' });
const deliveredLink = (type: 'link.open' | 'link.confirm') => (m: Model, r: Real) => ({ type, token: lastMessage(m, r)?.match(/[?&]token=([\w-]+)/)?.[1] ?? 'never-delivered-token' });

const typeChannel = (_kind: Kind) => ([typed, key, bound]: readonly [string, string, boolean]): Cmd =>
  act(`type "${typed}"`, (m) => submitChannel(m, key, bound), () => ({ type: 'channel.submit', channel: typed }));

const wrongCodes = (n: number): Cmd =>
  times(n, `type ${n} wrong code${n === 1 ? '' : 's'}`, (m) => submitCode(m, false), wrongCode);

const commands = (kind: Kind): fc.Arbitrary<Cmd>[] =>
  weighted<Cmd>([
    [3, fc.constantFrom(...TYPED[kind]).map(typeChannel(kind))],
    [10, fc.constant(act('type the code from the last message', (m) => submitCode(m, m.code.reached), deliveredCode))],
    [3, fc.constant(act('type the code the server would expect (an insider guess)', (m) => submitCode(m, true), (_m, r) => ({ type: 'code.submit', code: currentCode(r.host.world, r.flowId) ?? '000000' })))],
    [8, fc.integer({ min: 1, max: P.code.maxWrongPerCode }).map(wrongCodes)],
    [8, fc.constant(act('ask for a new code', askResend, () => ({ type: 'code.resend' })))],
    ...(kind === 'email'
      ? ([
          [6, fc.constant(act('open the link from the last e-mail', (m) => openLink(m, m.link.reached), deliveredLink('link.open')))],
          [6, fc.constant(act('confirm the link from the last e-mail', (m) => confirmLink(m, m.link.reached), deliveredLink('link.confirm')))],
          [2, fc.constantFrom('link.open', 'link.confirm').map((type) => act(`${type === 'link.open' ? 'open' : 'confirm'} a forged link`, (m) => (type === 'link.open' ? openLink(m, false) : confirmLink(m, false)), () => ({ type, token: 'AAAAAAAAAAAAAAAAAAAAAA' })))],
        ] as const)
      : ([
          [1, fc.constant(act('say the code never arrives: switch to e-mail', exit('switch.toEmail', 'switchedToEmail'), () => ({ type: 'switch.toEmail' })))],
          [1, fc.constant(act('say the number is deactivated', exit('number.deactivated', 'handedToSupport'), () => ({ type: 'number.deactivated' })))],
        ] as const)),
    [1, fc.constant(act('ask for customer support', exit('support.request', 'handedToSupport'), () => ({ type: 'support.request' })))],
    [6, fc.constant(act('type the authenticator code', (m) => submitSecondFactor(m, true), (_m, r) => ({ type: 'secondFactor.submit', code: r.authenticator?.() ?? '000000' })))],
    [3, fc.constant(act('type a wrong authenticator code', (m) => submitSecondFactor(m, false), () => ({ type: 'secondFactor.submit', code: 'zzzzzz' })))],
    [
      6,
      fc.constantFrom(NEW_PASSWORD, NEW_PASSWORD, OLD_PASSWORD, 'short').map((password) =>
        act(`choose the password "${password}"`, (m) => submitPassword(m, password), () => ({ type: 'password.submit', password })),
      ),
    ],
    [2, fc.constant(act('sign out a device from the review', (m) => m.gate('session.revoke') ?? applied, () => ({ type: 'session.revoke', sessionId: 'sess-elsewhere' })))],
    [3, fc.constant(act('finish the security review', exit('security.done', 'recovered'), () => ({ type: 'security.done' })))],
    [1, fc.constant(act('cancel', (m) => exit<Model>('flow.cancel', m.state === 'hardening.reviewingSecurity' ? 'recovered' : 'cancelled')(m), () => ({ type: 'flow.cancel' })))],
    [2, malformed()],
    [8, waits([P.sends.cooldownMs, P.code.ttlMs, P.code.emailLinkTtlMs, HOUR, DAY, 30 * DAY])],
    [5, fc.constant(wake(tick))],
    [2, fc.constant(world('the provider will drop the next code', providerDropsNextCode))],
    [
      1,
      fc.constant(
        world(
          'the account is deactivated meanwhile',
          (m, r) => {
            m.account.active = false;
            r.host.world.directory.deactivate(r.account.id);
          },
          (m) => m.account.active,
        ),
      ),
    ],
    [
      1,
      fc.constant(
        world('the password is changed elsewhere (the epoch moves on)', (m, r) => {
          m.account.epoch += 1;
          r.host.world.directory.bumpEpoch(r.account.id);
        }),
      ),
    ],
    [
      3,
      fc.constantFrom(
        twice('type the code from the last message', (m) => submitCode(m, m.code.reached), deliveredCode),
        twice('ask for a new code', askResend, () => ({ type: 'code.resend' })),
        twice(`choose the password "${NEW_PASSWORD}"`, (m) => submitPassword(m, NEW_PASSWORD), () => ({ type: 'password.submit', password: NEW_PASSWORD })),
      ),
    ],
    [1, fc.constant(restart())],
  ]);

const setup = async (kind: Kind, secondFactor: boolean, replacement?: Replacement) => {
  const host = hostWith(replacement);
  const account = await seedAccount(host.world, { phone: ADDRESS.sms, email: ADDRESS.email });
  const authenticator = secondFactor ? await enrollTotp(host.world, account.id) : null;
  const { flowId } = await startFlow(host, kind === 'sms' ? 'smsRecovery' : 'emailRecovery');
  const now = host.world.clock.now();
  return { model: new Model(kind, secondFactor, now, now + P.flowMaxLifetimeMs), real: { host, flowId, account, authenticator } };
};

/** Most stories start with the bound channel typed, so their commands are spent further in. */
const followsTheModel = (kind: Kind, replacement?: Replacement) =>
  stories(
    [fc.option(fc.oneof({ weight: 3, arbitrary: fc.constant(TYPED[kind][0] as (typeof TYPED)[Kind][number]) }, { weight: 2, arbitrary: fc.constantFrom(...TYPED[kind]) }), { freq: 4, nil: undefined }), fc.boolean()],
    commands(kind),
    40,
    async (first, secondFactor) => {
      const story = await setup(kind, secondFactor, replacement);
      if (first !== undefined) await typeChannel(kind)(first).run(story.model, story.real);
      return story;
    },
  );

export const channelRecoveryModelSuite = (kind: Kind): void => {
  describe(`${kind === 'sms' ? 'SMS' : 'e-mail'} recovery model`, () => {
    it('should behave as the reference model after every command', async () => {
      await fc.assert(followsTheModel(kind));
    });

    itHasTeeth('should catch a code that still verifies at its expiry instant (the model has teeth)', async () => {
      const lateExpiry = (ports: FlowPorts): FlowDefinition => {
        // The check sees the clock one millisecond early: the boundary instant turns "not yet expired".
        const codeSecrets = { ...ports.codeSecrets, check: (state: never, check: { now: number }) => ports.codeSecrets.check(state, { ...(check as object), now: check.now - 1 } as never) };
        return channelRecoveryFlow(kind, { ...ports, codeSecrets } as FlowPorts) as FlowDefinition;
      };
      const result = await fc.check(followsTheModel(kind, lateExpiry), { seed: TEETH_SEED, numRuns: 300 });
      expect(result.failed).toBe(true);
      expect(String(result.counterexample)).toMatch(/wait/);
    });
  });
};
