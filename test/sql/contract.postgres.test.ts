import { afterAll, beforeAll } from 'vitest';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { openPostgres } from '../../src/adapters/sql/pg.ts';
import { describeContract } from './contract.ts';
import { sqlContractPorts } from './sqlContractPorts.ts';
import { describePostgres, SETUP_TIMEOUT_MS } from './support.ts';

describePostgres('PostgreSQL', (url) => {
  let client: SqlClient | undefined;
  beforeAll(() => {
    client = openPostgres(url());
  });
  afterAll(async () => {
    await client?.close();
  }, SETUP_TIMEOUT_MS);
  describeContract('PostgreSQL', () => sqlContractPorts(client));
});
