/**
 * The flows the HTTP service exposes, and what the service must know about each before the
 * runtime sees a request: who may start it, and whether it can make the service send an SMS.
 */
import { bindingFlow } from '../flows/binding.ts';
import { emailRecoveryFlow, smsRecoveryFlow } from '../flows/channelRecovery.ts';
import { friendAssistFlow } from '../flows/friendAssist.ts';
import { manualReviewFlow } from '../flows/manualReview.ts';
import { realNameFlow } from '../flows/realName.ts';
import { registrationFlow } from '../flows/registration.ts';
import { TOTP_ENROLLMENT_SECRET_FIELDS, totpEnrollmentFlow } from '../flows/totpEnrollment.ts';
import type { FlowDefinition } from '../runtime/flowDefinition.ts';
import type { FlowPorts } from '../runtime/ports.ts';

export interface ExposedFlow {
  /**
   * 'anonymous': an entry anyone may start (CAPTCHA-guarded, padded, budgeted when it texts);
   * 'signedIn': started by a signed-in account for itself.
   */
  readonly startedBy: 'anonymous' | 'signedIn';
  /** Whether a client can make this flow text a number it chose (SMS pumping). */
  readonly sendsSms: boolean;
}

export const EXPOSED_FLOWS: Readonly<Record<string, ExposedFlow>> = {
  registration: { startedBy: 'anonymous', sendsSms: true },
  smsRecovery: { startedBy: 'anonymous', sendsSms: true },
  emailRecovery: { startedBy: 'anonymous', sendsSms: false },
  friendAssist: { startedBy: 'anonymous', sendsSms: false },
  manualReview: { startedBy: 'anonymous', sendsSms: false },
  binding: { startedBy: 'signedIn', sendsSms: true },
  totpEnrollment: { startedBy: 'signedIn', sendsSms: false },
  realName: { startedBy: 'signedIn', sendsSms: false },
};

export const exposedFlow = (name: string): ExposedFlow | undefined => (Object.hasOwn(EXPOSED_FLOWS, name) ? EXPOSED_FLOWS[name] : undefined);

/**
 * View fields that show a secret. The runtime's `read` includes them (so a client that lost a
 * reply can fetch it again); over HTTP a flow id travels in URLs and logs, so `GET /flows/:id`
 * leaves them out. They still reach the one caller whose own start or send produced them.
 */
export const SECRET_VIEW_FIELDS: readonly string[] = [...TOTP_ENROLLMENT_SECRET_FIELDS, 'requesterToken'];

/** Every definition the service hosts, built once over the ports. */
export const serviceFlows = (ports: FlowPorts): FlowDefinition[] => [
  registrationFlow(ports),
  smsRecoveryFlow(ports),
  emailRecoveryFlow(ports),
  friendAssistFlow(ports),
  manualReviewFlow(ports),
  bindingFlow(ports),
  totpEnrollmentFlow(ports),
  realNameFlow(ports),
] as FlowDefinition[];
