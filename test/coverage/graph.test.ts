import { instance } from '@viz-js/viz';
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { machineDot } from '../../src/graph/dot.ts';
import { machineGraph, type MachineGraph } from '../../src/graph/machineGraph.ts';
import { machineMermaid, mermaidId } from '../../src/graph/mermaid.ts';

// None of the catalogue machines nests a parallel state inside a compound one, targets the root
// or fans one transition out to several targets; these shapes are legal xstate all the same.
const shop = createMachine({
  id: 'shop',
  initial: 'browsing',
  on: { restart: { target: '#shop' }, ping: {} },
  states: {
    browsing: { on: { checkout: 'paying', jump: '#shop.paying.working' } },
    paying: {
      initial: 'working',
      states: {
        working: {
          type: 'parallel',
          on: { split: { target: ['.card.charged', '.mail.sent'] } },
          states: {
            card: { initial: 'pending', states: { pending: { on: { crossed: '#shop.paying.working.mail.sent' } }, charged: {} } },
            mail: { initial: 'queued', states: { queued: {}, sent: {} } },
          },
        },
      },
    },
  },
});

const lines = (text: string): string[] => text.split('\n');

describe('diagrams of a nested parallel state', () => {
  const graph = machineGraph(shop);

  it('should give the machine itself its own id as Mermaid id', () => {
    expect(mermaidId(graph, 'shop')).toBe('shop');
    expect(mermaidId(graph, 'shop.paying.working.card')).toBe('paying_working_card');
  });

  it('should draw a nested parallel state in Mermaid as a composite titled with its regions, regions split by --', () => {
    const mermaid = lines(machineMermaid(graph));
    expect(mermaid).toContain('    state "working (parallel: card, mail)" as paying_working {');
    expect(mermaid).toContain('      --');
    // The compound parent's initial state is the parallel one.
    expect(mermaid).toContain('    [*] --> paying_working');
    // No final state: no final class is declared.
    expect(mermaid.some((l) => l.includes('finalState'))).toBe(false);
  });

  it('should write an edge between two regions beside the parallel state, in the block of its parent', () => {
    const mermaid = lines(machineMermaid(graph));
    const crossed = mermaid.indexOf('    paying_working_card_pending --> paying_working_mail_sent : crossed');
    const parallelOpen = mermaid.indexOf('    state "working (parallel: card, mail)" as paying_working {');
    const parallelClose = mermaid.indexOf('    }', parallelOpen);
    expect(crossed).toBeGreaterThan(parallelClose);
    // Every target of a fanned-out transition gets its own edge.
    expect(mermaid).toContain('    paying_working --> paying_working_card_charged : split');
    expect(mermaid).toContain('    paying_working --> paying_working_mail_sent : split');
  });

  it('should draw an edge back to the machine itself from and to "any state" at the top level', () => {
    const mermaid = lines(machineMermaid(graph));
    expect(mermaid).toContain('  anyState --> anyState : restart');
    expect(mermaid).toContain('  anyState : ping');
    expect(machineDot(graph)).toContain('"shop#any" -> "shop#any" [id="tr_shop__restart__0"');
  });

  it('should give a nested parallel cluster a hidden anchor that edges and its parent\'s initial dot attach to', () => {
    const dot = machineDot(graph);
    expect(dot).toContain('class="state parallel", label="working (parallel)"');
    expect(dot).toContain('"shop.paying.working#anchor" [shape="point", style="invis", width=0.01, label=""];');
    expect(dot).toContain('"shop.paying#initial" -> "shop.paying.working#anchor" [id="initial_edge_shop.paying", class="initial", arrowsize=0.6, lhead="cluster_shop.paying.working"];');
    expect(dot).toContain('"shop.browsing" -> "shop.paying.working#anchor" [id="tr_shop.browsing__jump__0"');
    expect(dot).toContain('class="state compound region"');
  });

  it('should give each target of a fanned-out transition its own SVG id', async () => {
    const dot = machineDot(graph);
    expect(dot).toContain('-> "shop.paying.working.card.charged" [id="tr_shop.paying.working__split__0__0"');
    expect(dot).toContain('-> "shop.paying.working.mail.sent" [id="tr_shop.paying.working__split__0__1"');
    const svg = (await instance()).renderString(dot, { format: 'svg' });
    expect(svg).toContain('id="tr_shop.paying.working__split__0__0"');
    expect(svg).toContain('id="tr_shop.paying.working__split__0__1"');
    expect(svg).toContain('id="state_shop.paying.working"');
  });
});

describe('diagrams of degenerate graphs', () => {
  it('should draw a machine without states as an empty diagram', () => {
    const graph = machineGraph(createMachine({ id: 'empty' }));
    expect(graph.states).toEqual([]);
    expect(lines(machineMermaid(graph)).slice(1)).toEqual(['stateDiagram-v2', '']);
    const dot = machineDot(graph);
    expect(dot).not.toContain('subgraph');
    expect(dot).not.toContain('->');
    expect(dot.trimEnd().endsWith('}')).toBe(true);
  });

  // MachineGraph is public: a host may build one by hand, with top-level states whose parent is
  // null rather than the root's id, and with composites that have no children or initial state.
  const loose: MachineGraph = {
    machine: 'loose',
    root: { id: 'loose', type: 'compound', initial: 'loose.a' },
    states: [
      { id: 'loose.a', parent: null, type: 'atomic', initial: null },
      { id: 'loose.p', parent: null, type: 'parallel', initial: null },
      { id: 'loose.p.left', parent: 'loose.p', type: 'compound', initial: null },
      { id: 'loose.p.left.x', parent: 'loose.p.left', type: 'atomic', initial: null },
      { id: 'loose.p.right', parent: 'loose.p', type: 'compound', initial: null },
      { id: 'loose.p.right.y', parent: 'loose.p.right', type: 'atomic', initial: null },
      { id: 'loose.hollow', parent: null, type: 'parallel', initial: null },
      { id: 'loose.shell', parent: null, type: 'compound', initial: null },
    ],
    transitions: [
      { key: 'loose.a|go|0', source: 'loose.a', event: 'go', branch: 0, guard: null, targets: ['loose.shell'], deadline: false },
      { key: 'loose.p.left.x|hop|0', source: 'loose.p.left.x', event: 'hop', branch: 0, guard: null, targets: ['loose.p.right.y'], deadline: false },
    ],
    eventless: [],
  };

  it('should put parentless states at the top level and a cross-region edge of a top-level parallel state at the top level', () => {
    const mermaid = lines(machineMermaid(loose));
    expect(mermaid).toContain('  [*] --> a');
    expect(mermaid).toContain('  state "p (parallel: left, right)" as p {');
    expect(mermaid).toContain('  state "hollow (parallel: )" as hollow {');
    expect(mermaid).toContain('  state "shell" as shell {');
    expect(mermaid).toContain('  p_left_x --> p_right_y : hop');
    expect(mermaid).toContain('  a --> shell : go');
    // An empty composite has no initial marker inside it.
    const shell = mermaid.indexOf('  state "shell" as shell {');
    expect(mermaid[shell + 1]).toBe('  }');
  });

  it('should draw a composite without initial state as a cluster reached through its anchor, with no initial dot', () => {
    const dot = machineDot(loose);
    expect(dot).toContain('  subgraph "cluster_loose.shell" {');
    expect(dot).not.toContain('"loose.shell#initial"');
    expect(dot).not.toContain('"loose.p.left#initial"');
    expect(dot).toContain('"loose.a" -> "loose.shell#anchor"');
    expect(dot).toContain('label="hollow (parallel)"');
    // Top-level clusters open at the top indent, not nested in anything.
    expect(dot).toContain('\n  subgraph "cluster_loose.p" {\n');
  });
});
