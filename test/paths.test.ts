/**
 * Path coverage from the statecharts. For every machine: the states and transitions (source
 * state, event, guard branch) as `machineGraph` reads them from the definition; a breadth-first
 * search through the real runtime (see `test/support/pathExplorer.ts` for why not xstate's graph
 * traversal) for the shortest move sequence reaching each; and a covering set of walks, each run
 * below as its own test. A machine that gains a state or a transition no path reaches fails here,
 * and so does an entry in a spec's `unreachable` list that a path does reach (or that no longer
 * exists): the list only ever names transitions with a reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { MemoryWorld } from '../src/adapters/memory/index.ts';
import type { Account } from '../src/domain/account.ts';
import type { Handle } from '../src/domain/handle.ts';
import type { Phone } from '../src/domain/phone.ts';
import { bindingFlow } from '../src/flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../src/flows/channelRecovery.ts';
import { friendAssistFlow } from '../src/flows/friendAssist.ts';
import { manualReviewFlow } from '../src/flows/manualReview.ts';
import { providerVerdict, realNameFlow } from '../src/flows/realName.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import { totpEnrollmentFlow } from '../src/flows/totpEnrollment.ts';
import { enrollmentSecret } from '../machines/totpEnrollment.ts';
import { totpAt } from '../src/domain/hotp.ts';
import { friendBudgetRule, nominationKey, vouchKey, vouchRule } from '../src/domain/friendAssist.ts';
import type { HostSession } from '../src/runtime/runtime.ts';
import { HOUR } from '../src/domain/time.ts';
import { seedAccount } from './support/accounts.ts';
import { currentCode, type FaultyHost, notTheCode } from './support/faultyHost.ts';
import { enrollTotp, OWNER_HANDLE, seedFriends } from './support/friends.ts';
import { type Exploration, explore, type Move, type PathContext, type PathSpec, persist, runPath, sendIgnoring, storedState, wakeAtDeadline } from './support/pathExplorer.ts';

// Small limits keep the searches shallow; the machines are the same whatever the numbers.
const TIGHT = { code: { maxWrongPerCode: 2, maxWrongPerFlow: 3 } } as const;

const move = <F>(name: string, run: (ctx: PathContext<F>) => Promise<unknown>): Move<F> => ({ name, run });

const codeAbstraction = (c: Record<string, unknown>, now: number) => {
  const code = c['code'] as { wrongForCode: number; wrongForFlow: number; used: boolean; expiresAt: number } | null;
  const resendAllowedAt = c['resendAllowedAt'] as number | null;
  return {
    code: code === null ? null : [code.wrongForCode, code.wrongForFlow, code.used, now >= code.expiresAt],
    cooled: resendAllowedAt === null || now >= resendAllowedAt,
  };
};

/** A guesser: wrong codes, a new code when one is spent, until the flow leaves `states`. */
const guessCodes = <F>(ctx: PathContext<F>, send: (event: unknown) => Promise<unknown>, states: readonly string[] = ['awaitingCode']) =>
  persist(ctx, states, async () => {
    const code = ctx.context()['code'] as { wrongForCode: number } | null;
    if (code !== null && code.wrongForCode >= ctx.world.policy.code.maxWrongPerCode) {
      ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs);
      await send({ type: 'code.resend' });
    } else await send({ type: 'code.submit', code: notTheCode(currentCode(ctx.world, ctx.flowId)) });
  });

/** The host dies right after saving a resend, and is back at the code's deadline with `fault` in place. */
const crashThenDeadline = async <F>(ctx: PathContext<F>, send: (event: unknown) => Promise<unknown>, fault: () => void) => {
  ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs);
  ctx.host.faults.crashAfterNextSave = true;
  await send({ type: 'code.resend' });
  fault();
  await wakeAtDeadline(ctx);
};

/** Someone else's flow just sent a code to `key`'s address: the shared budget refuses the next send. */
const spendBudget = (world: MemoryWorld, key: string) => world.budgets.consumeNow(key, world.policy.sends, world.clock.now());

// ---------------------------------------------------------------------------------------------
// registration
// ---------------------------------------------------------------------------------------------

const CN = '+8613800138000';

type RegFixtures = Record<string, never>;

const typeNumber = (ctx: PathContext<RegFixtures>) => sendIgnoring(ctx, { type: 'phone.submit', phone: CN });
const resendNow = (ctx: PathContext<RegFixtures>) => sendIgnoring(ctx, { type: 'code.resend' });
const afterCooldown = async (ctx: PathContext<RegFixtures>) => {
  ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs);
};

const registration: PathSpec<RegFixtures> = {
  flow: 'registration',
  definition: registrationFlow,
  policy: TIGHT,
  setup: async (host) => {
    host.world.directory.createNow({ phone: '+8613700137000' as Phone, handle: 'taken_x' as Handle, passwordHash: 'x', at: 0 });
    const started = await host.runtime.start('registration', {});
    if (started._tag === 'Left') throw new Error(started.left.message);
    return { flowId: started.right.flowId, fixtures: {} };
  },
  moves: [
    move('type the number', typeNumber),
    move('type the number; the provider drops the code', (ctx) => ((ctx.host.faults.dropNextCode = true), typeNumber(ctx))),
    move('type the number; its send budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, `sends:phone:${CN}`), typeNumber(ctx))),
    move('type the right code', (ctx) => sendIgnoring(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) })),
    move('someone registers the number; type the right code', (ctx) => {
      ctx.world.directory.createNow({ phone: CN as Phone, handle: 'squatter' as Handle, passwordHash: 'x', at: 0 });
      return sendIgnoring(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) });
    }),
    move('type a wrong code', (ctx) => sendIgnoring(ctx, { type: 'code.submit', code: notTheCode(currentCode(ctx.world, ctx.flowId)) })),
    move('guess codes until the flow ends', (ctx) => guessCodes(ctx, (e) => sendIgnoring(ctx, e))),
    move('the host dies after saving a resend; at the deadline the provider is down', (ctx) => crashThenDeadline(ctx, (e) => sendIgnoring(ctx, e), () => (ctx.host.faults.dropNextCode = true))),
    move('the host dies after saving a resend; at the deadline the budget is spent elsewhere', (ctx) => crashThenDeadline(ctx, (e) => sendIgnoring(ctx, e), () => spendBudget(ctx.world, `sends:phone:${CN}`))),
    move('ask for a new code at once', resendNow),
    move('wait out the cooldown; ask for a new code', async (ctx) => (await afterCooldown(ctx), resendNow(ctx))),
    move('wait out the cooldown; ask for a new code; the provider drops it', async (ctx) => (await afterCooldown(ctx), (ctx.host.faults.dropNextCode = true), resendNow(ctx))),
    move('wait out the cooldown; ask for a new code; the host dies after saving', async (ctx) => (await afterCooldown(ctx), (ctx.host.faults.crashAfterNextSave = true), resendNow(ctx))),
    move('wake at the deadline', wakeAtDeadline),
    move('wake at the deadline; the provider is down', (ctx) => ((ctx.host.faults.dropNextCode = true), wakeAtDeadline(ctx))),
    move('wake at the deadline; the budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, `sends:phone:${CN}`), wakeAtDeadline(ctx))),
    move('choose a free handle', (ctx) => sendIgnoring(ctx, { type: 'handle.submit', handle: 'alice_01' })),
    move('choose a taken handle', (ctx) => sendIgnoring(ctx, { type: 'handle.submit', handle: 'taken_x' })),
    move('choose the password', (ctx) => sendIgnoring(ctx, { type: 'password.submit', password: 'correct horse battery staple' })),
    move('someone takes the handle; choose the password', (ctx) => {
      ctx.world.directory.createNow({ phone: '+8613600136000' as Phone, handle: 'alice_01' as Handle, passwordHash: 'x', at: 0 });
      return sendIgnoring(ctx, { type: 'password.submit', password: 'correct horse battery staple' });
    }),
    move('someone registers the number; choose the password', (ctx) => {
      ctx.world.directory.createNow({ phone: CN as Phone, handle: 'squatter' as Handle, passwordHash: 'x', at: 0 });
      return sendIgnoring(ctx, { type: 'password.submit', password: 'correct horse battery staple' });
    }),
    move('cancel', (ctx) => sendIgnoring(ctx, { type: 'flow.cancel' })),
  ],
  abstract: codeAbstraction,
  limit: 80,
  depth: 8,
};

// ---------------------------------------------------------------------------------------------
// SMS and e-mail recovery
// ---------------------------------------------------------------------------------------------

interface AccountFixtures {
  readonly account: Account;
  authenticator?: () => string;
}

const EMAIL = 'wang@example.com';
const NEW_PASSWORD = 'a brand new long passphrase';

const linkAbstraction = (c: Record<string, unknown>, now: number) => {
  const link = c['link'] as { wrongForCode: number; wrongForFlow: number; used: boolean; expiresAt: number } | null;
  return link === null ? null : [link.wrongForCode, link.wrongForFlow, link.used, now >= link.expiresAt];
};

const currentLink = (ctx: PathContext<AccountFixtures>): string => {
  const link = ctx.context()['link'] as { binding: never; counter: number } | null;
  return link === null ? 'no-link-yet' : ctx.world.codeSecrets.linkToken(link.binding, link.counter);
};

const enrol = async (ctx: PathContext<AccountFixtures>) => {
  if (ctx.fixtures.authenticator === undefined) ctx.fixtures.authenticator = await enrollTotp(ctx.world, ctx.fixtures.account.id);
};

const recoverySpec = (kind: 'sms' | 'email'): PathSpec<AccountFixtures> => {
  const address = kind === 'sms' ? CN : EMAIL;
  const budgetKey = `sends:${kind === 'sms' ? 'phone' : 'email'}:${address}`;
  const typeBound = (ctx: PathContext<AccountFixtures>) => sendIgnoring(ctx, { type: 'channel.submit', channel: address });
  const resend = (ctx: PathContext<AccountFixtures>) => sendIgnoring(ctx, { type: 'code.resend' });
  const cooled = async (ctx: PathContext<AccountFixtures>) => {
    ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs);
  };
  const rightCode = (ctx: PathContext<AccountFixtures>) => sendIgnoring(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) });
  const moves: Move<AccountFixtures>[] = [
    move('type the bound channel', typeBound),
    move('type the bound channel; the provider drops the code', (ctx) => ((ctx.host.faults.dropNextCode = true), typeBound(ctx))),
    move('type the bound channel; its budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, budgetKey), typeBound(ctx))),
    move('type an unknown channel', (ctx) => sendIgnoring(ctx, { type: 'channel.submit', channel: kind === 'sms' ? '+8613700137000' : 'nobody@example.com' })),
    move('type the right code', rightCode),
    move('type a wrong code', (ctx) => sendIgnoring(ctx, { type: 'code.submit', code: notTheCode(currentCode(ctx.world, ctx.flowId)) })),
    move('guess codes until the flow ends', (ctx) => guessCodes(ctx, (e) => sendIgnoring(ctx, e))),
    move('the host dies after saving a resend; at the deadline the provider is down', (ctx) => crashThenDeadline(ctx, (e) => sendIgnoring(ctx, e), () => (ctx.host.faults.dropNextCode = true))),
    move('the host dies after saving a resend; at the deadline the budget is spent elsewhere', (ctx) => crashThenDeadline(ctx, (e) => sendIgnoring(ctx, e), () => spendBudget(ctx.world, budgetKey))),
    move('guess authenticator codes until the flow ends', (ctx) => persist(ctx, ['secondFactor'], () => sendIgnoring(ctx, { type: 'secondFactor.submit', code: 'zzzzzz' }))),
    move('the account turns on 2FA', enrol),
    move('the account is deactivated', async (ctx) => ctx.world.directory.deactivate(ctx.fixtures.account.id)),
    move('the account moves to a new epoch', async (ctx) => ctx.world.directory.bumpEpoch(ctx.fixtures.account.id)),
    move('type the authenticator code', (ctx) => sendIgnoring(ctx, { type: 'secondFactor.submit', code: ctx.fixtures.authenticator?.() ?? '000000' })),
    move('type a wrong authenticator code', (ctx) => sendIgnoring(ctx, { type: 'secondFactor.submit', code: 'zzzzzz' })),
    move('ask for a new code at once', resend),
    move('wait out the cooldown; ask for a new code', async (ctx) => (await cooled(ctx), resend(ctx))),
    move('wait out the cooldown; ask for a new code; the host dies after saving', async (ctx) => (await cooled(ctx), (ctx.host.faults.crashAfterNextSave = true), resend(ctx))),
    move('wake at the deadline', wakeAtDeadline),
    move('wake at the deadline; the provider is down', (ctx) => ((ctx.host.faults.dropNextCode = true), wakeAtDeadline(ctx))),
    move('wake at the deadline; the budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, budgetKey), wakeAtDeadline(ctx))),
    move('ask for support', (ctx) => sendIgnoring(ctx, { type: 'support.request' })),
    move('choose the new password', (ctx) => sendIgnoring(ctx, { type: 'password.submit', password: NEW_PASSWORD })),
    move('sign out a device', (ctx) => sendIgnoring(ctx, { type: 'session.revoke', sessionId: 'sess-1' })),
    move('finish the review', (ctx) => sendIgnoring(ctx, { type: 'security.done' })),
    move('cancel', (ctx) => sendIgnoring(ctx, { type: 'flow.cancel' })),
    ...(kind === 'sms'
      ? [move<AccountFixtures>('switch to e-mail', (ctx) => sendIgnoring(ctx, { type: 'switch.toEmail' })), move<AccountFixtures>('say the number is deactivated', (ctx) => sendIgnoring(ctx, { type: 'number.deactivated' }))]
      : [
          move<AccountFixtures>('open the link', (ctx) => sendIgnoring(ctx, { type: 'link.open', token: currentLink(ctx) })),
          move<AccountFixtures>('open a forged link', (ctx) => sendIgnoring(ctx, { type: 'link.open', token: 'AAAAAAAAAAAAAAAAAAAAAA' })),
          move<AccountFixtures>('confirm the link', (ctx) => sendIgnoring(ctx, { type: 'link.confirm', token: currentLink(ctx) })),
          move<AccountFixtures>('confirm a forged link', (ctx) => sendIgnoring(ctx, { type: 'link.confirm', token: 'AAAAAAAAAAAAAAAAAAAAAA' })),
          move<AccountFixtures>('guess links (opening a real one when a link is spent) until the flow ends', (ctx) =>
            persist(ctx, ['awaitingCode', 'linkOpened'], async () => {
              const link = ctx.context()['link'] as { wrongForCode: number } | null;
              if (storedState(ctx) === 'linkOpened') await sendIgnoring(ctx, { type: 'link.confirm', token: 'AAAAAAAAAAAAAAAAAAAAAA' });
              else if (link !== null && link.wrongForCode >= ctx.world.policy.code.maxWrongPerCode) {
                await cooled(ctx);
                await resend(ctx);
                await sendIgnoring(ctx, { type: 'link.open', token: currentLink(ctx) });
              } else await sendIgnoring(ctx, { type: 'link.open', token: 'AAAAAAAAAAAAAAAAAAAAAA' });
            }),
          ),
        ]),
  ];
  return {
    flow: kind === 'sms' ? 'smsRecovery' : 'emailRecovery',
    definition: kind === 'sms' ? smsRecoveryFlow : emailRecoveryFlow,
    policy: TIGHT,
    setup: async (host) => {
      const account = await seedAccount(host.world, { phone: CN, email: EMAIL });
      const started = await host.runtime.start(kind === 'sms' ? 'smsRecovery' : 'emailRecovery', {});
      if (started._tag === 'Left') throw new Error(started.left.message);
      return { flowId: started.right.flowId, fixtures: { account } };
    },
    moves,
    abstract: (c, now, ctx) => [codeAbstraction(c, now), linkAbstraction(c, now), c['secondFactorWrong'], c['subject'] === null, c['applied'], ctx.fixtures.authenticator !== undefined, ctx.world.directory.peek(ctx.fixtures.account.id)?.status, ctx.world.directory.peek(ctx.fixtures.account.id)?.securityEpoch],
    limit: 160,
    depth: 9,
  };
};

// ---------------------------------------------------------------------------------------------
// binding
// ---------------------------------------------------------------------------------------------

interface BindingFixtures {
  readonly account: Account;
  readonly owner: HostSession;
}

const binding: PathSpec<BindingFixtures> = {
  flow: 'binding',
  definition: bindingFlow,
  policy: TIGHT,
  setup: async (host) => {
    const account = await seedAccount(host.world, { phone: CN });
    const owner: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
    const started = await host.runtime.start('binding', {}, owner);
    if (started._tag === 'Left') throw new Error(started.left.message);
    return { flowId: started.right.flowId, fixtures: { account, owner } };
  },
  moves: (() => {
    const own = (ctx: PathContext<BindingFixtures>, event: unknown) => sendIgnoring(ctx, event, ctx.fixtures.owner);
    const submit = (ctx: PathContext<BindingFixtures>) => own(ctx, { type: 'channel.submit', kind: 'email', value: 'new@example.com' });
    const resend = (ctx: PathContext<BindingFixtures>) => own(ctx, { type: 'code.resend' });
    const cooled = async (ctx: PathContext<BindingFixtures>) => {
      ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs);
    };
    const rightCode = (ctx: PathContext<BindingFixtures>) => own(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) });
    return [
      move<BindingFixtures>('bind a new e-mail', submit),
      move<BindingFixtures>('bind a new e-mail; the provider drops the code', (ctx) => ((ctx.host.faults.dropNextCode = true), submit(ctx))),
      move<BindingFixtures>('bind a new e-mail; its budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, 'sends:email:new@example.com'), submit(ctx))),
      move<BindingFixtures>('type the right code', rightCode),
      move<BindingFixtures>('someone else binds that e-mail; type the right code', (ctx) => {
        ctx.world.directory.createNow({ phone: '+8613600136000' as Phone, email: 'new@example.com' as never, handle: 'someone_else' as Handle, passwordHash: 'x', at: 0 });
        return rightCode(ctx);
      }),
      move<BindingFixtures>('type the right code; the host dies after saving', (ctx) => ((ctx.host.faults.crashAfterNextSave = true), rightCode(ctx))),
      move<BindingFixtures>('a recovery elsewhere moves the account to a new epoch', async (ctx) => ctx.world.directory.bumpEpoch(ctx.fixtures.account.id)),
      move<BindingFixtures>('the host runs the pending outbox', (ctx) => ctx.runtime.drain(ctx.flowId)),
      move<BindingFixtures>('type a wrong code', (ctx) => own(ctx, { type: 'code.submit', code: notTheCode(currentCode(ctx.world, ctx.flowId)) })),
      move<BindingFixtures>('guess codes until the flow ends', (ctx) => guessCodes(ctx, (e) => own(ctx, e))),
      move<BindingFixtures>('the host dies after saving a resend; at the deadline the provider is down', (ctx) => crashThenDeadline(ctx, (e) => own(ctx, e), () => (ctx.host.faults.dropNextCode = true))),
      move<BindingFixtures>('the host dies after saving a resend; at the deadline the budget is spent elsewhere', (ctx) => crashThenDeadline(ctx, (e) => own(ctx, e), () => spendBudget(ctx.world, 'sends:email:new@example.com'))),
      move<BindingFixtures>('ask for a new code at once', resend),
      move<BindingFixtures>('wait out the cooldown; ask for a new code', async (ctx) => (await cooled(ctx), resend(ctx))),
      move<BindingFixtures>('wait out the cooldown; ask for a new code; the host dies after saving', async (ctx) => (await cooled(ctx), (ctx.host.faults.crashAfterNextSave = true), resend(ctx))),
      move<BindingFixtures>('wake at the deadline', wakeAtDeadline),
      move<BindingFixtures>('wake at the deadline; the provider is down', (ctx) => ((ctx.host.faults.dropNextCode = true), wakeAtDeadline(ctx))),
      move<BindingFixtures>('wake at the deadline; the budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, 'sends:email:new@example.com'), wakeAtDeadline(ctx))),
      move<BindingFixtures>('wait a lifetime minus a minute', async (ctx) => void ctx.world.clock.advanceBy(ctx.world.policy.flowMaxLifetimeMs - 60_000)),
      move<BindingFixtures>('the owner signs out; send a resend', async (ctx) => {
        await ctx.world.sessions.revoke(ctx.fixtures.owner.sessionId as string, ctx.world.clock.now());
        return resend(ctx);
      }),
      move<BindingFixtures>('cancel', (ctx) => own(ctx, { type: 'flow.cancel' })),
    ];
  })(),
  abstract: (c, now, ctx) => [codeAbstraction(c, now), Math.sign((c['expiresAt'] as number) - now - ctx.world.policy.code.ttlMs), now >= (c['expiresAt'] as number), ctx.world.directory.peek(ctx.fixtures.account.id)?.securityEpoch],
  limit: 120,
  depth: 8,
};

// ---------------------------------------------------------------------------------------------
// real-name verification
// ---------------------------------------------------------------------------------------------

interface SignedInFixtures {
  readonly account: Account;
  readonly owner: HostSession;
}

const signedIn = async (host: FaultyHost, flow: string): Promise<{ flowId: string; fixtures: SignedInFixtures }> => {
  const account = await seedAccount(host.world, { phone: CN });
  const owner: HostSession = { actor: account.id, sessionId: host.world.sessions.signIn(account.id, 0, host.world.clock.now()).id };
  const started = await host.runtime.start(flow, {}, owner);
  if (started._tag === 'Left') throw new Error(started.left.message);
  return { flowId: started.right.flowId, fixtures: { account, owner } };
};

const attempt = (ctx: PathContext<SignedInFixtures>) => ctx.context()['submissions'] as number;

const realName: PathSpec<SignedInFixtures> = {
  flow: 'realName',
  definition: realNameFlow,
  policy: { realName: { maxSubmissions: 2 } },
  setup: (host) => signedIn(host, 'realName'),
  moves: [
    move('submit the provider reference', (ctx) => sendIgnoring(ctx, { type: 'realName.submit', reference: 'kyc_ref_0001' }, ctx.fixtures.owner)),
    move('submit the reference; the provider cannot take it', (ctx) => {
      const provider = ctx.world.realNameProvider;
      const submit = provider.submit.bind(provider);
      provider.submit = async () => ((provider.submit = submit), { accepted: false });
      return sendIgnoring(ctx, { type: 'realName.submit', reference: 'kyc_ref_0001' }, ctx.fixtures.owner);
    }),
    move('the provider verifies the current attempt', (ctx) => providerVerdict(ctx.runtime, ctx.flowId, { type: 'provider.verified', attempt: attempt(ctx) })),
    move('the provider rejects the current attempt', (ctx) => providerVerdict(ctx.runtime, ctx.flowId, { type: 'provider.rejected', attempt: attempt(ctx), reason: 'document_unreadable' })),
    move('wake at the deadline', wakeAtDeadline),
    move('cancel', (ctx) => sendIgnoring(ctx, { type: 'flow.cancel' }, ctx.fixtures.owner)),
  ],
  abstract: (c) => [c['submissions'], c['verdictDueAt'] === null],
  limit: 60,
  depth: 8,
};

// ---------------------------------------------------------------------------------------------
// TOTP enrollment
// ---------------------------------------------------------------------------------------------

const enrollmentCode = (ctx: PathContext<SignedInFixtures>) => totpAt(enrollmentSecret(ctx.world.codeSecrets, ctx.context()['secretRef'] as string), ctx.world.clock.now());

const totpEnrollment: PathSpec<SignedInFixtures> = {
  flow: 'totpEnrollment',
  definition: totpEnrollmentFlow,
  policy: TIGHT,
  setup: (host) => signedIn(host, 'totpEnrollment'),
  moves: [
    move('type the code the app shows', (ctx) => sendIgnoring(ctx, { type: 'totp.confirm', code: enrollmentCode(ctx) }, ctx.fixtures.owner)),
    move('type a wrong code', (ctx) => sendIgnoring(ctx, { type: 'totp.confirm', code: notTheCode(enrollmentCode(ctx)) }, ctx.fixtures.owner)),
    move('acknowledge the backup codes', (ctx) => sendIgnoring(ctx, { type: 'backupCodes.acknowledged' }, ctx.fixtures.owner)),
    move('wake at the deadline', wakeAtDeadline),
    move('cancel', (ctx) => sendIgnoring(ctx, { type: 'flow.cancel' }, ctx.fixtures.owner)),
  ],
  abstract: (c) => [c['wrongTries']],
  limit: 40,
  depth: 6,
};

// ---------------------------------------------------------------------------------------------
// friend-assisted recovery
// ---------------------------------------------------------------------------------------------

interface FriendFixtures {
  readonly owner: Account;
  readonly friends: readonly Account[];
  readonly token: string;
  authenticator?: () => string;
}

const requester = (ctx: PathContext<FriendFixtures>, event: Record<string, unknown>) => sendIgnoring(ctx, { ...event, token: ctx.fixtures.token });
const asAccount = async (ctx: PathContext<FriendFixtures>, account: Account, event: unknown) => {
  const epoch = ctx.world.directory.peek(account.id)?.securityEpoch ?? 0;
  return sendIgnoring(ctx, event, { actor: account.id, sessionId: ctx.world.sessions.signIn(account.id, epoch, ctx.world.clock.now()).id });
};
type FriendNominee = { readonly friendId: string | null; readonly vouch: string; readonly replaced: boolean };
/** The first current nominee who has not confirmed yet. */
const nextConfirmer = (ctx: PathContext<FriendFixtures>) => {
  const nominees = (ctx.context()['nominees'] as FriendNominee[]).filter((n) => !n.replaced && n.vouch === 'none');
  return ctx.fixtures.friends.find((f) => nominees.some((n) => n.friendId === f.id));
};
const confirmNext = async (ctx: PathContext<FriendFixtures>) => {
  const friend = nextConfirmer(ctx);
  if (friend !== undefined) await asAccount(ctx, friend, { type: 'friend.confirm' });
};
const handlesOf = (friends: readonly Account[]) => friends.map((f) => f.handle);

const friendAssist: PathSpec<FriendFixtures> = {
  flow: 'friendAssist',
  definition: friendAssistFlow,
  policy: TIGHT,
  setup: async (host) => {
    const { owner, friends } = await seedFriends(host.world, 5);
    const started = await host.runtime.start('friendAssist', {});
    if (started._tag === 'Left') throw new Error(started.left.message);
    return { flowId: started.right.flowId, fixtures: { owner: owner as Account, friends, token: started.right.view['requesterToken'] as string } };
  },
  moves: [
    move('name the account', (ctx) => requester(ctx, { type: 'account.submit', handle: OWNER_HANDLE })),
    move('name four friends', (ctx) => requester(ctx, { type: 'friends.nominate', handles: handlesOf(ctx.fixtures.friends.slice(0, 4)) })),
    move('name three friends; the nominations budget was spent by earlier attempts', (ctx) => {
      const key = nominationKey(ctx.fixtures.owner.id, OWNER_HANDLE);
      const rule = friendBudgetRule(ctx.world.policy, 'friends.nominations');
      for (let i = 0; i < 4; i++) ctx.world.budgets.consumeNow(key, rule, ctx.world.clock.now());
      return requester(ctx, { type: 'friends.nominate', handles: handlesOf(ctx.fixtures.friends.slice(0, 3)) });
    }),
    move('the next named friend confirms', confirmNext),
    move('the next named friend confirms; the host dies after saving', (ctx) => ((ctx.host.faults.crashAfterNextSave = true), confirmNext(ctx))),
    move("another flow spends the last pending friend's vouch", async (ctx) => {
      const pending = (ctx.context()['nominees'] as FriendNominee[]).filter((n) => n.vouch === 'pending').at(-1);
      if (pending?.friendId != null) ctx.world.budgets.consumeNow(vouchKey(pending.friendId), vouchRule(ctx.world.policy), ctx.world.clock.now());
    }),
    move('the host runs the pending outbox', (ctx) => ctx.runtime.drain(ctx.flowId)),
    move('replace the third friend with the fifth', (ctx) => requester(ctx, { type: 'friends.replace', old: ctx.fixtures.friends[2]?.handle, new: ctx.fixtures.friends[4]?.handle })),
    move('a named friend refuses', (ctx) => asAccount(ctx, ctx.fixtures.friends[0] as Account, { type: 'friend.refuse' })),
    move('a friend who was not named refuses', (ctx) => asAccount(ctx, ctx.fixtures.friends[4] as Account, { type: 'friend.refuse' })),
    move('the owner stops it', (ctx) => asAccount(ctx, ctx.fixtures.owner, { type: 'owner.stop' })),
    move('the owner turns on 2FA', async (ctx) => {
      if (ctx.fixtures.authenticator === undefined) ctx.fixtures.authenticator = await enrollTotp(ctx.world, ctx.fixtures.owner.id);
    }),
    move('type the authenticator code', (ctx) => requester(ctx, { type: 'secondFactor.submit', code: ctx.fixtures.authenticator?.() ?? '000000' })),
    move('guess authenticator codes until the flow ends', (ctx) => persist(ctx, ['secondFactor'], () => requester(ctx, { type: 'secondFactor.submit', code: 'zzzzzz' }))),
    move('the account moves to a new epoch', async (ctx) => ctx.world.directory.bumpEpoch(ctx.fixtures.owner.id)),
    move('choose the new password', (ctx) => requester(ctx, { type: 'password.submit', password: NEW_PASSWORD })),
    move('sign out a device', (ctx) => requester(ctx, { type: 'session.revoke', sessionId: 'sess-1' })),
    move('finish the review', (ctx) => requester(ctx, { type: 'security.done' })),
    move('wake at the deadline', wakeAtDeadline),
    move('cancel', (ctx) => requester(ctx, { type: 'flow.cancel' })),
  ],
  abstract: (c, _now, ctx) => [
    (c['nominees'] as FriendNominee[]).map((n) => `${n.vouch}${n.replaced ? 'r' : ''}`).join(','),
    c['replacements'],
    c['secondFactorWrong'],
    c['applied'],
    ctx.fixtures.authenticator !== undefined,
    ctx.world.directory.peek(ctx.fixtures.owner.id)?.securityEpoch,
  ],
  seeds: [
    ['name the account', 'name four friends', 'the next named friend confirms', 'the next named friend confirms', 'the next named friend confirms', 'wake at the deadline', 'choose the new password'],
    ['the owner turns on 2FA', 'name the account', 'name four friends', 'the next named friend confirms', 'the next named friend confirms', 'the next named friend confirms', 'wake at the deadline'],
    ['name the account', 'name four friends', 'the next named friend confirms; the host dies after saving', "another flow spends the last pending friend's vouch", 'the host runs the pending outbox'],
    [
      'name the account',
      'name four friends',
      'the next named friend confirms',
      'the next named friend confirms',
      'the next named friend confirms; the host dies after saving',
      'the next named friend confirms; the host dies after saving',
      "another flow spends the last pending friend's vouch",
      'the host runs the pending outbox',
    ],
  ],
  limit: 120,
  depth: 3,
};

// ---------------------------------------------------------------------------------------------
// manual review
// ---------------------------------------------------------------------------------------------

interface ReviewFixtures {
  readonly account: Account;
}

const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
const EVIDENCE = { type: 'evidence.submit', nickname: 'Xiaoming', team: 'Hangzhou sales', frequentContacts: ['Li Lei'], pastDevices: ['iPhone 12'], loginPlaces: ['Hangzhou'], formerPhone: CN, contactEmail: 'xiaoming.new@example.net' };
const NEW_PHONE = '+8613900139000';

const manualReview: PathSpec<ReviewFixtures> = {
  flow: 'manualReview',
  definition: manualReviewFlow,
  policy: { ...TIGHT, review: { maxInfoRequests: 1 } },
  setup: async (host) => {
    const account = await seedAccount(host.world, { phone: CN, email: EMAIL });
    const started = await host.runtime.start('manualReview', {});
    if (started._tag === 'Left') throw new Error(started.left.message);
    return { flowId: started.right.flowId, fixtures: { account } };
  },
  moves: (() => {
    const person = (ctx: PathContext<ReviewFixtures>, event: unknown) => sendIgnoring(ctx, event);
    const bind = (ctx: PathContext<ReviewFixtures>) => person(ctx, { type: 'channel.submit', kind: 'phone', value: NEW_PHONE });
    return [
      move<ReviewFixtures>('name the account', (ctx) => person(ctx, { type: 'account.submit', handle: 'wang_xiaoming' })),
      move<ReviewFixtures>('tell support what you remember', (ctx) => person(ctx, EVIDENCE)),
      move<ReviewFixtures>('support approves', (ctx) => sendIgnoring(ctx, { type: 'review.approve', resetSecondFactor: false }, AGENT)),
      move<ReviewFixtures>('support approves and resets the second factor', (ctx) => sendIgnoring(ctx, { type: 'review.approve', resetSecondFactor: true }, AGENT)),
      move<ReviewFixtures>('support rejects', (ctx) => sendIgnoring(ctx, { type: 'review.reject', reason: 'no match' }, AGENT)),
      move<ReviewFixtures>('support asks for more', (ctx) => sendIgnoring(ctx, { type: 'review.askMore', question: 'Which city?' }, AGENT)),
      move<ReviewFixtures>('answer support', (ctx) => person(ctx, { type: 'evidence.answer', answer: 'Hangzhou' })),
      move<ReviewFixtures>('the owner stops it', async (ctx) => {
        const account = ctx.fixtures.account;
        const epoch = ctx.world.directory.peek(account.id)?.securityEpoch ?? 0;
        return sendIgnoring(ctx, { type: 'owner.stop' }, { actor: account.id, sessionId: ctx.world.sessions.signIn(account.id, epoch, ctx.world.clock.now()).id });
      }),
      move<ReviewFixtures>('the account is deactivated', async (ctx) => ctx.world.directory.deactivate(ctx.fixtures.account.id)),
      move<ReviewFixtures>('the account moves to a new epoch', async (ctx) => ctx.world.directory.bumpEpoch(ctx.fixtures.account.id)),
      move<ReviewFixtures>('choose the new password', (ctx) => person(ctx, { type: 'password.submit', password: NEW_PASSWORD })),
      move<ReviewFixtures>('sign out a device', (ctx) => person(ctx, { type: 'session.revoke', sessionId: 'sess-1' })),
      move<ReviewFixtures>('finish the review', (ctx) => person(ctx, { type: 'security.done' })),
      move<ReviewFixtures>('bind a new phone', bind),
      move<ReviewFixtures>('bind a new phone; the provider drops the code', (ctx) => ((ctx.host.faults.dropNextCode = true), bind(ctx))),
      move<ReviewFixtures>('bind a new phone; its budget was just spent elsewhere', (ctx) => (spendBudget(ctx.world, `sends:phone:${NEW_PHONE}`), bind(ctx))),
      move<ReviewFixtures>('wait out the cooldown; bind a new phone', (ctx) => (ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs), bind(ctx))),
      move<ReviewFixtures>('wait out the cooldown; ask for a new code', (ctx) => (ctx.world.clock.advanceBy(ctx.world.policy.sends.cooldownMs), person(ctx, { type: 'code.resend' }))),
      move<ReviewFixtures>('ask for a new code at once', (ctx) => person(ctx, { type: 'code.resend' })),
      move<ReviewFixtures>('type the right code', (ctx) => person(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) })),
      move<ReviewFixtures>('someone else takes the new phone; type the right code', (ctx) => {
        ctx.world.directory.createNow({ phone: NEW_PHONE as Phone, handle: 'someone_else' as Handle, passwordHash: 'x', at: 0 });
        return person(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) });
      }),
      move<ReviewFixtures>('type the right code; the host dies after saving', (ctx) => ((ctx.host.faults.crashAfterNextSave = true), person(ctx, { type: 'code.submit', code: currentCode(ctx.world, ctx.flowId) }))),
      move<ReviewFixtures>('the host runs the pending outbox', (ctx) => ctx.runtime.drain(ctx.flowId)),
      move<ReviewFixtures>('guess codes until the flow ends', (ctx) => guessCodes(ctx, (e) => person(ctx, e), ['case.awaitingBindingCode|evidence.purged', 'case.awaitingBindingCode|evidence.kept'])),
      move<ReviewFixtures>('wake at the deadline', wakeAtDeadline),
      move<ReviewFixtures>('wake at the deadline; the host dies after saving', (ctx) => ((ctx.host.faults.crashAfterNextSave = true), wakeAtDeadline(ctx))),
      // Nobody woke the flow meanwhile: what happens next happens within the case's last hour.
      move<ReviewFixtures>('wait until an hour before the case ends', async (ctx) => {
        const lastHour = (ctx.context()['startedAt'] as number) + ctx.world.policy.flowMaxLifetimeMs - HOUR;
        if (ctx.world.clock.now() < lastHour) ctx.world.clock.advanceTo(lastHour);
      }),
      move<ReviewFixtures>('cancel', (ctx) => person(ctx, { type: 'flow.cancel' })),
    ];
  })(),
  abstract: (c, now, ctx) => [codeAbstraction(c, now), c['infoRequests'], c['applied'], (c['decision'] as { kind?: string; resetSecondFactor?: boolean } | null)?.resetSecondFactor, ctx.world.directory.peek(ctx.fixtures.account.id)?.status, ctx.world.directory.peek(ctx.fixtures.account.id)?.securityEpoch],
  seeds: [
    ['name the account', 'tell support what you remember', 'support approves', 'wake at the deadline', 'choose the new password', 'finish the review', 'bind a new phone', 'type the right code'],
    ['name the account', 'tell support what you remember', 'support approves and resets the second factor', 'wake at the deadline; the host dies after saving'],
    // Approved so late that the dispute window would outlast the case: it expires at its end.
    ['name the account', 'tell support what you remember', 'wait until an hour before the case ends', 'support approves', 'wake at the deadline'],
  ],
  limit: 160,
  depth: 3,
};

// ---------------------------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------------------------

const SPECS: readonly PathSpec<never>[] = [registration, recoverySpec('sms'), recoverySpec('email'), binding, realName, totpEnrollment, friendAssist, manualReview] as PathSpec<never>[];

const explored = new Map<string, Exploration>();
for (const spec of SPECS) explored.set(spec.flow, await explore(spec));

const counts: string[] = [];
afterAll(() => {
  console.log(`path coverage (machine: states reached/total, transitions reached/total, walks, nodes expanded, replays)\n${counts.join('\n')}`);
});

describe.each(SPECS.map((spec) => [spec.flow, spec] as const))('paths through %s', (flow, spec) => {
  const result = explored.get(flow) as Exploration;
  const unreachable = spec.unreachable ?? {};

  it('should reach every state and every transition the statechart has', () => {
    const states = result.graph.states.map((s) => s.id);
    const transitions = result.graph.transitions.map((t) => t.key);
    const missedStates = states.filter((s) => !result.reachedStates.has(s));
    const missedTransitions = transitions.filter((t) => !result.reachedTransitions.has(t) && !(t in unreachable));
    counts.push(
      `${flow}: states ${states.length - missedStates.length}/${states.length}, transitions ${result.reachedTransitions.size}/${transitions.length}` +
        `${Object.keys(unreachable).length > 0 ? ` (+${Object.keys(unreachable).length} unreachable by design)` : ''}, walks ${result.walks.length}, nodes ${result.expanded}, replays ${result.replays}`,
    );
    expect({ missedStates, missedTransitions }).toEqual({ missedStates: [], missedTransitions: [] });
  });

  it('should keep its unreachable list honest: each entry exists and no path takes it', () => {
    const keys = new Set(result.graph.transitions.map((t) => t.key));
    for (const key of Object.keys(unreachable)) {
      expect(keys.has(key), `${key} is no longer a transition`).toBe(true);
      expect(result.reachedTransitions.get(key), `${key} is reachable now: drop it from the list`).toBeUndefined();
    }
  });

  it.each(result.walks.map((walk) => [walk.moves.join(' → ') || '(start)', walk] as const))('should take its transitions on the walk: %s', async (_name, walk) => {
    const byName = new Map(spec.moves.map((m) => [m.name, m]));
    const again = await runPath(spec, walk.moves.map((name) => byName.get(name) as Move<never>));
    expect(again.transitions).toEqual(walk.transitions);
    expect(again.finalState).toBe(walk.finalState);
  });
});

