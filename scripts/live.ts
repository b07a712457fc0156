/**
 * npm run live [-- --port N] [--host H] [--seed S]
 *
 * Serves the live view on 127.0.0.1 (a free port unless --port says otherwise): drive any flow
 * by hand under a virtual clock and watch its state on the diagram. Nothing is fetched from the
 * network; the page and its script come from this package.
 */
import { parseArgs } from 'node:util';
import { startLiveServer } from './live/server.ts';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, seed: { type: 'string', default: '1' } },
  strict: true,
});
const port = Number(values.port);
const seed = Number(values.seed);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isSafeInteger(seed)) {
  console.error('--port must be 0-65535 and --seed an integer');
  process.exit(2);
}
const live = await startLiveServer({ port, host: values.host, seed });
console.log(`account-flows live view: ${live.url}  (Ctrl-C stops it)`);
const stop = () => void live.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
