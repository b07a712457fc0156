/**
 * Which states and transitions — (source state, event, guard branch) — the simulation took,
 * against what each machine defines (read from the definitions by `machineGraph`).
 */
import type { StepObservation } from '../src/runtime/runtime.ts';
import type { Observer } from './sim.ts';

export class CoverageRecorder implements Observer {
  readonly states = new Map<string, Map<string, number>>();
  readonly transitions = new Map<string, Map<string, number>>();

  onStep(step: StepObservation): void {
    const states = this.#bucket(this.states, step.machine);
    for (const node of step.to._nodes) if (node.parent !== undefined) states.set(node.id, (states.get(node.id) ?? 0) + 1);
    const transitions = this.#bucket(this.transitions, step.machine);
    for (const t of step.transitions) {
      const key = `${t.source}|${t.event}|${t.branch}`;
      transitions.set(key, (transitions.get(key) ?? 0) + 1);
      // A final child that its parent's onDone leaves in the same step is still entered.
      for (const id of t.targets) states.set(id, (states.get(id) ?? 0) + 1);
    }
  }

  /** Initial states count as covered when a flow starts. */
  started(machine: string, stateIds: readonly string[]): void {
    const states = this.#bucket(this.states, machine);
    for (const id of stateIds) states.set(id, (states.get(id) ?? 0) + 1);
  }

  #bucket(map: Map<string, Map<string, number>>, machine: string): Map<string, number> {
    let bucket = map.get(machine);
    if (bucket === undefined) {
      bucket = new Map();
      map.set(machine, bucket);
    }
    return bucket;
  }
}
