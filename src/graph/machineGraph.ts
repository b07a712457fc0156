/**
 * A machine's states and transitions, read from the definition itself (xstate has no
 * exporter). Coverage reports, path generation and diagrams all count from this one walk, so
 * "every transition" means the same thing everywhere: (source state, event, guard branch).
 */
import type { AnyStateMachine } from 'xstate';

export interface GraphTransition {
  readonly key: string;
  readonly source: string;
  readonly event: string;
  readonly branch: number;
  readonly guard: string | null;
  readonly targets: readonly string[];
  /** Whether the transition is a deadline (`clock.tick`) edge. */
  readonly deadline: boolean;
}

export interface GraphState {
  readonly id: string;
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly initial: string | null;
}

export interface MachineGraph {
  readonly machine: string;
  readonly states: readonly GraphState[];
  readonly transitions: readonly GraphTransition[];
}

interface NodeLike {
  readonly id: string;
  readonly type: GraphState['type'];
  readonly parent?: NodeLike;
  readonly states: Record<string, NodeLike>;
  readonly initial?: { readonly target?: readonly NodeLike[] };
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
}

interface TransitionLike {
  readonly guard?: unknown;
  readonly target?: readonly NodeLike[];
}

export const transitionKey = (source: string, event: string, branch: number): string => `${source}|${event}|${branch}`;

/** A readable name for a guard, combined ones included (`and(a, not(b))`). */
export const guardLabel = (guard: unknown): string | null => {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const check = (guard as { check?: unknown; guards?: unknown[]; name?: string }).guards;
    const kind = (guard as { name?: string }).name;
    if (Array.isArray(check)) return `${kind ?? 'guard'}(${check.map((g) => guardLabel(g) ?? '?').join(', ')})`;
    return kind !== undefined && kind !== '' ? kind : 'inline';
  }
  if (typeof guard === 'object') {
    const typed = guard as { type?: unknown };
    return typeof typed.type === 'string' ? typed.type : 'inline';
  }
  return String(guard);
};

/**
 * @example
 * const graph = machineGraph(createRegistrationMachine(deps));
 * graph.transitions.length; // every (source, event, branch)
 */
export const machineGraph = (machine: AnyStateMachine): MachineGraph => {
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const visit = (node: NodeLike, isRoot: boolean): void => {
    if (!isRoot) {
      states.push({ id: node.id, parent: node.parent?.id ?? null, type: node.type, initial: node.initial?.target?.[0]?.id ?? null });
    }
    for (const [event, branches] of node.transitions) {
      branches.forEach((t, branch) => {
        transitions.push({
          key: transitionKey(node.id, event, branch),
          source: node.id,
          event,
          branch,
          guard: guardLabel(t.guard),
          targets: (t.target ?? []).map((target) => target.id),
          deadline: event === 'clock.tick',
        });
      });
    }
    for (const child of Object.values(node.states)) visit(child, false);
  };
  visit(machine.root as unknown as NodeLike, true);
  return { machine: machine.id, states, transitions };
};
