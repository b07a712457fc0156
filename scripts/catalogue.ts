/**
 * Every machine that gets a diagram, built exactly as the host builds it (through its flow
 * definition, over an in-memory world), so a diagram is drawn from the definition that runs.
 */
import { type AnyStateMachine, createMachine } from 'xstate';
import { hardeningState } from '../machines/hardening.ts';
import { createMemoryWorld, type MemoryWorld } from '../src/adapters/memory/index.ts';
import { bindingFlow } from '../src/flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../src/flows/channelRecovery.ts';
import { friendAssistFlow } from '../src/flows/friendAssist.ts';
import { manualReviewFlow } from '../src/flows/manualReview.ts';
import { realNameFlow } from '../src/flows/realName.ts';
import { registrationFlow } from '../src/flows/registration.ts';
import { totpEnrollmentFlow } from '../src/flows/totpEnrollment.ts';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';

export interface Diagrammed {
  /** The file stem under docs/diagrams/ and the machine's id. */
  readonly name: string;
  readonly machine: AnyStateMachine;
  /** Where the machine is defined, for the index's links. */
  readonly source: string;
  /** One line for the index. */
  readonly summary: string;
  /** The flow that hosts it; the hardening fragment has none of its own. */
  readonly flow?: FlowDefinition;
}

/** The flow definitions a host (or the live view) runs, in the order the index lists them. */
export const catalogueFlows = (world: MemoryWorld): FlowDefinition[] => [
  registrationFlow(world),
  realNameFlow(world),
  bindingFlow(world),
  totpEnrollmentFlow(world),
  smsRecoveryFlow(world),
  emailRecoveryFlow(world),
  friendAssistFlow(world),
  manualReviewFlow(world),
];

const SOURCES: Record<string, readonly [string, string]> = {
  registration: ['machines/registration.ts', 'A phone number, its code, a handle and a password become an account.'],
  realName: ['machines/realName.ts', 'Real-name verification through a provider, verdicts by webhook, a deadline per submission.'],
  binding: ['machines/binding.ts', 'A signed-in account binds a new phone or e-mail; the new channel proves itself with a code.'],
  totpEnrollment: ['machines/totpEnrollment.ts', 'An authenticator app is enrolled: the first code confirms it, backup codes are shown once.'],
  smsRecovery: ['machines/channelRecovery.ts', 'The recovery entry on the SMS channel: a code to the bound phone, a second factor, then hardening.'],
  emailRecovery: ['machines/channelRecovery.ts', 'The recovery entry on the e-mail channel: a reset link and a code, a second factor, then hardening.'],
  friendAssist: ['machines/friendAssist.ts', 'Friends vouch from their own sessions inside a window; a dispute wait; then hardening.'],
  manualReview: ['machines/manualReview.ts', 'Support reviews evidence; a dispute window; hardening and a mandatory new channel. A second region purges the evidence.'],
  hardening: ['machines/hardening.ts', 'The state every recovery path ends in: new password, epoch bump, channels told, sessions reviewed.'],
};

/**
 * @example
 * for (const { name, machine } of diagramCatalogue()) render(machineGraph(machine));
 */
export const diagramCatalogue = (world: MemoryWorld = createMemoryWorld()): Diagrammed[] => {
  const entries: Diagrammed[] = catalogueFlows(world).map((flow) => {
    const [source, summary] = SOURCES[flow.name] ?? [`machines/${flow.name}.ts`, ''];
    return { name: flow.name, machine: flow.machine as AnyStateMachine, source, summary, flow };
  });
  // The fragment as a machine of its own: its states and transitions are the ones every
  // recovery machine embeds (the path only changes an action's parameter).
  const hardening = createMachine({ id: 'hardening', ...(hardeningState('sms') as object) } as Parameters<typeof createMachine>[0]);
  const [source, summary] = SOURCES['hardening'] as readonly [string, string];
  entries.push({ name: 'hardening', machine: hardening as unknown as AnyStateMachine, source, summary });
  return entries;
};
