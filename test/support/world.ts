import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import { commonPasswordBlocklist } from '../../src/adapters/commonPasswords.ts';
import { createMemoryWorld, type MemoryWorld, type MemoryWorldOptions } from '../../src/adapters/memory/index.ts';
import { bindingFlow } from '../../src/flows/binding.ts';
import { manualReviewFlow } from '../../src/flows/manualReview.ts';
import { realNameFlow } from '../../src/flows/realName.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import { friendAssistFlow } from '../../src/flows/friendAssist.ts';
import { registrationFlow } from '../../src/flows/registration.ts';
import { totpEnrollmentFlow } from '../../src/flows/totpEnrollment.ts';
import { createRuntime, type FlowRuntime, type StepReply, type StepResult } from '../../src/runtime/runtime.ts';
import type { FlowError } from '../../src/domain/errors.ts';

export interface TestHost {
  readonly world: MemoryWorld;
  readonly runtime: FlowRuntime;
}

export const testHost = (options: MemoryWorldOptions = {}): TestHost => {
  const world = createMemoryWorld({ passwordBlocklist: commonPasswordBlocklist(), ...options });
  return { world, runtime: createRuntime(world, [registrationFlow(world), realNameFlow(world), smsRecoveryFlow(world), emailRecoveryFlow(world), totpEnrollmentFlow(world), bindingFlow(world), manualReviewFlow(world), friendAssistFlow(world)]) };
};

export const ok = (result: StepResult): StepReply => {
  if (E.isLeft(result)) expect.fail(`expected success, got ${result.left.code}: ${result.left.message}`);
  return result.right;
};

export const fail = (result: StepResult): FlowError => {
  if (E.isRight(result)) expect.fail(`expected an error, got state ${result.right.view.state}`);
  return result.left;
};
