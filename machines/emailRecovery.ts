/** Recovery by reset link or code to the bound e-mail: the channel-recovery machine on e-mail. */
import type { ChallengeDeps } from './codeChallenge.ts';
import { createChannelRecoveryMachine } from './channelRecovery.ts';

export const createEmailRecoveryMachine = (deps: ChallengeDeps) => createChannelRecoveryMachine(deps, 'email');
