/**
 * A host that writes down what its flows do: every applied event with the state it led to and
 * the effects it asked for (type and parameters), and every answer a caller got. A scenario's
 * trace is compared with its snapshot, so a change to any audit entry, message, ticket, budget
 * key or deadline a flow asks for shows up as a diff (`npx vitest run -u` accepts one on purpose).
 *
 * Flow ids come from the seeded random source; they are written as `flow#1`, `flow#2`… in order of
 * creation, so the trace says which flow an effect belongs to without depending on the bytes.
 */
import * as E from 'fp-ts/lib/Either.js';
import { commonPasswordBlocklist } from '../../src/adapters/commonPasswords.ts';
import { createMemoryWorld, type MemoryWorld, type MemoryWorldOptions } from '../../src/adapters/memory/index.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import { friendAssistFlow } from '../../src/flows/friendAssist.ts';
import { manualReviewFlow } from '../../src/flows/manualReview.ts';
import { realNameFlow } from '../../src/flows/realName.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import { totpEnrollmentFlow } from '../../src/flows/totpEnrollment.ts';
import { createRuntime, type FlowRuntime, type HostSession, type StepResult } from '../../src/runtime/runtime.ts';

export type TraceLine =
  | {
      readonly step: string;
      readonly machine: string;
      readonly at: number;
      readonly state: unknown;
      readonly status: string;
      readonly effects: readonly { readonly type: string; readonly params: unknown }[];
    }
  | { readonly reply: string; readonly state?: unknown; readonly view?: unknown; readonly nextDeadline?: number | null; readonly pending?: number; readonly error?: unknown };

export interface TracingHost {
  readonly world: MemoryWorld;
  readonly runtime: FlowRuntime;
  /** Writes a caller's answer into the trace, under a label, and hands it back. */
  answer(label: string, result: StepResult): StepResult;
  /** The trace so far, with flow ids replaced by their order of creation. */
  trace(): readonly TraceLine[];
  /** Any value with flow ids replaced as in the trace. */
  normalise<T>(value: T): T;
}

export const tracingHost = (options: MemoryWorldOptions = {}): TracingHost => {
  const world = createMemoryWorld({ passwordBlocklist: commonPasswordBlocklist(), ...options });
  const lines: TraceLine[] = [];
  const flows = [registrationFlow(world), realNameFlow(world), smsRecoveryFlow(world), emailRecoveryFlow(world), totpEnrollmentFlow(world), bindingFlow(world), manualReviewFlow(world), friendAssistFlow(world)];
  const runtime = createRuntime(world, flows, {
    observe: (s) =>
      lines.push({
        step: s.event,
        machine: s.machine,
        at: s.at,
        state: s.to.value,
        status: s.to.status,
        effects: s.effects.map((e) => ({ type: e.effect.type, params: e.effect.params })),
      }),
  });
  const answer = (label: string, result: StepResult): StepResult => {
    lines.push(
      E.isLeft(result)
        ? { reply: label, error: result.left }
        : { reply: label, view: result.right.view, nextDeadline: result.right.nextDeadline, pending: result.right.pendingEffects },
    );
    return result;
  };
  // Numbered in order of creation: the store lists flows as they were inserted.
  const normalise = <T>(value: T): T => {
    let text = JSON.stringify(value);
    world.store.ids().forEach((id, i) => {
      text = text.split(id).join(`flow#${i + 1}`);
    });
    return JSON.parse(text) as T;
  };
  const trace = (): readonly TraceLine[] => normalise(lines);
  return { world, runtime, answer, trace, normalise };
};

export interface TracedFlow {
  readonly flowId: string;
  send(label: string, event: Record<string, unknown>, session?: HostSession): Promise<StepResult>;
  /** Moves the clock to `at` and wakes the flow. */
  tickAt(label: string, at: number): Promise<StepResult>;
}

/** Starts a flow and gives the calls that move it, each written into the trace under its label. */
export const startTraced = async (host: TracingHost, name: string, input: unknown = {}, session?: HostSession): Promise<TracedFlow> => {
  const started = host.answer(`start ${name}`, await host.runtime.start(name, input, session));
  if (E.isLeft(started)) throw new Error(`could not start ${name}: ${started.left.message}`);
  const { flowId } = started.right;
  return {
    flowId,
    send: async (label, event, as = session) => host.answer(label, await host.runtime.send(flowId, event, as)),
    tickAt: async (label, at) => {
      host.world.clock.advanceTo(at);
      return host.answer(label, await host.runtime.tick(flowId));
    },
  };
};

/** Everything the ports were asked to deliver or record, in order. */
export const deliveries = (host: TracingHost) =>
  host.normalise({
    audit: host.world.audit.entries,
    messages: host.world.messenger.sent.map(
      (m) => `${m.idempotencyKey} ${m.message.channel} ${m.message.to}: ${'subject' in m.message ? `[${m.message.subject}] ` : ''}${m.message.text}`,
    ),
    inApp: host.world.inApp.delivered.map((d) => ({ key: d.idempotencyKey, to: d.to, notice: d.notice })),
  });
