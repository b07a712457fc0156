/**
 * Manual review, step by step: what each step asks of the host (tickets, audit entries,
 * messages, code deliveries, resets, bindings) and what the person and the agent are told. Each
 * scenario's trace is kept in a snapshot; test/manualReview.test.ts states the rules in words.
 */
import { describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/account.ts';
import { DAY, HOUR } from '../../src/domain/time.ts';
import type { HostSession, StepResult } from '../../src/runtime/runtime.ts';
import { MemoryMessenger } from '../../src/adapters/memory/messenger.ts';
import { seedAccount } from '../support/accounts.ts';
import { enrollTotp } from '../support/friends.ts';
import { deliveries, tracingHost, type TracingHost } from './trace.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';
const NEW_PASSWORD = 'a brand new long passphrase';
const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
const EVIDENCE = {
  type: 'evidence.submit',
  nickname: 'Xiaoming',
  team: 'Hangzhou sales',
  frequentContacts: ['Li Lei'],
  contactEmail: 'xiaoming.new@example.net',
};

const flowIdOf = (result: StepResult): string => {
  if (result._tag === 'Left') throw new Error(result.left.message);
  return result.right.flowId;
};

const scenario = async (host: TracingHost, named: Record<string, string> = { handle: 'wang_xiaoming' }) => {
  const { runtime, answer } = host;
  const flowId = flowIdOf(answer('start', await runtime.start('manualReview', {})));
  const send = async (label: string, event: Record<string, unknown>, session?: HostSession) => answer(label, await runtime.send(flowId, event, session));
  const tickAt = async (label: string, at: number) => {
    host.world.clock.advanceTo(at);
    return answer(label, await runtime.tick(flowId));
  };
  await send('account', { type: 'account.submit', ...named });
  await send('evidence', EVIDENCE);
  return { flowId, send, tickAt };
};

const ownerOf = (host: TracingHost, account: Account): HostSession => {
  const session = host.world.sessions.signIn(account.id, account.securityEpoch, host.world.clock.now(), 'iPad', 'Shanghai');
  return { actor: account.id, sessionId: session.id };
};


describe('manual review traces', () => {
  it('should approve after a question, reset the second factor, take a password and bind a replacement phone', async () => {
    const host = tracingHost();
    const account = await seedAccount(host.world, { email: EMAIL });
    await enrollTotp(host.world, account.id);
    const { send, tickAt } = await scenario(host);
    host.world.clock.advanceBy(HOUR);
    await send('ask', { type: 'review.askMore', question: 'Which city last spring?' }, AGENT);
    host.world.clock.advanceBy(HOUR);
    await send('answer', { type: 'evidence.answer', answer: 'Suzhou.' });
    const approved = await send('approve', { type: 'review.approve', resetSecondFactor: true }, AGENT);
    const windowEndsAt = approved._tag === 'Right' ? (approved.right.view['passwordAllowedAt'] as number) : 0;
    await tickAt('window', windowEndsAt);
    await send('password', { type: 'password.submit', password: NEW_PASSWORD });
    await send('done', { type: 'security.done' });
    await send('wrong channel code', { type: 'code.submit', code: '000000' });
    await send('phone', { type: 'channel.submit', kind: 'phone', value: '+8613900139000' });
    await send('resend too soon', { type: 'code.resend' });
    const code = host.world.messenger.lastCodeTo('+8613900139000') ?? '';
    await send('wrong code', { type: 'code.submit', code: code === '000000' ? '111111' : '000000' });
    await send('code', { type: 'code.submit', code });
    await tickAt('retention', host.world.clock.now() + 31 * DAY);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(host.normalise(host.world.supportQueue.all())).toMatchSnapshot();
  });

  it('should reject, time out, abandon and purge, telling the account nothing', async () => {
    const host = tracingHost();
    await seedAccount(host.world, { email: EMAIL });
    const rejected = await scenario(host);
    await rejected.send('reject', { type: 'review.reject', reason: 'The contacts do not match.' }, AGENT);
    const timedOut = await scenario(host);
    await timedOut.tickAt('agent silent', host.world.clock.now() + 3 * DAY);
    const abandoned = await scenario(host, { email: EMAIL });
    await abandoned.send('ask', { type: 'review.askMore', question: 'Your team lead?' }, AGENT);
    await abandoned.tickAt('person silent', host.world.clock.now() + 7 * DAY);
    await abandoned.tickAt('retention', host.world.clock.now() + 30 * DAY);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(host.normalise(host.world.supportQueue.all())).toMatchSnapshot();
    expect(host.world.messenger.sent).toEqual([]);
  });

  it('should let the owner stop an approved review and a person withdraw one, and refuse what is not allowed', async () => {
    const host = tracingHost();
    const account = await seedAccount(host.world, { email: EMAIL });
    const stopped = await scenario(host);
    await stopped.send('not agent', { type: 'review.approve', resetSecondFactor: false });
    await stopped.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    host.world.clock.advanceBy(2 * HOUR);
    await stopped.send('anonymous stop', { type: 'owner.stop' });
    await stopped.send('owner stop', { type: 'owner.stop' }, ownerOf(host, account));
    const withdrawn = await scenario(host, { phone: PHONE });
    await withdrawn.send('withdraw', { type: 'flow.cancel' });
    const unknown = await scenario(host, { phone: '+8613600136000' });
    await unknown.send('approve unknown', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    for (let i = 0; i < host.world.policy.review.maxInfoRequests; i++) {
      await unknown.send(`ask ${i}`, { type: 'review.askMore', question: `Question ${i}?` }, AGENT);
      await unknown.send(`answer ${i}`, { type: 'evidence.answer', answer: `Answer ${i}.` });
    }
    await unknown.send('one more', { type: 'review.askMore', question: 'One more?' }, AGENT);
    const early = tracingHost();
    const { flowId } = { flowId: flowIdOf(early.answer('start', await early.runtime.start('manualReview', {}))) };
    early.answer('account', await early.runtime.send(flowId, { type: 'account.submit', handle: 'nobody_here' }));
    early.answer('cancel before evidence', await early.runtime.send(flowId, { type: 'flow.cancel' }));
    expect(host.trace()).toMatchSnapshot();
    expect(early.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
    expect(host.normalise(host.world.supportQueue.all())).toMatchSnapshot();
  });

  it('should lapse after the window without a password, and refuse a reset once the account moved on', async () => {
    const host = tracingHost();
    const account = await seedAccount(host.world, { email: EMAIL });
    await enrollTotp(host.world, account.id);
    const lapsed = await scenario(host);
    const approved = await lapsed.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    const windowEndsAt = approved._tag === 'Right' ? (approved.right.view['passwordAllowedAt'] as number) : 0;
    await lapsed.tickAt('window', windowEndsAt);
    await lapsed.tickAt('person silent', windowEndsAt + 7 * DAY);
    const moved = await scenario(host);
    const approvedAgain = await moved.send('approve with reset', { type: 'review.approve', resetSecondFactor: true }, AGENT);
    host.world.directory.bumpEpoch(account.id);
    await moved.tickAt('window', approvedAgain._tag === 'Right' ? (approvedAgain.right.view['passwordAllowedAt'] as number) : 0);
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should ask for another channel when the new one is taken, and note failed and refused deliveries', async () => {
    // The first message to the unreachable address fails for good.
    const unreachable = 'nobody@unreachable.example';
    const host = tracingHost({
      messenger: new MemoryMessenger((message) => (message.to === unreachable ? { ok: false, reason: 'unreachable', retryable: false } : undefined)),
    });
    await seedAccount(host.world, { email: EMAIL });
    await seedAccount(host.world, { phone: '+8613700137000', handle: 'li_lei_01' });
    const { send, tickAt } = await scenario(host);
    const approved = await send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    await tickAt('window', approved._tag === 'Right' ? (approved.right.view['passwordAllowedAt'] as number) : 0);
    await send('password', { type: 'password.submit', password: NEW_PASSWORD });
    await send('done', { type: 'security.done' });
    await send('taken phone', { type: 'channel.submit', kind: 'phone', value: '+8613700137000' });
    await send('taken code', { type: 'code.submit', code: host.world.messenger.lastCodeTo('+8613700137000') ?? '' });
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    await send('unreachable e-mail', { type: 'channel.submit', kind: 'email', value: unreachable });
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    await send('e-mail', { type: 'channel.submit', kind: 'email', value: 'xiaoming.new@example.net' });
    await send('e-mail code', { type: 'code.submit', code: host.world.messenger.lastCodeTo('xiaoming.new@example.net') ?? '' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });

  it('should take every other way out of each state: rejections and withdrawals late, lapses, locks and refused sends', async () => {
    const host = tracingHost();
    const account = await seedAccount(host.world, { email: EMAIL });
    const owner = ownerOf(host, account);
    const windowEnd = (r: StepResult): number => (r._tag === 'Right' ? (r.right.view['passwordAllowedAt'] as number) : 0);

    const rejectedLate = await scenario(host);
    await rejectedLate.send('ask', { type: 'review.askMore', question: 'Your team lead?' }, AGENT);
    await rejectedLate.send('reject while asking', { type: 'review.reject', reason: 'No answer expected.' }, AGENT);
    const withdrawnAsking = await scenario(host);
    await withdrawnAsking.send('ask', { type: 'review.askMore', question: 'Your team lead?' }, AGENT);
    await withdrawnAsking.send('withdraw while asked', { type: 'flow.cancel' });
    const stoppedAsking = await scenario(host);
    await stoppedAsking.send('ask', { type: 'review.askMore', question: 'Your team lead?' }, AGENT);
    await stoppedAsking.send('owner stops while asked', { type: 'owner.stop' }, owner);
    const approvedThenRejected = await scenario(host);
    await approvedThenRejected.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    await approvedThenRejected.send('dispute upheld', { type: 'review.reject', reason: 'Disputed by phone.' }, AGENT);
    const withdrawnInWindow = await scenario(host);
    await withdrawnInWindow.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    await withdrawnInWindow.send('withdraw in window', { type: 'flow.cancel' });
    const withdrawnAtPassword = await scenario(host);
    const approved = await withdrawnAtPassword.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
    await withdrawnAtPassword.tickAt('window', windowEnd(approved));
    await withdrawnAtPassword.send('withdraw at password', { type: 'flow.cancel' });

    // Past the password: the binding is owed, and silence or a vanished account ends it.
    let passwords = 0;
    const toBinding = async () => {
      const flow = await scenario(host);
      const ok = await flow.send('approve', { type: 'review.approve', resetSecondFactor: false }, AGENT);
      await flow.tickAt('window', windowEnd(ok));
      // Each recovery needs a password the account did not have before.
      await flow.send('password', { type: 'password.submit', password: `${NEW_PASSWORD} ${++passwords}` });
      return flow;
    };
    const silentReview = await toBinding();
    await silentReview.tickAt('silent at review', host.world.clock.now() + 7 * DAY);
    const silentBinding = await toBinding();
    await silentBinding.send('done', { type: 'security.done' });
    await silentBinding.tickAt('silent at binding', host.world.clock.now() + 7 * DAY);
    const sending = await toBinding();
    await sending.send('done', { type: 'security.done' });
    await sending.send('phone', { type: 'channel.submit', kind: 'phone', value: '+8613900139000' });
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    await sending.send('resend', { type: 'code.resend' });
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    await sending.send('typo fixed', { type: 'channel.submit', kind: 'phone', value: '+8613900139001' });
    // Five sends an hour to one number: the sixth is refused by the send budget.
    for (let i = 0; i < 5; i++) {
      host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
      await sending.send(`resend ${i}`, { type: 'code.resend' });
    }
    const locking = await toBinding();
    await locking.send('done', { type: 'security.done' });
    await locking.send('phone', { type: 'channel.submit', kind: 'phone', value: '+8613900139004' });
    for (let i = 0; i < 10; i++) {
      if (i === 5) {
        host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
        await locking.send('resend', { type: 'code.resend' });
      }
      const right = host.world.messenger.lastCodeTo('+8613900139004') ?? '';
      await locking.send(`wrong ${i}`, { type: 'code.submit', code: right === '000000' ? '111111' : '000000' });
    }
    const lapsing = await toBinding();
    await lapsing.send('done', { type: 'security.done' });
    await lapsing.send('phone', { type: 'channel.submit', kind: 'phone', value: '+8613900139002' });
    await lapsing.tickAt('silent with a code out', host.world.clock.now() + 7 * DAY);
    const vanished = await toBinding();
    await vanished.send('done', { type: 'security.done' });
    host.world.directory.deactivate(account.id);
    await vanished.send('phone for a gone account', { type: 'channel.submit', kind: 'phone', value: '+8613900139003' });
    expect(host.trace()).toMatchSnapshot();
    expect(deliveries(host)).toMatchSnapshot();
  });
});

