import { channelRecoveryModelSuite } from './channelRecovery.ts';

channelRecoveryModelSuite('email');
