/**
 * account-flows: registration and password recovery as XState machines over a pure domain
 * model, hosted by one runtime contract with injected ports.
 *
 * The in-memory adapters live at `account-flows/memory` and the bundled common-password list at
 * `account-flows/common-passwords`, so a host that brings its own pays for neither.
 */

// domain
export * from './domain/errors.ts';
export * from './domain/time.ts';
export * from './domain/policy.ts';
export * from './domain/budget.ts';
export * from './domain/phone.ts';
export * from './domain/email.ts';
export * from './domain/handle.ts';
export * from './domain/password.ts';
export * from './domain/verificationCode.ts';
export * from './domain/hotp.ts';
export * from './domain/totp.ts';
export * from './domain/account.ts';
export * from './domain/effects.ts';
export * from './domain/messages.ts';
export { decodeWith, eventCodec } from './domain/decode.ts';

// ports
export type * from './ports/accountDirectory.ts';
export type * from './ports/audit.ts';
export type * from './ports/blockedNumbers.ts';
export type * from './ports/budgets.ts';
export type * from './ports/clock.ts';
export type * from './ports/codeSecrets.ts';
export type * from './ports/flowStore.ts';
export type { DeliveryResult, Messenger, OutboundMessage } from './ports/messenger.ts';
export type * from './ports/passwordBlocklist.ts';
export type * from './ports/passwordHasher.ts';
export type * from './ports/random.ts';
export type * from './ports/realNameProvider.ts';
export type * from './ports/sessions.ts';
export type * from './ports/supportQueue.ts';

// runtime
export * from './runtime/runtime.ts';
export * from './runtime/envelope.ts';
export * from './runtime/flowDefinition.ts';
export type { FlowPorts } from './runtime/ports.ts';
export * from './runtime/scheduler.ts';

// machines and their flow definitions
export * from '../machines/registration.ts';
export * from './flows/registration.ts';
export * from '../machines/realName.ts';
export * from './flows/realName.ts';
export * from './domain/paymentsGate.ts';
export * from '../machines/codeChallenge.ts';
export * from '../machines/hardening.ts';
export * from '../machines/channelRecovery.ts';
export * from '../machines/smsRecovery.ts';
export * from '../machines/emailRecovery.ts';
export * from './flows/channelRecovery.ts';
export * from '../machines/totpEnrollment.ts';
export * from './flows/totpEnrollment.ts';
export * from '../machines/binding.ts';
export * from './flows/binding.ts';
export * from '../machines/manualReview.ts';
export * from './flows/manualReview.ts';
export * from './domain/reviewTicket.ts';
export * from './domain/friendAssist.ts';
export * from '../machines/friendAssist.ts';
export * from './flows/friendAssist.ts';
export type * from './ports/inApp.ts';
export type * from './ports/secondFactors.ts';
export type * from './ports/supportQueue.ts';
export * from './graph/machineGraph.ts';

// adapters with no large data and no Node-only API
export { VirtualClock, systemClock } from './adapters/clocks.ts';
export { cryptoRandom, seededRandom } from './adapters/random.ts';
export { hmacCodeSecrets } from './adapters/codeSecrets.ts';
export { isTrivialPattern, trivialPatternBlocklist } from './adapters/trivialPasswords.ts';
export { scryptHasher, testOnlyHasher } from './adapters/hashers.ts';
export { WallClockScheduler } from './adapters/wallClockScheduler.ts';
