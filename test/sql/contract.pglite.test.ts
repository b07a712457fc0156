import { openPglite } from '../../src/adapters/sql/pglite.ts';
import { describeContract } from './contract.ts';
import { sqlContractPorts } from './sqlContractPorts.ts';
import { suiteClient } from './support.ts';

const client = suiteClient(openPglite);

describeContract('PGlite', () => sqlContractPorts(client()));
