/**
 * A machine graph as Graphviz DOT: compound states as clusters, parallel regions as dashed
 * clusters, the initial state of every level marked with a dot, final states with a double
 * border, guards and deadlines on the edges. Every state and transition carries a stable SVG id
 * and classes derived from its own id, so a page can find and style it (the live view's
 * highlight, the coverage overlay) without knowing how Graphviz numbered things.
 *
 * Pure string building, no Node module: it runs in a browser as well as in the scripts.
 */
import { type CoverageCounts, COVERAGE_BUCKETS, bucketOf, formatCount, transitionCount } from './overlay.ts';
import { edgeLabel, type GraphState, type GraphTransition, localName, type MachineGraph } from './machineGraph.ts';

export interface DotOptions {
  /** Draws these counts onto the diagram: colour by bucket, never-taken ones red and dashed. */
  readonly coverage?: CoverageCounts;
  /** A line under the machine's name (what the overlay was drawn from). */
  readonly subtitle?: string;
}

/**
 * Characters an XML id can carry and Graphviz writes as they are (it escapes `-` as `&#45;`,
 * which a browser decodes but a text search of the file does not find).
 */
const safe = (text: string): string => text.replace(/\|/g, '__').replace(/[^A-Za-z0-9_.]/g, '_');

/** The SVG id of a state's node or cluster: `state_smsRecovery.awaitingCode`. */
export const stateDomId = (stateId: string): string => `state_${safe(stateId)}`;

/** The SVG id of a transition's edge: `tr_smsRecovery.awaitingCode__code.submit__0`. */
export const transitionDomId = (key: string): string => `tr_${safe(key)}`;

const FONT = 'Helvetica';
const COLOURS = {
  line: '#495057',
  text: '#212529',
  muted: '#868e96',
  state: '#ffffff',
  final: '#e9ecef',
  deadline: '#1864ab',
  eventless: '#862e9c',
} as const;

const quote = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** A multi-line label: each line escaped, joined by DOT's centred line break. */
const lines = (...parts: readonly string[]): string => `"${parts.map((p) => p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n')}"`;
const attrs = (entries: Record<string, string | number | undefined>): string =>
  `[${Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : /^["<]/.test(v as string) ? (v as string) : quote(v as string)}`)
    .join(', ')}]`;

const html = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A count as the overlay prints it: zero is spelled out, so a never-taken edge reads as one. */
const countText = (n: number): string => (n === 0 ? 'never' : formatCount(n));

const isCluster = (s: GraphState | undefined): boolean => s !== undefined && (s.type === 'compound' || s.type === 'parallel');

/**
 * @example
 * const dot = machineDot(machineGraph(machine));
 * const svg = (await instance()).renderString(dot, { format: 'svg' });
 */
export const machineDot = (graph: MachineGraph, options: DotOptions = {}): string => {
  const { coverage } = options;
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const children = new Map<string, GraphState[]>();
  for (const s of graph.states) {
    const parent = s.parent ?? graph.root.id;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const all = [...graph.transitions, ...graph.eventless, ...(graph.blocked ?? [])];
  // A transition without a target stays in its state: it is listed inside the state, as UML
  // does with internal transitions, since a pile of labelled self-loops is unreadable.
  const internal = new Map<string, GraphTransition[]>();
  for (const t of all) if (t.targets.length === 0) internal.set(t.source, [...(internal.get(t.source) ?? []), t]);
  const rootTransitions = all.filter((t) => t.source === graph.root.id);
  const anyNode = `${graph.root.id}#any`;

  /** Where an edge attaches to a state: a cluster through its initial dot (or a hidden anchor). */
  const anchorOf = (id: string): string => {
    if (id === graph.root.id) return anyNode;
    const s = byId.get(id);
    if (!isCluster(s)) return id;
    return s?.initial !== null && s?.initial !== undefined ? `${id}#initial` : `${id}#anchor`;
  };
  const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(`${outer}.`);
  const stateCount = (id: string): number => coverage?.states[id] ?? 0;
  const countOf = (t: GraphTransition): number => (coverage === undefined ? 0 : transitionCount(graph, t, coverage));
  const bucketClass = (n: number): string => (coverage === undefined ? '' : ` cov${COVERAGE_BUCKETS.indexOf(bucketOf(n))}`);
  const kindOf = (t: GraphTransition): string => (t.event === '' ? 'eventless' : t.deadline ? 'deadline' : 'event');
  const colourOf = (t: GraphTransition): string => (t.event === '' ? COLOURS.eventless : t.deadline ? COLOURS.deadline : COLOURS.line);

  /** A state's label: its name, its count under an overlay, then its internal transitions. */
  const label = (name: string, id: string, counted: boolean, fontsize: number): string => {
    const rows = internal.get(id) ?? [];
    const countLine = coverage !== undefined && counted ? countText(stateCount(id)) : null;
    if (rows.length === 0) return countLine === null ? quote(name) : lines(name, countLine);
    const cells = rows.map((t) => {
      const n = countOf(t);
      const colour = coverage === undefined ? colourOf(t) : bucketOf(n).stroke;
      const text = coverage === undefined ? edgeLabel(t) : `${edgeLabel(t)} (${countText(n)})`;
      // A cell gets an id in the SVG only with a tooltip: Graphviz then writes <g id="a_ID">.
      return `<TR><TD ALIGN="LEFT" ID="${transitionDomId(t.key)}" TOOLTIP="${html(edgeLabel(t))}"><FONT POINT-SIZE="9" COLOR="${colour}">${html(text)}</FONT></TD></TR>`;
    });
    const head = `<TR><TD><FONT POINT-SIZE="${fontsize}">${html(name)}</FONT></TD></TR>${countLine === null ? '' : `<TR><TD><FONT POINT-SIZE="9">${html(countLine)}</FONT></TD></TR>`}`;
    return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">${head}<HR/>${cells.join('')}</TABLE>>`;
  };

  const out: string[] = [];
  const title = graph.root.type === 'parallel' ? `${graph.machine} (parallel regions)` : graph.machine;
  out.push(`digraph ${quote(graph.machine)} {`);
  out.push(
    `  graph ${attrs({
      id: `machine_${safe(graph.machine)}`,
      class: coverage === undefined ? 'machine' : 'machine coverage',
      label: options.subtitle === undefined ? title : lines(title, options.subtitle),
      labelloc: 't',
      fontname: FONT,
      fontsize: 16,
      compound: 'true',
      rankdir: 'TB',
      nodesep: 0.3,
      ranksep: 0.42,
      pad: 0.25,
      newrank: 'true',
      bgcolor: 'white',
    })};`,
  );
  out.push(`  node ${attrs({ fontname: FONT, fontsize: 11, shape: 'box', style: 'rounded,filled', fillcolor: COLOURS.state, color: COLOURS.line, fontcolor: COLOURS.text, margin: '0.14,0.05', height: 0.36 })};`);
  out.push(`  edge ${attrs({ fontname: FONT, fontsize: 9, color: COLOURS.line, fontcolor: COLOURS.text, arrowsize: 0.7 })};`);

  const initialDot = (indent: string, owner: string, initial: string): void => {
    out.push(`${indent}${quote(`${owner}#initial`)} ${attrs({ id: `initial_${safe(owner)}`, class: 'initial', shape: 'point', width: 0.13, fillcolor: COLOURS.text, color: COLOURS.text, label: '' })};`);
    const target = byId.get(initial);
    out.push(`${indent}${quote(`${owner}#initial`)} -> ${quote(anchorOf(initial))} ${attrs({ id: `initial_edge_${safe(owner)}`, class: 'initial', arrowsize: 0.6, ...(isCluster(target) ? { lhead: `cluster_${initial}` } : {}) })};`);
  };

  const emitState = (s: GraphState, indent: string, inParallel: boolean): void => {
    const name = localName(graph, s.id);
    const count = stateCount(s.id);
    const bucket = bucketOf(count);
    const never = coverage !== undefined && count === 0;
    if (isCluster(s)) {
      const style = ['rounded', ...(inParallel || never ? ['dashed'] : [])].join(',');
      out.push(`${indent}subgraph ${quote(`cluster_${s.id}`)} {`);
      out.push(
        `${indent}  graph ${attrs({
          id: stateDomId(s.id),
          class: `state ${s.type}${inParallel ? ' region' : ''}${bucketClass(count)}`,
          label: label(s.type === 'parallel' ? `${name} (parallel)` : name, s.id, true, 12),
          fontname: FONT,
          fontsize: 12,
          labeljust: 'l',
          style,
          color: coverage === undefined ? COLOURS.line : bucket.stroke,
          penwidth: coverage === undefined ? 1.2 : bucket.penwidth,
        })};`,
      );
      if (s.type === 'parallel') out.push(`${indent}  ${quote(`${s.id}#anchor`)} ${attrs({ shape: 'point', style: 'invis', width: 0.01, label: '' })};`);
      else if (s.initial !== null) initialDot(`${indent}  `, s.id, s.initial);
      for (const child of children.get(s.id) ?? []) emitState(child, `${indent}  `, s.type === 'parallel');
      out.push(`${indent}}`);
      return;
    }
    const final = s.type === 'final';
    out.push(
      `${indent}${quote(s.id)} ${attrs({
        id: stateDomId(s.id),
        class: `state ${s.type}${bucketClass(count)}`,
        label: label(name, s.id, true, 11),
        style: never ? 'rounded,filled,dashed' : 'rounded,filled',
        fillcolor: coverage === undefined ? (final ? COLOURS.final : COLOURS.state) : bucket.fill,
        color: coverage === undefined ? COLOURS.line : bucket.stroke,
        penwidth: coverage === undefined ? undefined : bucket.penwidth,
        peripheries: final ? 2 : undefined,
      })};`,
    );
  };

  if (rootTransitions.length > 0) {
    out.push(`  ${quote(anyNode)} ${attrs({ id: `any_${safe(graph.root.id)}`, class: 'any', label: label('any state', graph.root.id, false, 11), style: 'rounded,dashed', color: COLOURS.muted, fontcolor: COLOURS.muted })};`);
  }
  if (graph.root.type === 'compound' && graph.root.initial !== null) initialDot('  ', graph.root.id, graph.root.initial);
  for (const s of children.get(graph.root.id) ?? []) emitState(s, '  ', graph.root.type === 'parallel');

  const edge = (t: GraphTransition, target: string, index: number): void => {
    const source = t.source;
    const sourceIsCluster = isCluster(byId.get(source));
    const targetIsCluster = isCluster(byId.get(target));
    const count = countOf(t);
    const bucket = bucketOf(count);
    const never = coverage !== undefined && count === 0;
    out.push(
      `  ${quote(anchorOf(source))} -> ${quote(anchorOf(target))} ${attrs({
        id: transitionDomId(t.targets.length > 1 ? `${t.key}|${index}` : t.key),
        class: `transition ${kindOf(t)}${bucketClass(count)}`,
        label: coverage === undefined ? edgeLabel(t) : `${edgeLabel(t)} (${countText(count)})`,
        color: coverage === undefined ? colourOf(t) : bucket.stroke,
        fontcolor: coverage === undefined ? colourOf(t) : never ? bucket.stroke : COLOURS.text,
        penwidth: coverage === undefined ? undefined : bucket.penwidth,
        style: never ? 'dashed' : t.event === '' ? 'dotted' : undefined,
        // Clipping at a cluster's border only works when the other end lies outside it.
        ltail: sourceIsCluster && !within(target, source) ? `cluster_${source}` : undefined,
        lhead: targetIsCluster && !within(source, target) ? `cluster_${target}` : undefined,
      })};`,
    );
  };
  for (const t of all) t.targets.forEach((target, i) => edge(t, target, i));

  if (coverage !== undefined) {
    out.push(`  subgraph "cluster_legend" {`);
    out.push(`    graph ${attrs({ id: 'legend', class: 'legend', label: 'states: steps that ended in them; transitions: times taken', fontname: FONT, fontsize: 10, style: 'rounded', color: '#ced4da' })};`);
    COVERAGE_BUCKETS.forEach((b, i) => {
      out.push(`    ${quote(`legend#${i}`)} ${attrs({ id: `legend_${i}`, class: `legend cov${i}`, label: i === 0 ? 'never taken' : b.label, fontsize: 9, style: i === 0 ? 'rounded,filled,dashed' : 'rounded,filled', fillcolor: b.fill, color: b.stroke, penwidth: b.penwidth })};`);
    });
    out.push(`    { rank=same; ${COVERAGE_BUCKETS.map((_, i) => quote(`legend#${i}`)).join('; ')}; }`);
    out.push(`  }`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
};
