/**
 * A whole run: the flows split into shards by the run's own parameters (never by the core
 * count), the shards spread over worker threads, and the results merged in shard order.
 */
import { Worker } from 'node:worker_threads';
import type { FlowDefinition } from '../src/runtime/flowDefinition.ts';
import type { FlowPorts } from '../src/runtime/ports.ts';
import { mergeReport, type Report } from './report.ts';
import { runShard, type ShardResult, type ShardSpec } from './shard.ts';

export interface RunOptions {
  readonly seed: number;
  readonly flows: number;
  readonly shardSize?: number;
  readonly workers?: number;
  readonly onProgress?: (flowsDone: number) => void;
  /** Only without workers: a planted variant for the teeth tests. */
  readonly definitions?: (ports: FlowPorts) => FlowDefinition[];
  /** Only without workers: broken ports for the teeth tests. */
  readonly ports?: ShardSpec['ports'];
  readonly restartRate?: number;
  readonly faults?: ShardSpec['faults'];
}

export const DEFAULT_SHARD_SIZE = 250;

export const planShards = (flows: number, shardSize = DEFAULT_SHARD_SIZE): number[] => {
  const count = Math.max(1, Math.ceil(flows / shardSize));
  const base = Math.floor(flows / count);
  const rest = flows % count;
  return Array.from({ length: count }, (_, i) => base + (i < rest ? 1 : 0));
};

export const replayCommand = (seed: number, flows: number, shardSize: number) => (v: { shard: number; flow: string }): string =>
  `npm run simulate -- --seed ${seed} --flows ${flows} --shard-size ${shardSize} --replay ${v.shard}:${v.flow}`;

const inWorkers = async (specs: readonly ShardSpec[], workers: number, onProgress?: (n: number) => void): Promise<ShardResult[]> => {
  const results: ShardResult[] = [];
  let next = 0;
  const bootstrap = new URL('./worker.mjs', import.meta.url);
  const runOne = (worker: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      const spec = specs[next++];
      if (spec === undefined) return resolve();
      const onMessage = (message: { kind: 'progress'; n: number } | { kind: 'done'; result: ShardResult } | { kind: 'error'; error: string }) => {
        if (message.kind === 'progress') onProgress?.(message.n);
        else {
          worker.off('message', onMessage);
          if (message.kind === 'error') return reject(new Error(message.error));
          results.push(message.result);
          runOne(worker).then(resolve, reject);
        }
      };
      worker.on('message', onMessage);
      worker.postMessage(spec);
    });
  const pool = Array.from({ length: Math.min(workers, specs.length) }, () => new Worker(bootstrap));
  try {
    await Promise.all(pool.map(runOne));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
};

export const runSimulation = async (options: RunOptions): Promise<Report> => {
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  const specs: ShardSpec[] = planShards(options.flows, shardSize).map((flows, shard) => ({
    seed: options.seed,
    shard,
    flows,
    ...(options.restartRate === undefined ? {} : { restartRate: options.restartRate }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.definitions === undefined ? {} : { definitions: options.definitions }),
    ...(options.ports === undefined ? {} : { ports: options.ports }),
  }));
  const started = performance.now();
  const workers = options.workers ?? 1;
  let results: ShardResult[];
  if (workers > 1 && options.definitions === undefined && options.ports === undefined) results = await inWorkers(specs, workers, options.onProgress);
  else {
    results = [];
    for (const spec of specs) results.push(await runShard(spec, options.onProgress));
  }
  const seconds = (performance.now() - started) / 1000;
  return mergeReport(
    { seed: options.seed, flows: options.flows, seconds, replayCommand: replayCommand(options.seed, options.flows, shardSize), ...(options.definitions === undefined ? {} : { definitions: options.definitions }) },
    results,
  );
};
