import { channelRecoveryModelSuite } from './channelRecovery.ts';

channelRecoveryModelSuite('sms');
