/** A worker thread that runs the shards it is sent, reporting progress as it goes. */
import { parentPort } from 'node:worker_threads';
import { runShard, type ShardSpec } from './shard.ts';

const port = parentPort;
if (port === null) throw new Error('simulations/worker.ts runs only as a worker thread');

port.on('message', (spec: ShardSpec) => {
  runShard(spec, (n) => port.postMessage({ kind: 'progress', n })).then(
    (result) => port.postMessage({ kind: 'done', result }),
    (error: unknown) => port.postMessage({ kind: 'error', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
