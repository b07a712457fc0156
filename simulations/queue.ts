/**
 * The discrete-event queue of a world: the next action is the one with the smallest
 * (virtual time, flow, sequence), so interleavings are reproducible whatever the host.
 */
export interface Scheduled {
  readonly at: number;
  /** The flow's ordinal in its shard, zero-padded, so string order is numeric order. */
  readonly flow: string;
  readonly seq: number;
  readonly run: () => Promise<void>;
}

const before = (a: Scheduled, b: Scheduled): boolean =>
  a.at !== b.at ? a.at < b.at : a.flow !== b.flow ? a.flow < b.flow : a.seq < b.seq;

export class EventQueue {
  readonly #heap: Scheduled[] = [];
  #seq = 0;

  push(at: number, flow: string, run: () => Promise<void>): void {
    const item = { at, flow, seq: this.#seq++, run };
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Scheduled, heap[parent] as Scheduled)) break;
      [heap[i], heap[parent]] = [heap[parent] as Scheduled, heap[i] as Scheduled];
      i = parent;
    }
  }

  pop(): Scheduled | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && before(heap[l] as Scheduled, heap[smallest] as Scheduled)) smallest = l;
        if (r < heap.length && before(heap[r] as Scheduled, heap[smallest] as Scheduled)) smallest = r;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as Scheduled, heap[i] as Scheduled];
        i = smallest;
      }
    }
    return top;
  }

  get size(): number {
    return this.#heap.length;
  }
}
