import { readdirSync, readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Account } from '../src/domain/account.ts';
import { DAY, HOUR } from '../src/domain/time.ts';
import { readManualReviewAgentView } from '../src/flows/manualReview.ts';
import type { HostSession, StepReply } from '../src/runtime/runtime.ts';
import { OLD_PASSWORD, seedAccount } from './support/accounts.ts';
import { enrollTotp } from './support/friends.ts';
import { fail, ok, testHost, type TestHost } from './support/world.ts';

const PHONE = '+8613800138000';
const EMAIL = 'wang@example.com';
const NEW_PHONE = '+8613900139000';
const NEW_PASSWORD = 'a brand new long passphrase';
const AGENT: HostSession = { actor: 'agent-7', sessionId: 'agent-session-7', role: 'agent' };
const EVIDENCE = {
  type: 'evidence.submit',
  nickname: 'Xiaoming',
  team: 'Hangzhou sales',
  frequentContacts: ['Li Lei', 'Han Meimei'],
  pastDevices: ['iPhone 12'],
  loginPlaces: ['Hangzhou'],
  formerPhone: PHONE,
  contactEmail: 'xiaoming.new@example.net',
};

const seeded = (host: TestHost): Promise<Account> => seedAccount(host.world, { email: EMAIL });

/** Starts a review, names the account and submits the evidence: the ticket is open. */
const openTicket = async (host: TestHost, named: Record<string, string> = { handle: 'wang_xiaoming' }) => {
  const started = ok(await host.runtime.start('manualReview', {}));
  ok(await host.runtime.send(started.flowId, { type: 'account.submit', ...named }));
  const reply = ok(await host.runtime.send(started.flowId, EVIDENCE));
  return { flowId: started.flowId, reply };
};

const tickAt = async (host: TestHost, flowId: string, at: number): Promise<StepReply> => {
  host.world.clock.advanceTo(at);
  return ok(await host.runtime.tick(flowId));
};

const approve = async (host: TestHost, flowId: string, resetSecondFactor = false) => ok(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor }, AGENT));

const ownerSession = (host: TestHost, account: Account): HostSession => {
  const session = host.world.sessions.signIn(account.id, account.securityEpoch, host.world.clock.now(), 'iPad', 'Shanghai');
  return { actor: account.id, sessionId: session.id };
};

const storedContext = (host: TestHost, flowId: string) => JSON.parse(host.world.store.raw(flowId) ?? '{}').snapshot.context;

const textsTo = (host: TestHost, address: string): string[] => host.world.messenger.sent.filter((m) => m.message.to === address).map((m) => m.message.text);

describe('manual review', () => {
  it('should open a ticket, approve, wait out the window to the millisecond, set the password, bind a new phone and recover', async () => {
    const host = testHost();
    const account = await seeded(host);
    const { flowId, reply } = await openTicket(host);
    expect(reply.view).toMatchObject({ state: 'awaitingAgent', ticket: 'awaiting_support', account: 'wa***', done: false });
    expect(reply.nextDeadline).toBe(host.world.clock.now() + 3 * DAY);
    expect(host.world.supportQueue.get(flowId)).toMatchObject({ accountId: account.id, awaiting: 'agent', outcome: null });
    expect(host.world.audit.entries.map((e) => e.kind)).toContain('review.opened');
    expect(host.world.messenger.sent).toHaveLength(0);

    host.world.clock.advanceBy(5 * HOUR);
    const approvedAt = host.world.clock.now();
    const windowEndsAt = approvedAt + 24 * HOUR;
    const approved = await approve(host, flowId);
    expect(approved.view).toMatchObject({ state: 'disputeWindow', ticket: 'approved', passwordAllowedAt: windowEndsAt });
    expect(approved.nextDeadline).toBe(windowEndsAt);
    // Every bound channel hears it at once, with the way to dispute.
    expect(textsTo(host, PHONE).join()).toContain('Customer support approved a request to recover your account');
    expect(textsTo(host, EMAIL).join()).toContain('stop the recovery');
    expect(host.world.supportQueue.get(flowId)).toMatchObject({ outcome: 'approved', closedAt: approvedAt });

    expect((await tickAt(host, flowId, windowEndsAt - 1)).view.state).toBe('disputeWindow');
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).code).toBe('event_not_accepted');
    expect((await tickAt(host, flowId, windowEndsAt)).view.state).toBe('hardening.choosingPassword');
    const hardened = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(hardened.view.state).toBe('hardening.reviewingSecurity');
    const after = await host.world.directory.get(account.id);
    expect(after?.securityEpoch).toBe(1);
    expect(await host.world.hasher.verify(NEW_PASSWORD, after?.passwordHash ?? '')).toBe(true);
    expect(host.world.directory.passwordChanges.at(-1)?.idempotencyKey.startsWith(`${flowId}:`)).toBe(true);

    // Binding is mandatory: nothing but a channel moves the flow on.
    expect(ok(await host.runtime.send(flowId, { type: 'security.done' })).view).toMatchObject({ state: 'bindingRequired', done: false });
    expect(fail(await host.runtime.send(flowId, { type: 'code.resend' })).code).toBe('event_not_accepted');
    const sent = ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: NEW_PHONE }));
    expect(sent.view).toMatchObject({ state: 'awaitingBindingCode', kind: 'phone', channel: '+86 139****9000' });
    // Bound to the epoch the recovery created, not the one the ticket was opened under.
    expect(storedContext(host, flowId).code.binding).toMatchObject({ purpose: 'binding.phone', epoch: 1 });
    const code = host.world.messenger.lastCodeTo(NEW_PHONE) ?? '';
    const recovered = ok(await host.runtime.send(flowId, { type: 'code.submit', code }));
    expect(recovered.view).toMatchObject({ state: 'recovered', done: true, result: 'recovered' });
    expect((await host.world.directory.get(account.id))?.phone?.value).toBe(NEW_PHONE);
    expect(host.world.messenger.lastTo(PHONE)?.text).toContain('on your account was changed');
    // The case is over; the evidence stays only until the retention limit, counted from the approval.
    expect(recovered.nextDeadline).toBe(approvedAt + 30 * DAY);
  });

  it('should refuse a password at any moment before the window has passed, even with the clock past it but no tick', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId);
    const windowEndsAt = approved.view['passwordAllowedAt'] as number;
    host.world.clock.advanceTo(windowEndsAt - 1);
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).code).toBe('event_not_accepted');
    expect(host.world.directory.passwordChanges).toHaveLength(0);
    expect((await tickAt(host, flowId, windowEndsAt)).view.state).toBe('hardening.choosingPassword');
  });

  it('should reject, show the reason, close the ticket and tell the account nothing', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    const rejected = ok(await host.runtime.send(flowId, { type: 'review.reject', reason: 'The contacts you named do not match.' }, AGENT));
    expect(rejected.view).toMatchObject({ state: 'rejected', done: true, result: 'rejected', reason: 'The contacts you named do not match.', ticket: 'rejected' });
    expect(host.world.supportQueue.get(flowId)?.outcome).toBe('rejected');
    expect(host.world.messenger.sent).toHaveLength(0);
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT)).code).toBe('flow_finished');
  });

  it('should let support ask for more, the person answer, and support then approve', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    host.world.clock.advanceBy(HOUR);
    const asked = ok(await host.runtime.send(flowId, { type: 'review.askMore', question: 'Which city did you sign in from last spring?' }, AGENT));
    expect(asked.view).toMatchObject({ state: 'awaitingUser', ticket: 'awaiting_you', question: 'Which city did you sign in from last spring?', answerBy: host.world.clock.now() + 7 * DAY });
    expect(host.world.supportQueue.get(flowId)).toMatchObject({ awaiting: 'user' });
    host.world.clock.advanceBy(2 * DAY);
    const answered = ok(await host.runtime.send(flowId, { type: 'evidence.answer', answer: 'Suzhou, on a business trip.' }));
    expect(answered.view).toMatchObject({ state: 'awaitingAgent', question: null, agentDueAt: host.world.clock.now() + 3 * DAY });
    expect(answered.nextDeadline).toBe(host.world.clock.now() + 3 * DAY);
    expect(ok(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT)).view.state).toBe('disputeWindow');
  });

  it('should allow at most the policy\'s number of questions', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    for (let i = 0; i < host.world.policy.review.maxInfoRequests; i++) {
      ok(await host.runtime.send(flowId, { type: 'review.askMore', question: `Question ${i + 1}?` }, AGENT));
      ok(await host.runtime.send(flowId, { type: 'evidence.answer', answer: `Answer ${i + 1}.` }));
    }
    const refused = fail(await host.runtime.send(flowId, { type: 'review.askMore', question: 'One more?' }, AGENT));
    expect(refused).toMatchObject({ code: 'not_permitted', visibility: 'public' });
    expect(ok(await host.runtime.read(flowId)).view.state).toBe('awaitingAgent');
    const agentView = await readManualReviewAgentView(host.world, flowId, AGENT);
    expect(E.isRight(agentView) && agentView.right['infoRequestsLeft']).toBe(0);
    expect(ok(await host.runtime.send(flowId, { type: 'review.reject' }, AGENT)).view.state).toBe('rejected');
  });

  it('should time the ticket out when support is silent for agentActionMs', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId, reply } = await openTicket(host);
    const due = reply.nextDeadline as number;
    expect((await tickAt(host, flowId, due - 1)).view.state).toBe('awaitingAgent');
    expect((await tickAt(host, flowId, due)).view).toMatchObject({ state: 'timedOut', result: 'timed_out', done: true });
    expect(host.world.supportQueue.get(flowId)?.outcome).toBe('timed_out');
  });

  it('should abandon the request when the person is silent for userResponseMs', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    const asked = ok(await host.runtime.send(flowId, { type: 'review.askMore', question: 'Your team lead?' }, AGENT));
    const due = asked.nextDeadline as number;
    expect(due).toBe(host.world.clock.now() + 7 * DAY);
    expect((await tickAt(host, flowId, due - 1)).view.state).toBe('awaitingUser');
    expect((await tickAt(host, flowId, due)).view).toMatchObject({ state: 'abandoned', result: 'abandoned' });
    expect(host.world.supportQueue.get(flowId)?.outcome).toBe('abandoned');
  });

  it('should let the owner stop an approved recovery during the window, for good', async () => {
    const host = testHost();
    const account = await seeded(host);
    const owner = ownerSession(host, account);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId);
    host.world.clock.advanceBy(23 * HOUR);
    const stranger = ownerSession(host, await seedAccount(host.world, { phone: '+8613700137000', handle: 'li_lei_01' }));
    expect(fail(await host.runtime.send(flowId, { type: 'owner.stop' })).code).toBe('session_required');
    expect(fail(await host.runtime.send(flowId, { type: 'owner.stop' }, stranger)).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'owner.stop' }, AGENT)).code).toBe('session_required');
    expect(ok(await host.runtime.send(flowId, { type: 'owner.stop' }, owner)).view).toMatchObject({ state: 'stoppedByOwner', result: 'stopped_by_owner', passwordAllowedAt: null });
    await tickAt(host, flowId, (approved.view['passwordAllowedAt'] as number) + 1);
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD })).code).toBe('flow_finished');
    expect(host.world.directory.passwordChanges).toHaveLength(0);
    expect(host.world.audit.entries.map((e) => e.kind)).toContain('review.stopped_by_owner');
  });

  it('should let the owner stop it after the window too, as long as no password was submitted', async () => {
    const host = testHost();
    const account = await seeded(host);
    const owner = ownerSession(host, account);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId);
    expect((await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number)).view.state).toBe('hardening.choosingPassword');
    expect(ok(await host.runtime.send(flowId, { type: 'owner.stop' }, owner)).view.state).toBe('stoppedByOwner');
    expect(host.world.directory.passwordChanges).toHaveLength(0);
  });

  it('should keep an enrolled second factor when the approval does not say to reset it', async () => {
    const host = testHost();
    const account = await seeded(host);
    await enrollTotp(host.world, account.id);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId, false);
    expect((await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number)).view.state).toBe('hardening.choosingPassword');
    expect((await host.world.secondFactors.status(account.id)).totp).toBe(true);
    expect(textsTo(host, PHONE).join()).not.toContain('two-step verification was removed');
  });

  it('should reset an enrolled second factor only when the window passes after an approval that says so, telling every channel', async () => {
    const host = testHost();
    const account = await seeded(host);
    await enrollTotp(host.world, account.id);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId, true);
    const windowEndsAt = approved.view['passwordAllowedAt'] as number;
    await tickAt(host, flowId, windowEndsAt - 1);
    expect((await host.world.secondFactors.status(account.id)).totp).toBe(true);
    expect((await tickAt(host, flowId, windowEndsAt)).view.state).toBe('hardening.choosingPassword');
    expect((await host.world.secondFactors.status(account.id)).totp).toBe(false);
    expect(textsTo(host, PHONE).join()).toContain('two-step verification was removed');
    expect(textsTo(host, EMAIL).join()).toContain('two-step verification was removed');
    const review = ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    expect(review.view['offers']).toContain('enableTotp');
  });

  it('should not reset a second factor when the account moved on during the window', async () => {
    const host = testHost();
    const account = await seeded(host);
    await enrollTotp(host.world, account.id);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId, true);
    host.world.directory.bumpEpoch(account.id);
    expect((await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number)).view).toMatchObject({ state: 'refused', result: 'refused' });
    expect((await host.world.secondFactors.status(account.id)).totp).toBe(true);
  });

  it('should leave second-factor resets to manual review alone', () => {
    const emitters = readdirSync('machines').filter((f) => f.endsWith('.ts') && readFileSync(`machines/${f}`, 'utf8').includes("'resetSecondFactor'"));
    expect(emitters).toEqual(['manualReview.ts']);
    // The label is the first single-quoted word after `case`, so the check also holds on the
    // instrumented copy mutation testing runs (which wraps labels in its own calls).
    const callers = readFileSync('src/runtime/executor.ts', 'utf8').split(/\bcase\b/).filter((c) => c.includes('secondFactors.reset('));
    expect(callers.map((c) => /'(\w+)'/.exec(c)?.[1])).toEqual(['resetSecondFactor']);
  });

  it('should refuse decisions from anyone but an agent, and refuse agents acting for the person', async () => {
    const host = testHost();
    const account = await seeded(host);
    const { flowId } = await openTicket(host);
    const user = ownerSession(host, account);
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: true })).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: true }, user)).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: true }, { ...user, role: 'user' })).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'review.reject' }, { actor: null, sessionId: null, role: 'agent' })).code).toBe('not_permitted');
    // Nobody reviews their own account, even from an agent session.
    expect(fail(await host.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: true }, { ...user, role: 'agent' })).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'evidence.answer', answer: 'hi' }, AGENT)).code).toBe('not_permitted');
    expect(fail(await host.runtime.send(flowId, { type: 'flow.cancel' }, AGENT)).code).toBe('not_permitted');
    expect(ok(await host.runtime.read(flowId)).view.state).toBe('awaitingAgent');
    const approved = await approve(host, flowId);
    await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number);
    expect(fail(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }, AGENT)).code).toBe('not_permitted');
    expect(host.world.directory.passwordChanges).toHaveLength(0);
  });

  it('should answer an unknown account exactly as a known one, send nothing, and leave support unable to approve it', async () => {
    const known = testHost();
    await seeded(known);
    const unknown = testHost();
    const hosts = [known, unknown];
    const flows: string[] = [];
    const steps: unknown[][] = [[], []];
    const observe = (i: number, r: StepReply) => steps[i]?.push({ ...r, flowId: '' });
    for (const [i, host] of hosts.entries()) {
      const started = ok(await host.runtime.start('manualReview', {}));
      flows.push(started.flowId);
      observe(i, started);
    }
    const script: ((host: TestHost, flowId: string) => Promise<StepReply>)[] = [
      async (h, f) => ok(await h.runtime.send(f, { type: 'account.submit', handle: 'wang_xiaoming' })),
      async (h, f) => ok(await h.runtime.send(f, EVIDENCE)),
      async (h, f) => ok(await h.runtime.send(f, { type: 'review.askMore', question: 'Your team lead?' }, AGENT)),
      async (h, f) => ok(await h.runtime.send(f, { type: 'evidence.answer', answer: 'Zhang Wei.' })),
      async (h, f) => tickAt(h, f, h.world.clock.now() + 3 * DAY - 1),
      async (h, f) => tickAt(h, f, h.world.clock.now() + 1),
    ];
    for (const step of script) for (const [i, host] of hosts.entries()) observe(i, await step(host, flows[i] as string));
    expect(steps[1]).toEqual(steps[0]);
    expect(steps[0]?.at(-1)).toMatchObject({ view: { state: 'timedOut' } });
    expect(known.world.messenger.sent).toHaveLength(0);
    expect(unknown.world.messenger.sent).toHaveLength(0);

    const other = testHost();
    const { flowId } = await openTicket(other, { phone: '+8613600136000' });
    expect(other.world.supportQueue.get(flowId)?.accountId).toBeNull();
    expect(fail(await other.runtime.send(flowId, { type: 'review.approve', resetSecondFactor: false }, AGENT)).code).toBe('not_permitted');
    expect(ok(await other.runtime.send(flowId, { type: 'review.reject' }, AGENT)).view.state).toBe('rejected');
    expect(other.world.messenger.sent).toHaveLength(0);
  });

  it('should purge the evidence from storage when the retention limit after closing is reached', async () => {
    const host = testHost();
    await seeded(host);
    const { flowId } = await openTicket(host);
    ok(await host.runtime.send(flowId, { type: 'review.askMore', question: 'Your team lead?' }, AGENT));
    ok(await host.runtime.send(flowId, { type: 'evidence.answer', answer: 'Zhang Wei, in Hangzhou.' }));
    const closedAt = host.world.clock.now();
    const rejected = ok(await host.runtime.send(flowId, { type: 'review.reject', reason: 'Zhang Wei is not on the account.' }, AGENT));
    const purgeAt = closedAt + host.world.policy.review.evidenceRetentionMs;
    expect(rejected.view).toMatchObject({ done: true, evidenceDeletedAt: purgeAt });
    expect(rejected.nextDeadline).toBe(purgeAt);
    const personal = ['Xiaoming', 'Hangzhou sales', 'Li Lei', 'iPhone 12', 'xiaoming.new@example.net', 'Zhang Wei', 'wang_xiaoming'];
    for (const word of personal) expect(host.world.store.raw(flowId)).toContain(word);

    await tickAt(host, flowId, purgeAt - 1);
    expect(host.world.store.raw(flowId)).toContain('Xiaoming');
    const purged = await tickAt(host, flowId, purgeAt);
    const raw = host.world.store.raw(flowId) ?? '';
    for (const word of personal) expect(raw).not.toContain(word);
    expect(storedContext(host, flowId)).toMatchObject({ evidence: null, conversation: [], named: null, purgedAt: purgeAt });
    expect(JSON.parse(raw).snapshot.status).toBe('done');
    expect(purged).toMatchObject({ nextDeadline: null, view: { state: 'rejected', evidenceDeletedAt: null } });
    expect(host.world.audit.entries.map((e) => e.kind)).toContain('review.evidencePurged');
    expect(JSON.stringify(host.world.audit.entries)).not.toContain('Xiaoming');
    expect(JSON.stringify(host.world.supportQueue.all())).not.toContain('Xiaoming');
  });

  it('should purge at once when a request ends before any evidence was given', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('manualReview', {}));
    ok(await host.runtime.send(started.flowId, { type: 'account.submit', phone: PHONE }));
    const cancelled = ok(await host.runtime.send(started.flowId, { type: 'flow.cancel' }));
    expect(cancelled).toMatchObject({ nextDeadline: null, view: { state: 'cancelled', done: true } });
    expect(host.world.store.raw(started.flowId)).not.toContain(PHONE);
    expect(JSON.parse(host.world.store.raw(started.flowId) ?? '{}').snapshot.status).toBe('done');
  });

  it('should show the evidence to agents only, and never store it in a reply', async () => {
    const host = testHost();
    const account = await seeded(host);
    const started = ok(await host.runtime.start('manualReview', {}));
    ok(await host.runtime.send(started.flowId, { type: 'account.submit', email: EMAIL }));
    const reply = ok(await host.runtime.send(started.flowId, EVIDENCE, undefined, 'request-1'));
    expect(JSON.stringify(reply.view)).not.toContain('Xiaoming');
    expect(JSON.parse(host.world.store.raw(started.flowId) ?? '{}').replies[0].reply.view.evidence).toBeUndefined();
    const agentView = await readManualReviewAgentView(host.world, started.flowId, AGENT);
    expect(E.isRight(agentView) ? agentView.right : undefined).toMatchObject({
      accountId: account.id,
      matched: true,
      evidence: { nickname: 'Xiaoming', frequentContacts: ['Li Lei', 'Han Meimei'], contactEmail: 'xiaoming.new@example.net' },
      infoRequestsLeft: 3,
    });
    const refused = await readManualReviewAgentView(host.world, started.flowId, ownerSession(host, account));
    expect(E.isLeft(refused) && refused.left.code).toBe('not_permitted');
  });

  it('should decode evidence with limits and refuse a ticket with nothing to review', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('manualReview', {}));
    ok(await host.runtime.send(started.flowId, { type: 'account.submit', handle: 'wang_xiaoming' }));
    const send = (event: Record<string, unknown>) => host.runtime.send(started.flowId, { ...EVIDENCE, ...event });
    expect(fail(await send({ nickname: 'x'.repeat(101) }))).toMatchObject({ code: 'invalid_input', field: 'nickname' });
    expect(fail(await send({ frequentContacts: Array.from({ length: 11 }, (_, i) => `friend ${i}`) }))).toMatchObject({ code: 'invalid_input', field: 'frequentContacts' });
    expect(fail(await send({ pastDevices: ['y'.repeat(101)] }))).toMatchObject({ code: 'invalid_input', field: 'pastDevices' });
    expect(fail(await send({ contactEmail: 'a@x.com,b@y.com' }))).toMatchObject({ code: 'email_invalid', field: 'contactEmail' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'evidence.submit', nickname: '  ', contactEmail: 'me@example.com' }))).toMatchObject({ code: 'invalid_input', field: 'evidence' });
    expect(fail(await host.runtime.send(started.flowId, { type: 'account.submit', handle: 'a', phone: PHONE })).code).toBe('event_not_accepted');
    expect(ok(await host.runtime.read(started.flowId)).view.state).toBe('enteringEvidence');
  });

  it('should name the account by exactly one of handle, phone or e-mail', async () => {
    const host = testHost();
    const started = ok(await host.runtime.start('manualReview', {}));
    expect(fail(await host.runtime.send(started.flowId, { type: 'account.submit', handle: 'wang_xiaoming', phone: PHONE })).code).toBe('invalid_input');
    expect(fail(await host.runtime.send(started.flowId, { type: 'account.submit' })).code).toBe('invalid_input');
    expect(ok(await host.runtime.send(started.flowId, { type: 'account.submit', phone: '138 0013 8000', region: 'CN' })).view).toMatchObject({ state: 'enteringEvidence', account: '+86 138****8000' });
  });

  it('should say a new channel belongs to another account only after its code proved possession, and ask for another', async () => {
    const host = testHost();
    await seeded(host);
    const taken = '+8613700137000';
    await seedAccount(host.world, { phone: taken, handle: 'li_lei_01' });
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId);
    await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number);
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    ok(await host.runtime.send(flowId, { type: 'security.done' }));
    expect(ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: taken })).view).toMatchObject({ state: 'awaitingBindingCode', notice: null });
    const reply = ok(await host.runtime.send(flowId, { type: 'code.submit', code: host.world.messenger.lastCodeTo(taken) ?? '' }));
    expect(reply.view).toMatchObject({ state: 'bindingRequired', notice: { code: 'channel_taken' }, done: false });
    host.world.clock.advanceBy(host.world.policy.sends.cooldownMs);
    ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'email', value: 'xiaoming.new@example.net' }));
    const code = host.world.messenger.lastCodeTo('xiaoming.new@example.net') ?? '';
    expect(ok(await host.runtime.send(flowId, { type: 'code.submit', code })).view.state).toBe('recovered');
  });

  it('should lapse when the person never sets a password after the window, and keep the old one', async () => {
    const host = testHost();
    const account = await seeded(host);
    const { flowId } = await openTicket(host);
    const approved = await approve(host, flowId);
    const inHardening = await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number);
    expect((await tickAt(host, flowId, inHardening.nextDeadline as number)).view).toMatchObject({ state: 'abandoned', result: 'abandoned' });
    expect(await host.world.hasher.verify(OLD_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);
  });
});

describe('manual review lifetime', () => {
  /** The case's end: the start plus the policy's lifetime for every flow. */
  const endOf = (host: TestHost, startedAt: number): number => startedAt + host.world.policy.flowMaxLifetimeMs;

  /** Support asks and the person answers, each a millisecond before their deadline, as often as the policy allows. */
  const justInTime = async (host: TestHost, flowId: string, first: StepReply): Promise<StepReply> => {
    let reply = first;
    for (let i = 0; i < host.world.policy.review.maxInfoRequests; i++) {
      host.world.clock.advanceTo((reply.nextDeadline as number) - 1);
      reply = ok(await host.runtime.send(flowId, { type: 'review.askMore', question: `Question ${i + 1}?` }, AGENT));
      host.world.clock.advanceTo((reply.nextDeadline as number) - 1);
      reply = ok(await host.runtime.send(flowId, { type: 'evidence.answer', answer: `Answer ${i + 1}.` }));
    }
    return reply;
  };

  it('should give support no deadline past the end however late the answers come, and time the ticket out there', async () => {
    const host = testHost();
    await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const { flowId, reply } = await openTicket(host);
    const answered = await justInTime(host, flowId, reply);
    // Three rounds of 3 + 7 days, each a millisecond early: support's next three days would end past the end.
    expect(host.world.clock.now()).toBe(end - 6);
    expect(answered).toMatchObject({ nextDeadline: end, view: { state: 'awaitingAgent', agentDueAt: end } });
    expect(host.world.supportQueue.get(flowId)).toMatchObject({ awaiting: 'agent', dueAt: end });
    expect((await tickAt(host, flowId, end - 1)).view.state).toBe('awaitingAgent');
    expect((await tickAt(host, flowId, end)).view).toMatchObject({ state: 'timedOut', done: true, result: 'timed_out' });
    expect(host.world.supportQueue.get(flowId)?.outcome).toBe('timed_out');
  });

  it('should let resent binding codes push the deadline no further than the end, lapse there, and purge the evidence later', async () => {
    const host = testHost();
    const account = await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const { flowId } = await openTicket(host);
    host.world.clock.advanceBy(5 * HOUR);
    const approvedAt = host.world.clock.now();
    const approved = await approve(host, flowId);
    await tickAt(host, flowId, approved.view['passwordAllowedAt'] as number);
    ok(await host.runtime.send(flowId, { type: 'password.submit', password: NEW_PASSWORD }));
    ok(await host.runtime.send(flowId, { type: 'security.done' }));
    let reply = ok(await host.runtime.send(flowId, { type: 'channel.submit', kind: 'phone', value: NEW_PHONE }));
    const deadlines: number[] = [];
    for (let i = 0; i < 10 && (reply.nextDeadline as number) < end; i++) {
      host.world.clock.advanceTo((reply.nextDeadline as number) - HOUR);
      reply = ok(await host.runtime.send(flowId, { type: 'code.resend' }));
      deadlines.push(reply.nextDeadline as number);
    }
    expect(deadlines.length).toBeGreaterThan(1);
    expect(Math.max(...deadlines)).toBe(end);
    expect(reply.view).toMatchObject({ state: 'awaitingBindingCode', actBy: end });
    const lapsed = await tickAt(host, flowId, end);
    expect(lapsed.view).toMatchObject({ state: 'bindingLapsed', done: true, result: 'binding_lapsed' });
    expect(await host.world.hasher.verify(NEW_PASSWORD, (await host.world.directory.get(account.id))?.passwordHash ?? '')).toBe(true);
    // Clean-up, not the case: the evidence goes at its own time, after the end.
    const purgeAt = approvedAt + host.world.policy.review.evidenceRetentionMs;
    expect(purgeAt).toBeGreaterThan(end);
    expect(lapsed.nextDeadline).toBe(purgeAt);
    expect((await tickAt(host, flowId, purgeAt)).nextDeadline).toBeNull();
    expect(storedContext(host, flowId)).toMatchObject({ evidence: null, conversation: [], named: null, purgedAt: purgeAt });
  });

  it('should never cut the dispute window short: a review approved too late for it expires at the end, its evidence purged later', async () => {
    const host = testHost();
    const account = await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const { flowId, reply } = await openTicket(host);
    await justInTime(host, flowId, reply);
    const agentView = await readManualReviewAgentView(host.world, flowId, AGENT);
    expect(E.isRight(agentView) && agentView.right['expiresAt']).toBe(end);
    host.world.clock.advanceTo(end - HOUR);
    const approvedAt = host.world.clock.now();
    const approved = await approve(host, flowId, true);
    expect(approved).toMatchObject({ nextDeadline: end, view: { state: 'disputeWindow', passwordAllowedAt: approvedAt + host.world.policy.review.disputeWindowMs } });
    expect((await tickAt(host, flowId, end - 1)).view.state).toBe('disputeWindow');
    const expired = await tickAt(host, flowId, end);
    expect(expired.view).toMatchObject({ state: 'expired', done: true, result: 'expired', passwordAllowedAt: null, ticket: 'approved' });
    expect(expired.view.message).toContain('time limit');
    expect(host.world.audit.entries.map((e) => e.kind)).toContain('review.expired');
    expect(host.world.supportQueue.get(flowId)).toMatchObject({ outcome: 'approved', closedAt: approvedAt });
    expect(host.world.directory.passwordChanges).toHaveLength(0);
    expect((await host.world.directory.get(account.id))?.securityEpoch).toBe(0);
    expect(fail(await host.runtime.send(flowId, { type: 'owner.stop' }, ownerSession(host, account))).code).toBe('flow_finished');
    const purgeAt = approvedAt + host.world.policy.review.evidenceRetentionMs;
    expect(expired.nextDeadline).toBe(purgeAt);
    await tickAt(host, flowId, purgeAt);
    expect(storedContext(host, flowId)).toMatchObject({ evidence: null, conversation: [], purgedAt: purgeAt });
  });

  it('should end the case with whatever reaches it at or after the end, before any tick, as the tick would', async () => {
    const host = testHost();
    await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const waitingForPerson = (await openTicket(host)).flowId;
    const waitingForSupport = (await openTicket(host)).flowId;
    ok(await host.runtime.send(waitingForPerson, { type: 'review.askMore', question: 'Your team lead?' }, AGENT));
    // The host's scheduler is late: nobody woke either flow at its deadline.
    host.world.clock.advanceTo(end);
    const before = host.world.store.raw(waitingForSupport);
    expect(fail(await host.runtime.send(waitingForSupport, { type: 'review.approve', resetSecondFactor: false })).code).toBe('not_permitted');
    expect(host.world.store.raw(waitingForSupport)).toBe(before);
    expect(ok(await host.runtime.send(waitingForPerson, { type: 'evidence.answer', answer: 'Zhang Wei.' })).view).toMatchObject({ state: 'abandoned', done: true });
    expect(host.world.supportQueue.get(waitingForPerson)?.outcome).toBe('abandoned');
    expect(ok(await host.runtime.send(waitingForSupport, { type: 'review.approve', resetSecondFactor: false }, AGENT)).view).toMatchObject({ state: 'timedOut', done: true });
    expect(host.world.messenger.sent).toHaveLength(0);
    expect(fail(await host.runtime.send(waitingForPerson, { type: 'evidence.answer', answer: 'Zhang Wei.' })).code).toBe('flow_finished');
  });

  it('should end at the end a review stored before the cap, whose own deadline lies past it', async () => {
    const host = testHost();
    await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const { flowId } = await openTicket(host);
    ok(await host.runtime.send(flowId, { type: 'review.askMore', question: 'Your team lead?' }, AGENT));
    const stored = JSON.parse(host.world.store.raw(flowId) ?? '{}');
    stored.snapshot.context.userDueAt = end + 10 * DAY;
    stored.version += 1;
    expect(await host.world.store.replace(stored, stored.version - 1)).toBe(true);
    expect(ok(await host.runtime.read(flowId)).nextDeadline).toBe(end);
    expect((await tickAt(host, flowId, end - 1)).view.state).toBe('awaitingUser');
    expect((await tickAt(host, flowId, end)).view).toMatchObject({ state: 'abandoned', done: true });
  });

  it('should leave a case that closed before the end as it was when the end passes', async () => {
    const host = testHost();
    await seeded(host);
    const end = endOf(host, host.world.clock.now());
    const { flowId } = await openTicket(host);
    host.world.clock.advanceBy(HOUR);
    const rejected = ok(await host.runtime.send(flowId, { type: 'review.reject', reason: 'No match.' }, AGENT));
    expect(rejected.nextDeadline).toBe(host.world.clock.now() + host.world.policy.review.evidenceRetentionMs);
    const before = host.world.store.raw(flowId);
    const atEnd = await tickAt(host, flowId, end);
    expect(atEnd).toMatchObject({ nextDeadline: rejected.nextDeadline, view: { state: 'rejected', result: 'rejected' } });
    expect(host.world.store.raw(flowId)).toBe(before);
  });
});
