/**
 * A script turned into what a machine receives: decoded, enriched events stamped with `at`,
 * including the feedback the outbox would give (`delivery.sent`, `recovery.applied`) and the
 * host's deadline tick. Built before any clock starts, so modes (b) and (c) time stepping only.
 */
import type { CodeBinding } from '../../src/domain/verificationCode.ts';
import type { Policy } from '../../src/domain/policy.ts';
import type { MachineEvent } from '../../src/runtime/flowDefinition.ts';
import { type FlowScript, wrongCode } from './scripts.ts';

/** Where a fresh virtual clock starts (`VirtualClock`'s default), so every mode sees the same instants. */
export const BENCH_START = Date.UTC(2026, 0, 1);

export interface PreparedFlow {
  readonly script: FlowScript;
  readonly input: { readonly flowId: string; readonly nonce: string; readonly at: number };
  readonly events: readonly MachineEvent[];
  /** The code of each send, by counter: what the messenger would have carried. */
  readonly codes: readonly string[];
}

export interface PrepareDeps {
  readonly policy: Policy;
  /** Derives a code exactly as the outbox does before handing it to the messenger. */
  readonly code: (binding: CodeBinding, counter: number, digits: number) => string;
}

export const prepareFlow = (script: FlowScript, deps: PrepareDeps): PreparedFlow => {
  const { policy } = deps;
  const binding: CodeBinding = { flowId: script.flowId, purpose: 'recovery.sms', epoch: 0, nonce: script.nonce };
  const codes: string[] = [];
  const events: MachineEvent[] = [];
  const accountId = `acct-${script.ordinal + 1}`;
  let startAt = BENCH_START;
  let resendAllowedAt = Number.NEGATIVE_INFINITY;
  const send = (at: number): void => {
    codes.push(deps.code(binding, codes.length, policy.code.digits));
    resendAllowedAt = at + policy.sends.cooldownMs;
    events.push({ type: 'delivery.sent', at });
  };
  for (const step of script.steps) {
    const at = BENCH_START + step.at;
    switch (step.kind) {
      case 'start':
        startAt = at;
        break;
      case 'channel':
        events.push({ type: 'channel.submit', at, channel: script.phone, subject: { accountId, epoch: 0 } });
        send(at);
        break;
      case 'code': {
        const right = codes[codes.length - 1] ?? '000000';
        const code = step.guess === null ? right : wrongCode(step.guess, right);
        events.push({ type: 'code.submit', at, code, currentEpoch: 0, accountActive: true, secondFactorEnrolled: false });
        break;
      }
      case 'resend':
        events.push({ type: 'code.resend', at });
        // A resend inside the cooldown is refused by the machine and sends nothing.
        if (at >= resendAllowedAt) send(at);
        break;
      case 'tick':
        events.push({ type: 'clock.tick', at });
        break;
      case 'password': {
        events.push({ type: 'password.submit', at, passwordHash: `test-sha256$${script.nonce.slice(0, 16)}$${'0'.repeat(64)}` });
        const recentLogins = Array.from({ length: script.sessions }, (_, i) => ({ at: at - (i + 1) * 86_400_000, device: 'iPhone', place: 'Shanghai', sessionId: `sess-${i + 1}` }));
        events.push({ type: 'recovery.applied', at, revokedSessions: script.sessions, channelsTold: 1, offers: ['bindEmail', 'enableTotp'], recentLogins });
        break;
      }
      case 'done':
        events.push({ type: 'security.done', at });
        break;
    }
  }
  return { script, input: { flowId: script.flowId, nonce: script.nonce, at: startAt }, events, codes };
};
