/**
 * Pure stepping without xstate's per-call actor system. `transition()` builds a throwaway
 * actor system on every call (~70k calls/s here); one inert scope per machine, reused, gives
 * the same result several times faster. Our machines spawn no children and use no delayed
 * events, so nothing leaks between calls through the shared scope.
 */
import { type AnyMachineSnapshot, type AnyStateMachine, createActor } from 'xstate';

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
  /** The transitions the event itself selected (the first microstep), once a step asks for them. */
  selected: readonly TransitionLike[] | null;
}

interface TransitionLike {
  readonly source: { readonly id: string; readonly transitions: ReadonlyMap<string, readonly unknown[]> };
  readonly eventType: string;
  readonly target?: readonly { readonly id: string }[];
  readonly actions: readonly unknown[];
}

const scopes = new WeakMap<AnyStateMachine, Scope>();

const scopeFor = (machine: AnyStateMachine): Scope => {
  const cached = scopes.get(machine);
  if (cached !== undefined) return cached;
  const self = createActor(machine);
  const holder: Scope = { scope: undefined, actions: [], taken: null, selected: null };
  // xstate reports each microstep's transitions to inspectors; recording them (only when asked)
  // gives coverage by (source state, event, guard branch) without a second evaluation.
  self.system.inspect((inspection: { type: string; _transitions?: readonly TransitionLike[] }) => {
    if (inspection.type !== '@xstate.microstep') return;
    if (holder.selected === null) holder.selected = inspection._transitions ?? [];
    if (holder.taken === null) return;
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
  const holder = scopeFor(machine);
  // A fresh list per call: the one handed back belongs to the caller from then on.
  const actions: EmittedAction[] = [];
  holder.actions = actions;
  // `initialTransition()` would build a throwaway actor (and its system) for every flow started.
  const next = snapshot === undefined ? machine.getInitialSnapshot(holder.scope as never, input) : machine.transition(snapshot, event as never, holder.scope as never);
  return [next, actions];
}

export interface Step {
  readonly next: AnyMachineSnapshot;
  readonly actions: EmittedAction[];
  /** Every transition taken, when asked to record them; else empty. */
  readonly taken: TakenTransition[];
  /**
   * Whether the event was accepted, exactly as `snapshot.can(event)` would have said before the
   * step (some selected transition has a target or actions), read from the step itself so the
   * guards run once, not twice. When false, `next` and `actions` are to be ignored.
   */
  readonly accepted: boolean;
}

/** One step from `snapshot`, telling whether the event was accepted; with `record`, the transitions taken. */
export const step = (machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: { readonly type: string }, record: boolean): Step => {
  const holder = scopeFor(machine);
  const taken: TakenTransition[] = [];
  holder.taken = record ? taken : null;
  holder.selected = null;
  try {
    const [next, actions] = pureTransition(machine, snapshot, event);
    // Set by the inspector during the step; TypeScript cannot see that through the call.
    const selected = (holder.selected as readonly TransitionLike[] | null) ?? [];
    return { next, actions, taken, accepted: selected.some((t) => t.target !== undefined || t.actions.length > 0) };
  } finally {
    holder.taken = null;
  }
};
