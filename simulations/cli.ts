/**
 * npm run simulate -- --flows N --seed S [--workers W] [--shard-size K] [--json FILE] [--replay SHARD:FLOW]
 *
 * Runs randomized flows of every path under virtual time, checks the invariant catalogue and
 * prints a summary; exits non-zero on any violation. --replay reruns one shard and prints the
 * trace of one flow.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { formatReport } from './report.ts';
import { DEFAULT_SHARD_SIZE, planShards, runSimulation } from './run.ts';
import { runShard } from './shard.ts';

const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string' },
    'shard-size': { type: 'string', default: String(DEFAULT_SHARD_SIZE) },
    json: { type: 'string' },
    replay: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
  strict: true,
});

const integer = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, got "${raw}"`);
    process.exit(2);
  }
  return n;
};

const flows = integer('flows', values.flows, 1);
const seed = integer('seed', values.seed, -(2 ** 31));
const shardSize = integer('shard-size', values['shard-size'], 1);
const workers = integer('workers', values.workers ?? String(Math.max(1, Math.min(availableParallelism(), 8))), 1);

if (values.replay !== undefined) {
  const [shardText, flow] = values.replay.split(':');
  const shard = integer('replay shard', shardText, 0);
  const plan = planShards(flows, shardSize);
  const shardFlows = plan[shard];
  if (shardFlows === undefined || flow === undefined) {
    console.error(`--replay ${values.replay}: no such shard or flow in a run of ${flows} flows`);
    process.exit(2);
  }
  const result = await runShard({ seed, shard, flows: shardFlows, keepTraceOf: flow.padStart(7, '0') });
  console.log(`replay of seed ${seed}, shard ${shard}, flow ${flow}:`);
  for (const line of result.trace ?? []) console.log(`  ${line.at}\t${line.event}\t${line.detail}\t→ ${line.outcome}`);
  const mine = result.violations.filter((v) => v.flow === flow.padStart(7, '0'));
  for (const v of mine) console.log(`violation [${v.invariant}]: ${v.reason}`);
  process.exit(mine.length > 0 ? 1 : 0);
}

const bar = process.stdout.isTTY && !values.quiet ? new cliProgress.SingleBar({ format: 'simulating {bar} {percentage}% | {value}/{total} flows | {eta}s left' }, cliProgress.Presets.shades_classic) : null;
bar?.start(flows, 0);
let done = 0;
const report = await runSimulation({ seed, flows, shardSize, workers, onProgress: (n) => bar?.update((done += n)) });
bar?.update(flows);
bar?.stop();

console.log(formatReport(report));
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
process.exit(report.violations.length > 0 ? 1 : 0);
