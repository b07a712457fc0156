/** A benchmark worker: holds the run's scripts and plays the shards of any mode it is sent. */
import { parentPort } from 'node:worker_threads';
import { Bench, type Mode, type ModeResult } from './modes.ts';
import type { FlowScript } from './scripts.ts';

export type WorkerRequest =
  /** `prepare`: how many of the first shards the runtime-less modes will play, prepared now. */
  | { readonly kind: 'load'; readonly seed: number; readonly shards: readonly (readonly FlowScript[])[]; readonly prepare: number }
  | { readonly kind: 'run'; readonly mode: Mode; readonly shard: number; readonly reps: number; readonly limit?: number };

export type WorkerReply = { readonly kind: 'loaded' } | { readonly kind: 'done'; readonly shard: number; readonly result: ModeResult } | { readonly kind: 'error'; readonly error: string };

const port = parentPort;
if (port === null) throw new Error('simulations/bench/worker.ts runs only as a worker thread');

let bench: Bench | undefined;
let shards: readonly (readonly FlowScript[])[] = [];

const handle = async (request: WorkerRequest): Promise<WorkerReply> => {
  if (request.kind === 'load') {
    bench = new Bench(request.seed);
    shards = request.shards;
    // Events are prepared here, before any clock starts.
    for (const scripts of shards.slice(0, request.prepare)) bench.prepared(scripts);
    return { kind: 'loaded' };
  }
  if (bench === undefined) throw new Error('the worker was sent a run before its scripts');
  const scripts = shards[request.shard] ?? [];
  const played = request.limit === undefined ? scripts : scripts.slice(0, request.limit);
  return { kind: 'done', shard: request.shard, result: await bench.run(request.mode, played, request.reps) };
};

port.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ kind: 'error', error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerReply),
  );
});
