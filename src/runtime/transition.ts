/**
 * Pure stepping without xstate's per-call actor system. `transition()` builds a throwaway
 * actor system on every call (~70k calls/s here); one inert scope per machine, reused, gives
 * the same result several times faster. Our machines spawn no children and use no delayed
 * events, so nothing leaks between calls through the shared scope.
 */
import { type AnyMachineSnapshot, type AnyStateMachine, createActor, initialTransition } from 'xstate';

export interface EmittedAction {
  readonly type: string;
  readonly params?: unknown;
}

/** One transition taken: its source state, event and which of that event's branches it was. */
export interface TakenTransition {
  readonly source: string;
  readonly event: string;
  readonly branch: number;
  /** The states it entered on the way, final ones a parent's onDone left at once included. */
  readonly targets: readonly string[];
}

interface Scope {
  readonly scope: unknown;
  actions: EmittedAction[];
  taken: TakenTransition[] | null;
}

interface TransitionLike {
  readonly source: { readonly id: string; readonly transitions: ReadonlyMap<string, readonly unknown[]> };
  readonly eventType: string;
  readonly target?: readonly { readonly id: string }[];
}

const scopes = new WeakMap<AnyStateMachine, Scope>();

const scopeFor = (machine: AnyStateMachine): Scope => {
  const cached = scopes.get(machine);
  if (cached !== undefined) return cached;
  const self = createActor(machine);
  const holder: Scope = { scope: undefined, actions: [], taken: null };
  // xstate reports each microstep's transitions to inspectors; recording them (only when asked)
  // gives coverage by (source state, event, guard branch) without a second evaluation.
  self.system.inspect((inspection: { type: string; _transitions?: readonly TransitionLike[] }) => {
    if (holder.taken === null || inspection.type !== '@xstate.microstep') return;
    for (const taken of inspection._transitions ?? []) {
      const branches = taken.source.transitions.get(taken.eventType) ?? [];
      holder.taken.push({ source: taken.source.id, event: taken.eventType, branch: branches.indexOf(taken), targets: (taken.target ?? []).map((t) => t.id) });
    }
  });
  (holder as { scope: unknown }).scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action: EmittedAction) => {
      holder.actions.push({ type: action.type, params: action.params });
    },
  };
  scopes.set(machine, holder);
  return holder;
};

/**
 * The next snapshot and the named actions the step asked for. With no snapshot, the initial
 * transition for `input`.
 */
export function pureTransition(machine: AnyStateMachine, snapshot: undefined, event: undefined, input: unknown): [AnyMachineSnapshot, EmittedAction[]];
export function pureTransition(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: { readonly type: string }): [AnyMachineSnapshot, EmittedAction[]];
export function pureTransition(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot | undefined,
  event: { readonly type: string } | undefined,
  input?: unknown,
): [AnyMachineSnapshot, EmittedAction[]] {
  if (snapshot === undefined || event === undefined) {
    const [initial, actions] = initialTransition(machine, input);
    return [initial, actions.map((a) => ({ type: a.type, params: a.params }))];
  }
  const holder = scopeFor(machine);
  holder.actions = [];
  try {
    const next = machine.transition(snapshot, event as never, holder.scope as never);
    return [next, holder.actions];
  } finally {
    holder.actions = [];
  }
}

/** Like `pureTransition`, and also says which transitions the step took. */
export const observedTransition = (machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: { readonly type: string }): [AnyMachineSnapshot, EmittedAction[], TakenTransition[]] => {
  const holder = scopeFor(machine);
  const taken: TakenTransition[] = [];
  holder.taken = taken;
  try {
    const [next, actions] = pureTransition(machine, snapshot, event);
    return [next, actions, taken];
  } finally {
    holder.taken = null;
  }
};
