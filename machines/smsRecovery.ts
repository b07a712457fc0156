/** Recovery by SMS code to the bound phone: the channel-recovery machine on its SMS channel. */
import type { ChallengeDeps } from './codeChallenge.ts';
import { createChannelRecoveryMachine } from './channelRecovery.ts';

export const createSmsRecoveryMachine = (deps: ChallengeDeps) => createChannelRecoveryMachine(deps, 'sms');
