/**
 * The benchmark's modes behind one call, so the main thread and the workers run exactly the
 * same code: a mode plays one shard's scripts (several times, for the fast modes) and says how
 * each flow ended and how long the playing took. Preparing events is never timed.
 */
import { createMemoryWorld } from '../../src/adapters/memory/index.ts';
import { constantTimeEqual } from '../../src/domain/hotp.ts';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import { smsRecoveryFlow } from '../../src/flows/channelRecovery.ts';
import type { CodeSecrets } from '../../src/ports/codeSecrets.ts';
import { stepBare } from './bare.ts';
import { type PreparedFlow, prepareFlow } from './events.ts';
import { type HarnessOptions, type HarnessResult, runHarnessShard } from './harness.ts';
import { reduceFlows, type ReducerRules } from './reducer.ts';
import type { FlowScript } from './scripts.ts';

export const MODES = ['harness', 'actor', 'pure', 'reducer', 'reducer+hmac'] as const;
export type Mode = (typeof MODES)[number];

export interface ModeResult {
  readonly outcomes: readonly string[];
  /** Flows played (the shard's flows times the repetitions). */
  readonly flows: number;
  readonly ms: number;
  readonly harness?: HarnessResult;
}

/**
 * What the runtime-less modes share within one thread: the machine is built once (building or
 * providing one per flow costs more than stepping it), the events once per shard.
 */
export class Bench {
  readonly #secrets: CodeSecrets;
  readonly #machine;
  readonly #prepared = new Map<readonly FlowScript[], readonly PreparedFlow[]>();

  constructor(readonly seed: number) {
    // The code adapter of the harness's worlds, so the machine's checks cost the same in every mode.
    this.#secrets = createMemoryWorld({ seed }).codeSecrets;
    this.#machine = smsRecoveryFlow({ policy: DEFAULT_POLICY, codeSecrets: this.#secrets }).machine;
  }

  prepared(scripts: readonly FlowScript[]): readonly PreparedFlow[] {
    let flows = this.#prepared.get(scripts);
    if (flows === undefined) {
      flows = scripts.map((s) => prepareFlow(s, { policy: DEFAULT_POLICY, code: this.#secrets.code }));
      this.#prepared.set(scripts, flows);
    }
    return flows;
  }

  async run(mode: Mode, scripts: readonly FlowScript[], reps = 1, options: HarnessOptions = {}): Promise<ModeResult> {
    if (mode === 'harness') {
      // A world is used up by its run: each repetition gets a fresh one.
      let last: HarnessResult | undefined;
      let ms = 0;
      for (let r = 0; r < reps; r++) {
        last = await runHarnessShard(this.seed, scripts[0]?.shard ?? 0, scripts, options);
        ms += last.ms;
      }
      return { outcomes: last?.outcomes ?? [], flows: scripts.length * reps, ms, ...(last === undefined ? {} : { harness: last }) };
    }
    const flows = this.prepared(scripts);
    const play = this.#player(mode, flows);
    let outcomes: readonly string[] = [];
    const started = performance.now();
    for (let r = 0; r < reps; r++) outcomes = play();
    return { outcomes, flows: flows.length * reps, ms: performance.now() - started };
  }

  #player(mode: Exclude<Mode, 'harness'>, flows: readonly PreparedFlow[]): () => readonly string[] {
    switch (mode) {
      case 'actor':
      case 'pure':
        return () => stepBare(mode, this.#machine, flows);
      case 'reducer': {
        // The floor: the code compared with the one the messenger carried, no derivation.
        const codes = new Map(flows.map((f) => [f.input.flowId, f.codes]));
        const rules: ReducerRules = { policy: DEFAULT_POLICY, verify: (s, code) => codes.get(s.flowId)?.[s.counter] === code };
        return () => reduceFlows(rules, flows);
      }
      case 'reducer+hmac': {
        // The same, deriving each code from the host key as the machine's check does.
        const digits = DEFAULT_POLICY.code.digits;
        const rules: ReducerRules = {
          policy: DEFAULT_POLICY,
          verify: (s, code) => constantTimeEqual(code, this.#secrets.code({ flowId: s.flowId, purpose: 'recovery.sms', epoch: s.epoch, nonce: s.nonce }, s.counter, digits)),
        };
        return () => reduceFlows(rules, flows);
      }
    }
  }
}
