import { readFileSync } from 'node:fs';
import { instance } from '@viz-js/viz';
import { beforeAll, describe, expect, it } from 'vitest';
import { diagramCatalogue } from '../scripts/catalogue.ts';
import { type DiagramSet, diagramFiles, readmeBlock, README_END, README_START, renderDiagram, renderOverlays } from '../scripts/render.ts';
import { machineDot, stateDomId, transitionDomId } from '../src/graph/dot.ts';
import { edgeLabel } from '../src/graph/machineGraph.ts';
import { mermaidId } from '../src/graph/mermaid.ts';
import { fragmentCounts } from '../src/graph/overlay.ts';

const REGENERATE = 'out of date: run `npm run diagrams` and commit docs/diagrams and README.md';

let sets: DiagramSet[];

beforeAll(async () => {
  sets = [];
  for (const entry of diagramCatalogue()) sets.push(await renderDiagram(entry));
});

const set = (name: string): DiagramSet => {
  const found = sets.find((s) => s.entry.name === name);
  if (found === undefined) throw new Error(`no diagram for ${name}`);
  return found;
};

describe('diagrams', () => {
  it('should draw every machine the issue names, the shared hardening included', () => {
    expect(sets.map((s) => s.entry.name).sort()).toEqual(
      ['binding', 'emailRecovery', 'friendAssist', 'hardening', 'manualReview', 'realName', 'registration', 'smsRecovery', 'totpEnrollment'].sort(),
    );
  });

  it('should match the files in docs/ and the README, so a changed machine without new diagrams fails', () => {
    for (const [path, text] of diagramFiles(sets)) {
      let stored: string | undefined;
      try {
        stored = readFileSync(path, 'utf8');
      } catch {
        stored = undefined;
      }
      expect(stored, `${path} ${REGENERATE}`).toBe(text);
    }
    const readme = readFileSync('README.md', 'utf8');
    const block = readme.slice(readme.indexOf(README_START), readme.indexOf(README_END) + README_END.length);
    expect(block, `README.md diagram block ${REGENERATE}`).toBe(readmeBlock(sets));
  });

  it('should give the same bytes for the same machine, from a fresh Graphviz instance too', async () => {
    const again = await renderDiagram(set('manualReview').entry);
    expect(again.svg).toBe(set('manualReview').svg);
    expect(again.mermaid).toBe(set('manualReview').mermaid);
    const fresh = await instance();
    for (const s of sets) expect(fresh.renderString(s.dot, { format: 'svg' }), s.entry.name).toBe(s.svg);
  });

  it('should carry no timestamp, random or counter-based id', () => {
    for (const s of sets) {
      expect(s.svg).not.toMatch(/\b20\d\d-\d\d-\d\dT/);
      // Graphviz numbers what has no id of its own (node1, edge3, clust2): every element here has one.
      expect(s.svg).not.toMatch(/id="(?:[a-z_]*_)?(?:node|edge|clust|graph)\d+"/);
    }
  });

  it('should name every state in the Mermaid text and give it a node or cluster in the SVG', () => {
    for (const s of sets) {
      for (const state of s.graph.states) {
        const id = mermaidId(s.graph, state.id);
        // Regions of a parallel state have no box in Mermaid; their states do.
        const region = s.graph.states.find((p) => p.id === state.parent)?.type === 'parallel' || (state.parent === s.graph.root.id && s.graph.root.type === 'parallel');
        if (!region || state.type !== 'compound') expect(s.mermaid, `${s.entry.name}: ${state.id}`).toMatch(new RegExp(`(^|\\s)${id}(\\s|$)`, 'm'));
        expect(s.svg, `${s.entry.name}: ${state.id}`).toContain(`id="${stateDomId(state.id)}"`);
      }
    }
  });

  it('should mark every final state, and only final states, as final', () => {
    for (const s of sets) {
      const finals = s.graph.states.filter((st) => st.type === 'final');
      expect(finals.length, s.entry.name).toBeGreaterThan(0);
      for (const st of finals) {
        expect(s.mermaid).toContain(`${mermaidId(s.graph, st.id)} --> [*]`);
        expect(s.svg).toMatch(new RegExp(`<g id="${stateDomId(st.id).replace(/\./g, '\\.')}" class="node state final`));
      }
      expect(s.svg.match(/class="node state final/g)?.length).toBe(finals.length);
      expect(s.mermaid).toMatch(new RegExp(`class ${finals.map((f) => mermaidId(s.graph, f.id)).join(',')} finalState`));
    }
  });

  it('should mark the initial state of the machine and of every compound state', () => {
    const sms = set('smsRecovery');
    expect(sms.mermaid).toContain('[*] --> enteringChannel');
    expect(sms.mermaid).toContain('[*] --> hardening_choosingPassword');
    expect(sms.svg).toContain('id="initial_edge_smsRecovery"');
    expect(sms.svg).toContain('id="initial_edge_smsRecovery.hardening"');
  });

  it('should label combined guards where a machine has one', () => {
    const combined = sets.flatMap((s) => s.graph.transitions.filter((t) => t.guard?.includes('(') === true).map((t) => [s, t] as const));
    expect(combined.length).toBeGreaterThan(0);
    expect(combined.map(([, t]) => t.guard)).toContain('and(answersCurrent, submissionsLeft)');
    for (const [s, t] of combined) {
      expect(s.mermaid).toContain(`: ${edgeLabel(t)}`);
      expect(s.svg).toContain(edgeLabel(t));
    }
  });

  it('should label every deadline edge with the tick and its guard', () => {
    let deadlines = 0;
    const forbidden: string[] = [];
    for (const s of sets) {
      // A tick that takes nothing is no deadline: it stops an ancestor's, in a state only its
      // committed effect's answer may end. Drawn inside that state, and pinned below.
      for (const t of (s.graph.blocked ?? []).filter((tr) => tr.deadline)) {
        forbidden.push(t.source);
        expect(s.mermaid).toContain(`${mermaidId(s.graph, t.source)} : clock.tick`);
      }
      for (const t of s.graph.transitions.filter((tr) => tr.deadline)) {
        deadlines++;
        expect(edgeLabel(t)).toMatch(/^clock\.tick \[.+\]$/);
        expect(s.mermaid).toContain(edgeLabel(t));
        if (t.targets.length > 0) expect(s.svg).toMatch(new RegExp(`id="${transitionDomId(t.key).replace(/\./g, '\\.')}" class="edge transition deadline"`));
      }
    }
    expect(set('smsRecovery').mermaid).toContain('awaitingCode --> codeExpired : clock.tick [codeExpired]');
    expect(deadlines).toBeGreaterThan(10);
    expect(forbidden.sort()).toEqual([
      'emailRecovery.hardening.applying',
      'friendAssist.hardening.applying',
      'hardening.applying',
      'manualReview.case.hardening.applying',
      'registration.creatingAccount',
      'smsRecovery.hardening.applying',
    ]);
  });

  it('should draw parallel regions and eventless transitions', () => {
    const review = set('manualReview');
    expect(review.mermaid).toMatch(/^\s+--$/m);
    expect(review.mermaid).toContain('(parallel: case, evidence)');
    expect(review.svg).toContain('class="cluster state compound region"');
    expect(review.mermaid).toContain('evidence_kept --> evidence_purged : always [closedWithoutEvidence]');
  });
});

describe('coverage overlay', () => {
  const registration = () => set('registration');

  it('should colour by how often the simulation took each state and transition, and mark the untaken red and dashed', async () => {
    const graph = registration().graph;
    const taken = graph.transitions.find((t) => t.event === 'phone.submit');
    const internal = graph.transitions.find((t) => t.targets.length === 0);
    if (taken === undefined || internal === undefined) throw new Error('registration changed shape');
    const report = {
      seed: 7,
      flows: 50,
      coverage: {
        registration: {
          counts: { states: { 'registration.enteringPhone': 50, 'registration.awaitingCode': 1234 }, transitions: { [taken.key]: 42, [internal.key]: 3 } },
        },
      },
    };
    const { overlays, skipped } = await renderOverlays(report, diagramCatalogue());
    expect(overlays.map((o) => o.name)).toEqual(['registration', 'hardening']);
    expect(skipped).toContain('smsRecovery');
    const svg = overlays[0]?.svg ?? '';
    expect(svg).toContain('simulation seed 7, 50 flows: states 2/11');
    expect(svg).toContain(`id="${transitionDomId(taken.key)}" class="edge transition event cov2"`);
    expect(svg).toContain('phone.submit (42)');
    expect(svg).toMatch(/id="state_registration\.awaitingCode" class="node state atomic cov4"/);
    expect(svg).toContain('1,234');
    // A never-taken state: bucket 0, red and dashed.
    expect(svg).toMatch(/id="state_registration\.registered" class="node state final cov0"[\s\S]*?stroke="#c92a2a"[^>]*stroke-dasharray/);
    const never = graph.transitions.find((t) => t.event === 'account.created');
    expect(svg).toMatch(new RegExp(`id="${transitionDomId(never?.key ?? '').replace(/\./g, '\\.')}" class="edge transition event cov0"[\\s\\S]*?stroke="#c92a2a"[^>]*stroke-dasharray`));
    expect(svg).toContain('(never)');
    expect(svg).toContain(`id="a_${transitionDomId(internal.key)}"`);
  });

  it('should sum the shared hardening over every machine that embeds it', () => {
    const summed = fragmentCounts('hardening', [
      { states: { 'smsRecovery.hardening.applying': 2, 'smsRecovery.awaitingCode': 9 }, transitions: { 'smsRecovery.hardening.applying|recovery.applied|0': 2 } },
      { states: { 'manualReview.case.hardening.applying': 3 }, transitions: { 'manualReview.case.hardening.applying|recovery.applied|0': 1, 'manualReview.case.hardening|owner.stop|0': 5 } },
    ]);
    expect(summed.states).toEqual({ 'hardening.applying': 5 });
    expect(summed.transitions).toEqual({ 'hardening.applying|recovery.applied|0': 3, 'hardening|owner.stop|0': 5 });
    expect(machineDot(set('hardening').graph, { coverage: summed })).toContain('recovery.applied (3)');
  });

  it('should refuse a report without counts rather than draw everything red', async () => {
    await expect(renderOverlays({ coverage: { registration: {} } }, diagramCatalogue())).rejects.toThrow(/no coverage counts/);
  });
});
