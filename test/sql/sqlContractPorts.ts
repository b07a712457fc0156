import type { SqlClient } from '../../src/adapters/sql/client.ts';
import type { PortsUnderTest } from './contract.ts';
import { emptyTables, sqlPorts } from './support.ts';

/** Empty SQL ports over a migrated database: the contract's `fresh` for SQL adapters. */
export const sqlContractPorts = async (client: SqlClient | undefined): Promise<PortsUnderTest> => {
  if (client === undefined) throw new Error('the SQL client is not open');
  const ports = await sqlPorts(client);
  await emptyTables(client);
  const { directory } = ports;
  return {
    ...ports,
    seed: {
      account: (input) => directory.createAccount(input),
      befriend: (a, b, since) => directory.befriend(a, b, since),
      deactivate: (id) => directory.deactivate(id),
      bumpEpoch: (id) => directory.bumpEpoch(id),
      all: () => directory.all(),
    },
  };
};
