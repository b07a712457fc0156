import { describe, expect, it } from 'vitest';
import type { AccountId } from '../../src/domain/account.ts';
import { OLD_PASSWORD, seedAccount } from '../support/accounts.ts';
import { flowOf, headerList, problemOf, testService } from './support.ts';

const PHONE = '+8613800138000';
const NEW_PASSWORD = 'a brand new long passphrase';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the HTTP service: registration, recovery, sessions', () => {
  it('should register end to end through the API, then sign in with the new account', async () => {
    const s = testService();
    const started = await s.post('/flows/registration');
    expect(started.status).toBe(201);
    const { flowId, view } = await flowOf(started);
    expect(started.headers.get('location')).toBe(`/flows/${flowId}`);
    expect(view.state).toBe('enteringPhone');

    const send = (event: unknown) => s.post(`/flows/${flowId}/events`, event);
    const phone = await send({ type: 'phone.submit', phone: '+86 138 0013 8000' });
    expect(phone.status).toBe(200);
    expect((await flowOf(phone)).view.state).toBe('awaitingCode');

    const code = s.world.messenger.lastCodeTo(PHONE);
    expect(code).toMatch(/^\d{6}$/);
    expect((await flowOf(await send({ type: 'code.submit', code }))).view.state).toBe('choosingHandle');
    expect((await flowOf(await send({ type: 'handle.submit', handle: 'li_xiaolong' }))).view.state).toBe('choosingPassword');
    const done = await flowOf(await send({ type: 'password.submit', password: NEW_PASSWORD }));
    expect(done.view).toMatchObject({ state: 'registered', done: true, result: 'registered' });

    const read = await s.get(`/flows/${flowId}`);
    expect((await flowOf(read)).view.state).toBe('registered');

    const signIn = await s.post('/sessions', { phone: PHONE, password: NEW_PASSWORD });
    expect(signIn.status).toBe(201);
    const { token, accountId } = (await signIn.json()) as { token: string; accountId: string };
    expect(accountId).toBe(done.view['accountId']);
    const cookie = signIn.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^af_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    const me = await s.get('/sessions/current', bearer(token));
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ accountId, handle: 'li_xiaolong', role: 'user' });
    // The cookie alone identifies the caller just as well.
    const byCookie = await s.get('/sessions/current', { cookie: cookie.split(';')[0] as string });
    expect(byCookie.status).toBe(200);
  });

  it('should recover by SMS end to end, end the old sessions, and sign in with the new password only', async () => {
    const s = testService();
    await seedAccount(s.world);
    const before = await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD });
    expect(before.status).toBe(201);
    const oldToken = ((await before.json()) as { token: string }).token;

    const { flowId, res } = await s.startAndSend('smsRecovery', { type: 'channel.submit', channel: PHONE });
    expect(res.status).toBe(200);
    expect((await flowOf(res)).view).toMatchObject({ state: 'awaitingCode', message: 'If this is bound to an account, a code is on its way.' });
    const send = (event: unknown) => s.post(`/flows/${flowId}/events`, event);
    const code = s.world.messenger.lastCodeTo(PHONE);
    expect((await flowOf(await send({ type: 'code.submit', code }))).view.state).toBe('hardening.choosingPassword');
    expect((await flowOf(await send({ type: 'password.submit', password: NEW_PASSWORD }))).view.state).toBe('hardening.reviewingSecurity');
    expect((await flowOf(await send({ type: 'security.done' }))).view).toMatchObject({ state: 'recovered', result: 'recovered' });

    const stale = await s.get('/sessions/current', bearer(oldToken));
    expect(stale.status).toBe(401);
    expect((await problemOf(stale)).code).toBe('session_invalid');
    expect(stale.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const withOld = await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD });
    expect(withOld.status).toBe(401);
    expect((await problemOf(withOld)).code).toBe('credentials_invalid');
    const withNew = await s.post('/sessions', { phone: PHONE, password: NEW_PASSWORD });
    expect(withNew.status).toBe(201);
  });

  it('should answer every failed sign-in alike: unknown number, wrong password, deactivated account', async () => {
    const s = testService();
    await seedAccount(s.world);
    const answers = await Promise.all(
      [
        { phone: PHONE, password: 'not the password at all' },
        { phone: '+8613900139000', password: OLD_PASSWORD },
        { phone: 'not a number', password: OLD_PASSWORD },
      ].map(async (body) => {
        const res = await s.post('/sessions', body);
        return { status: res.status, body: await res.text(), headers: headerList(res) };
      }),
    );
    expect(answers[0]?.status).toBe(401);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('should sign out: the token stops working and the cookie is cleared', async () => {
    const s = testService();
    await seedAccount(s.world);
    const { token } = (await (await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD })).json()) as { token: string };
    const out = await s.app.request('/sessions/current', { method: 'DELETE', headers: bearer(token) });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/af_session=;.*Max-Age=0/);
    expect((await s.get('/sessions/current', bearer(token))).status).toBe(401);
    const again = await s.app.request('/sessions/current', { method: 'DELETE' });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).code).toBe('session_required');
  });

  it('should refuse a token whose signature is not the service’s, even for a live session id', async () => {
    const s = testService();
    const account = await seedAccount(s.world);
    const session = s.world.sessions.signIn(account.id, account.securityEpoch, s.world.clock.now());
    const forged = `${Buffer.from(session.id).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
    expect((await s.get('/sessions/current', bearer(forged))).status).toBe(401);
    expect((await s.get('/sessions/current', bearer(session.id))).status).toBe(401);
  });

  it('should start signed-in flows only for a signed-in caller, as the session says, and keep secrets out of reads', async () => {
    const s = testService();
    await seedAccount(s.world);
    const anonymous = await s.post('/flows/totpEnrollment');
    expect(anonymous.status).toBe(401);
    expect((await problemOf(anonymous)).code).toBe('session_required');
    expect(s.store.inserts).toBe(0);

    const { token } = (await (await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD })).json()) as { token: string };
    const started = await s.post('/flows/totpEnrollment', undefined, bearer(token));
    expect(started.status).toBe(201);
    const reply = await flowOf(started);
    expect(reply.view['secret']).toEqual(expect.any(String));
    const read = await flowOf(await s.get(`/flows/${reply.flowId}`));
    expect(read.view.state).toBe(reply.view.state);
    expect(read.view).not.toHaveProperty('secret');
    expect(read.view).not.toHaveProperty('otpauthUri');
  });

  it('should act as a support agent only when the host says the account is one', async () => {
    const agents = new Set<AccountId>();
    const s = testService({ isAgent: (id) => agents.has(id) });
    const account = await seedAccount(s.world);
    const signIn = async () => ((await (await s.post('/sessions', { phone: PHONE, password: OLD_PASSWORD })).json()) as { token: string }).token;
    const me = async (token: string) => ((await (await s.get('/sessions/current', bearer(token))).json()) as { role: string }).role;
    expect(await me(await signIn())).toBe('user');
    agents.add(account.id);
    expect(await me(await signIn())).toBe('agent');
  });

  it('should serve the page with its own content security policy, also where e-mailed links land', async () => {
    const s = testService();
    for (const path of ['/', '/recover?flow=x&token=y']) {
      const res = await s.get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(await res.text()).toContain('data-dev-inbox="false"');
    }
    expect((await s.get('/dev/inbox')).status).toBe(404);
  });
});
