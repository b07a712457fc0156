import { afterAll, beforeAll } from 'vitest';
import type { SqlClient } from '../../src/adapters/sql/client.ts';
import { openPglite } from '../../src/adapters/sql/pglite.ts';
import { describeContract } from './contract.ts';
import { sqlContractPorts } from './sqlContractPorts.ts';
import { SETUP_TIMEOUT_MS } from './support.ts';

let client: SqlClient | undefined;
beforeAll(async () => {
  client = await openPglite();
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await client?.close();
}, SETUP_TIMEOUT_MS);

describeContract('PGlite', () => sqlContractPorts(client));
