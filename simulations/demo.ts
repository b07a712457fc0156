/**
 * The main job for now: a scripted registration on the embedded in-memory defaults, printed
 * step by step with virtual times. No server, no network, no real clock.
 */
import * as E from 'fp-ts/lib/Either.js';
import { commonPasswordBlocklist } from '../src/adapters/commonPasswords.ts';
import { createMemoryWorld } from '../src/adapters/memory/index.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import { createRuntime, type StepResult } from '../src/runtime/runtime.ts';

const world = createMemoryWorld({ seed: 7, passwordBlocklist: commonPasswordBlocklist() });
const runtime = createRuntime(world, [registrationFlow(world)]);
const t0 = world.clock.now();
const PHONE = '+86 138 0013 8000';

const clock = (): string => {
  const s = Math.floor((world.clock.now() - t0) / 1000);
  return `t+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

const show = (what: string, result: StepResult): string => {
  if (E.isLeft(result)) {
    console.log(`${clock()}  ${what.padEnd(34)} → refused: ${result.left.code} (${result.left.message})`);
    return '';
  }
  const { view } = result.right;
  const notice = view.notice === null || view.notice === undefined ? '' : `  notice=${JSON.stringify(view.notice)}`;
  console.log(`${clock()}  ${what.padEnd(34)} → ${view.state}${notice}`);
  return result.right.flowId;
};

const lastCode = (): string => world.messenger.lastCodeTo('+8613800138000') ?? '';

const flowId = show('start registration', await runtime.start('registration', {}));
show(`phone.submit "+1 202 555 0123"`, await runtime.send(flowId, { type: 'phone.submit', phone: '+1 202 555 0123' }));
show(`phone.submit "${PHONE}"`, await runtime.send(flowId, { type: 'phone.submit', phone: PHONE }));
console.log(`          SMS to +8613800138000: "${world.messenger.sent.at(-1)?.message.text}"`);
world.clock.advanceBy(20_000);
show('code.resend (too early)', await runtime.send(flowId, { type: 'code.resend' }));
show('code.submit "000000" (wrong)', await runtime.send(flowId, { type: 'code.submit', code: lastCode() === '000000' ? '111111' : '000000' }));
world.clock.advanceBy(45_000);
show('code.submit (the code from the SMS)', await runtime.send(flowId, { type: 'code.submit', code: lastCode() }));
show('handle.submit "1abc" (bad grammar)', await runtime.send(flowId, { type: 'handle.submit', handle: '1abc' }));
show('handle.submit "wang_xiaoming"', await runtime.send(flowId, { type: 'handle.submit', handle: 'wang_xiaoming' }));
show('password.submit "password123"', await runtime.send(flowId, { type: 'password.submit', password: 'password123' }));
world.clock.advanceBy(30_000);
show('password.submit (a long passphrase)', await runtime.send(flowId, { type: 'password.submit', password: 'tea on the west lake at dawn' }));

const account = await world.directory.findByPhone('+8613800138000' as never);
console.log(`\naccount ${account?.id}: handle=${account?.handle} phone=${account?.phone?.value} epoch=${account?.securityEpoch}`);
console.log(`stored flow holds no code or password: ${!(world.store.raw(flowId) ?? '').includes('tea on the west lake')}`);
