/**
 * The one page of the service: register, recover by SMS or e-mail, sign in, and (when the host
 * has one) read the development inbox. Plain HTML and JS, no build step, nothing fetched from
 * anywhere else; its content security policy allows exactly its own inline script and style,
 * by hash, and requests to this origin.
 *
 * Each form shows while its flow is in one of the states named by `data-when` (`start`: no flow
 * yet); the script only sends what the form holds and shows what the service answers.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:46rem;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #d6dae0;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin:.25rem 0 .5rem}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
input{font:inherit;padding:.35rem .5rem;width:100%;max-width:22rem;box-sizing:border-box;border:1px solid #8a939e;border-radius:.3rem}
input[aria-invalid=true]{border-color:#b3261e;outline:2px solid #f3c1bd}
button{font:inherit;margin:.6rem .4rem 0 0;padding:.35rem .9rem;border-radius:.3rem;border:1px solid #1f5fbf;background:#1f5fbf;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f5fbf}
.out{margin:.5rem 0 0;min-height:1.2em}
#status{position:sticky;top:0;background:#fffbe6;border:1px solid #e6d27a;border-radius:.3rem;padding:.4rem .6rem;min-height:1.2em}
#status.problem{background:#fdecea;border-color:#e8a39c}
#inbox-list{padding-left:1.2rem;font-family:ui-monospace,monospace;font-size:.9rem;white-space:pre-wrap;word-break:break-word}
`;

const SCRIPT = `
'use strict';
const $ = (sel, root = document) => root.querySelector(sel);
const statusEl = $('#status');
const flows = {};

const say = (text, problem = false) => {
  statusEl.textContent = text;
  statusEl.classList.toggle('problem', problem);
};

// A fresh key per submission: a retry after a lost answer would reuse it (see Idempotency-Key).
const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

const call = async (method, path, body) => {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST') headers['idempotency-key'] = newKey();
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { ok: res.ok, status: res.status, data: text === '' ? null : JSON.parse(text) };
};

const NOTICES = {
  code_invalid: 'That code is not right.',
  code_expired: 'The code has expired; ask for a new one.',
  code_attempts_exhausted: 'No tries are left for this code; ask for a new one.',
  cooldown: 'Wait a moment before asking for another code.',
  rate_limited: 'Too many codes were sent; try again later.',
  handle_taken: 'That handle is taken; choose another.',
  flow_locked: 'Too many wrong tries; this attempt is locked.',
  delivery_failed: 'The message could not be delivered; ask for a new one.',
};
const STEPS = {
  awaitingCode: 'Enter the code we sent you.',
  choosingHandle: 'Choose a handle.',
  choosingPassword: 'Choose a password.',
  linkOpened: 'Continue to set a new password.',
  secondFactor: 'Enter a code from your authenticator app, or a backup code.',
  'hardening.choosingPassword': 'Choose a new password.',
  'hardening.reviewingSecurity': 'Your password is changed. Review the notes, then finish.',
};
const RESULTS = {
  registered: 'Registered. You can sign in now.',
  recovered: 'Your password is changed. Sign in with the new one.',
};

const showProblem = (section, problem) => {
  const fields = new Set((problem && problem.errors || []).map((e) => e.field));
  for (const input of section.querySelectorAll('input')) input.setAttribute('aria-invalid', String(fields.has(input.name)));
  say(problem ? problem.detail || problem.title : 'Something went wrong.', true);
};

const showFlow = (section, reply) => {
  const view = reply.view;
  section.dataset.state = view.state;
  for (const form of section.querySelectorAll('form[data-when]')) {
    const when = form.dataset.when.split(' ');
    form.hidden = !when.includes(view.state);
  }
  for (const input of section.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const notice = view.notice && (NOTICES[view.notice.code] || view.notice.code);
  const text = RESULTS[view.result] || notice || view.message || STEPS[view.state] || (view.done ? 'This attempt has ended (' + (view.result || view.state) + ').' : 'Next step: ' + view.state + '.');
  $('.out', section).textContent = text;
  say(text, Boolean(notice));
};

const reset = (section) => {
  delete flows[section.dataset.flow];
  section.dataset.state = '';
  for (const form of section.querySelectorAll('form[data-when]')) form.hidden = !form.dataset.when.split(' ').includes('start');
  $('.out', section).textContent = '';
};

const sendEvent = async (section, event) => {
  const name = section.dataset.flow;
  if (flows[name] === undefined) {
    const started = await call('POST', '/flows/' + name);
    if (!started.ok) return showProblem(section, started.data);
    flows[name] = started.data.flowId;
  }
  const res = await call('POST', '/flows/' + encodeURIComponent(flows[name]) + '/events', event);
  if (!res.ok) showProblem(section, res.data);
  else showFlow(section, res.data);
  refreshInbox();
};

for (const section of document.querySelectorAll('section[data-flow]')) {
  reset(section);
  for (const form of section.querySelectorAll('form[data-event]')) {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const event = { type: form.dataset.event };
      for (const input of form.querySelectorAll('input[name]')) if (input.value !== '' || input.required) event[input.name] = input.value;
      void sendEvent(section, event);
    });
  }
  for (const button of section.querySelectorAll('button[data-send]')) button.addEventListener('click', () => void sendEvent(section, { type: button.dataset.send }));
  for (const button of section.querySelectorAll('button[data-reset]')) button.addEventListener('click', () => { reset(section); say('Started over.'); });
}

const whoAmI = async () => {
  const res = await call('GET', '/sessions/current');
  $('#signed-in').textContent = res.ok ? 'Signed in as ' + (res.data.handle || res.data.accountId) + '.' : 'Not signed in.';
  $('#sign-out').hidden = !res.ok;
};

$('#sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const res = await call('POST', '/sessions', { phone: form.elements.phone.value, password: form.elements.password.value });
  if (!res.ok) return showProblem(form.closest('section'), res.data);
  form.reset();
  say('Signed in.');
  await whoAmI();
});
$('#sign-out').addEventListener('click', async () => {
  await call('DELETE', '/sessions/current');
  say('Signed out.');
  await whoAmI();
});

// A reset link from the e-mail: open it (which does not use it up), then confirm on request.
const link = new URLSearchParams(location.search);
if (location.pathname === '/recover' && link.get('flow') && link.get('token')) {
  const section = $('section[data-flow="emailRecovery"]');
  flows.emailRecovery = link.get('flow');
  $('#mail-token').value = link.get('token');
  history.replaceState(null, '', '/');
  void sendEvent(section, { type: 'link.open', token: link.get('token') });
}

const inbox = $('#inbox');
async function refreshInbox() {
  if (inbox.hidden) return;
  const res = await call('GET', '/dev/inbox');
  if (!res.ok) return;
  const list = $('#inbox-list');
  list.replaceChildren(...res.data.messages.map((m) => {
    const item = document.createElement('li');
    item.textContent = m.channel.toUpperCase() + ' to ' + m.to + (m.subject ? ' (' + m.subject + ')' : '') + ':\\n' + m.text;
    return item;
  }));
  if (res.data.messages.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'No messages yet.' }));
  inbox.dataset.count = String(res.data.messages.length);
}
inbox.hidden = document.body.dataset.devInbox !== 'true';
$('#inbox-refresh').addEventListener('click', () => void refreshInbox());
void refreshInbox();
void whoAmI();
document.body.dataset.ready = 'true';
`;

/** What tells the two recovery sections apart; the rest of their forms is one. */
interface RecoveryChannel {
  readonly flow: 'smsRecovery' | 'emailRecovery';
  /** Prefix of the section's element ids (the script finds `#mail-token` by it). */
  readonly idPrefix: string;
  readonly heading: string;
  readonly channel: { readonly id: string; readonly label: string; readonly type: 'tel' | 'email'; readonly autocomplete: 'tel' | 'email' };
  readonly codeLabel: string;
  /** Forms only this channel has, shown between the code and the second factor. */
  readonly afterCode: string;
}

const recoverySection = (r: RecoveryChannel): string => `<section data-flow="${r.flow}" aria-labelledby="${r.idPrefix}-h">
<h2 id="${r.idPrefix}-h">${r.heading}</h2>
<form data-when="start enteringChannel" data-event="channel.submit">
<label for="${r.channel.id}">${r.channel.label}</label>
<input id="${r.channel.id}" name="channel" type="${r.channel.type}" autocomplete="${r.channel.autocomplete}" required>
<button>Send me a code</button>
</form>
<form data-when="awaitingCode codeExpired" data-event="code.submit" hidden>
<label for="${r.idPrefix}-code">${r.codeLabel}</label>
<input id="${r.idPrefix}-code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
<button>Confirm</button><button type="button" class="secondary" data-send="code.resend">Send a new code</button>
</form>
${r.afterCode}<form data-when="secondFactor" data-event="secondFactor.submit" hidden>
<label for="${r.idPrefix}-2fa">Code from your authenticator app, or a backup code</label>
<input id="${r.idPrefix}-2fa" name="code" autocomplete="one-time-code" required>
<button>Confirm</button>
</form>
<form data-when="hardening.choosingPassword" data-event="password.submit" hidden>
<label for="${r.idPrefix}-password">New password</label>
<input id="${r.idPrefix}-password" name="password" type="password" autocomplete="new-password" required>
<button>Set password</button>
</form>
<form data-when="hardening.reviewingSecurity" data-event="security.done" hidden>
<p>Every other session was signed out and your bound channels were told.</p>
<button>Finish</button>
</form>
<p class="out"></p>
<button type="button" class="secondary" data-reset>Start over</button>
</section>`;

const SMS_RECOVERY: RecoveryChannel = {
  flow: 'smsRecovery',
  idPrefix: 'sms',
  heading: 'Forgot your password? Recover by SMS',
  channel: { id: 'sms-phone', label: 'Your bound mobile number', type: 'tel', autocomplete: 'tel' },
  codeLabel: 'The code we texted you',
  afterCode: '',
};

// The e-mailed link opens the flow at `linkOpened`; the script fills `#mail-token` from the link.
const EMAIL_RECOVERY: RecoveryChannel = {
  flow: 'emailRecovery',
  idPrefix: 'mail',
  heading: 'Recover by e-mail',
  channel: { id: 'mail-address', label: 'Your bound e-mail address', type: 'email', autocomplete: 'email' },
  codeLabel: 'The code in the e-mail',
  afterCode: `<form data-when="linkOpened" data-event="link.confirm" hidden>
<p>This link lets you set a new password.</p>
<input type="hidden" name="token" id="mail-token">
<button>Continue</button>
</form>
`,
};

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your account</title>
<style>${STYLE}</style>
</head>
<body data-dev-inbox="__DEV_INBOX__">
<main>
<h1>Your account</h1>
<p id="status" role="status" aria-live="polite"></p>

<section data-flow="registration" aria-labelledby="reg-h">
<h2 id="reg-h">Register</h2>
<form data-when="start enteringPhone" data-event="phone.submit">
<label for="reg-phone">Mobile number, with country code</label>
<input id="reg-phone" name="phone" type="tel" autocomplete="tel" placeholder="+86 138 0013 8000" required>
<button>Send me a code</button>
</form>
<form data-when="awaitingCode codeExpired" data-event="code.submit" hidden>
<label for="reg-code">The code we texted you</label>
<input id="reg-code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
<button>Confirm</button><button type="button" class="secondary" data-send="code.resend">Send a new code</button>
</form>
<form data-when="choosingHandle" data-event="handle.submit" hidden>
<label for="reg-handle">Handle (6–20 characters, starting with a letter)</label>
<input id="reg-handle" name="handle" autocomplete="username" required>
<button>Choose</button>
</form>
<form data-when="choosingPassword" data-event="password.submit" hidden>
<label for="reg-password">Password (at least 8 characters)</label>
<input id="reg-password" name="password" type="password" autocomplete="new-password" required>
<button>Create my account</button>
</form>
<p class="out"></p>
<button type="button" class="secondary" data-reset>Start over</button>
</section>

${recoverySection(SMS_RECOVERY)}

${recoverySection(EMAIL_RECOVERY)}

<section aria-labelledby="in-h">
<h2 id="in-h">Sign in</h2>
<p id="signed-in">Not signed in.</p>
<form id="sign-in-form">
<label for="in-phone">Mobile number</label>
<input id="in-phone" name="phone" type="tel" autocomplete="tel" required>
<label for="in-password">Password</label>
<input id="in-password" name="password" type="password" autocomplete="current-password" required>
<button>Sign in</button><button type="button" class="secondary" id="sign-out" hidden>Sign out</button>
</form>
</section>

<section id="inbox" aria-labelledby="inbox-h" hidden>
<h2 id="inbox-h">Development inbox</h2>
<p>What the service would have texted or mailed, newest first. Development only.</p>
<button type="button" class="secondary" id="inbox-refresh">Refresh</button>
<ol id="inbox-list" aria-live="polite"></ol>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const hashOf = (source: string): string => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** Only this page's own script and style run; it talks to this origin and nothing else. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hashOf(SCRIPT)}`,
  `style-src ${hashOf(STYLE)}`,
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * @example
 * c.html(pageHtml({ devInbox: true }), 200, { 'content-security-policy': PAGE_CSP });
 */
export const pageHtml = (options: { readonly devInbox: boolean }): string => HTML.replace('__DEV_INBOX__', options.devInbox ? 'true' : 'false');
