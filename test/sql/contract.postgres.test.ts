import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { describeContract } from './contract.ts';
import { sqlContractPorts } from './sqlContractPorts.ts';
import { describePostgres, suiteClient } from './support.ts';

describePostgres('PostgreSQL', (url) => {
  const client = suiteClient(() => openPostgres(url()));
  describeContract('PostgreSQL', () => sqlContractPorts(client()));
});
