/**
 * Keys a host needs to be the same across restarts and across instances — the key codes are
 * derived from, the key session tokens are signed with — for hosts that do not bring their own.
 * The first instance to start creates each key; every later one reads the same. A key kept in
 * the database is only as safe as the database: production hosts should pass keys from their
 * secret store instead (see README, "Running the service").
 */
import type { SqlClient } from './client.ts';

const toText = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** The key stored under `name`, created from `fresh()` if there is none yet (race-safe). */
export const hostKey = async (client: SqlClient, name: string, fresh: () => Uint8Array): Promise<Uint8Array> => {
  await client.query('INSERT INTO af_host_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, toText(fresh())]);
  const [row] = await client.query<{ key: string }>('SELECT key FROM af_host_keys WHERE name = $1', [name]);
  if (row === undefined) throw new Error(`host key ${name} vanished after it was stored`);
  return new Uint8Array(Buffer.from(row.key, 'base64'));
};
