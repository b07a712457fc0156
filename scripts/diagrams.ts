/**
 * npm run diagrams                                  writes docs/diagrams/ and the README's block
 * npm run diagrams -- --check                       exits 1 when any of them is out of date
 * npm run diagrams -- --coverage report.json [--out DIR]
 *                                                   draws a simulation report's counts onto the
 *                                                   diagrams, into docs/coverage/ (or DIR)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { diagramCatalogue } from './catalogue.ts';
import { COVERAGE_DIR, type CoverageReport, diagramFiles, readmeBlock, renderDiagram, renderOverlays, withReadmeBlock } from './render.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, coverage: { type: 'string' }, out: { type: 'string' } },
  strict: true,
});

const kb = (text: string): string => `${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB`;
const started = performance.now();
const catalogue = diagramCatalogue();

if (values.coverage !== undefined) {
  let report: CoverageReport;
  try {
    report = JSON.parse(readFileSync(resolve(values.coverage), 'utf8')) as CoverageReport;
  } catch (error) {
    console.error(`--coverage ${values.coverage}: ${(error as Error).message}`);
    process.exit(2);
  }
  if (typeof report !== 'object' || report === null || typeof report.coverage !== 'object') {
    console.error(`--coverage ${values.coverage}: not a simulation report (no "coverage"); write one with \`npm run simulate -- --json FILE\`.`);
    process.exit(2);
  }
  const out = resolve(values.out ?? join(root, COVERAGE_DIR));
  mkdirSync(out, { recursive: true });
  const { overlays, skipped } = await renderOverlays(report, catalogue);
  for (const o of overlays) {
    writeFileSync(join(out, `${o.name}.svg`), o.svg);
    console.log(`${o.name.padEnd(16)} states ${`${o.states.covered}/${o.states.total}`.padEnd(6)} transitions ${`${o.transitions.covered}/${o.transitions.total}`.padEnd(6)} ${kb(o.svg)}`);
  }
  if (skipped.length > 0) console.log(`not in the report (not simulated): ${skipped.join(', ')}`);
  console.log(`${overlays.length} overlays in ${out} (${Math.round(performance.now() - started)} ms)`);
  process.exit(0);
}

const sets = [];
for (const entry of catalogue) sets.push(await renderDiagram(entry));
const files = diagramFiles(sets);
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const nextReadme = withReadmeBlock(readme, readmeBlock(sets));
if (nextReadme === undefined) console.warn('README.md has no <!-- diagrams:start --> … <!-- diagrams:end --> block; left as it is.');

const current = (path: string): string | undefined => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
};
const stale = [...files].filter(([path, text]) => current(path) !== text).map(([path]) => path);
if (nextReadme !== undefined && nextReadme !== readme) stale.push('README.md');

if (values.check) {
  if (stale.length > 0) {
    console.error(`Out of date (run \`npm run diagrams\`): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(`diagrams are up to date (${files.size} files)`);
  process.exit(0);
}

for (const [path, text] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}
if (nextReadme !== undefined && nextReadme !== readme) writeFileSync(readmePath, nextReadme);
for (const s of sets) console.log(`${s.entry.name.padEnd(16)} ${String(s.graph.states.length).padStart(3)} states ${String(s.graph.transitions.length + s.graph.eventless.length).padStart(3)} transitions  svg ${kb(s.svg).padStart(9)}  mmd ${kb(s.mermaid).padStart(8)}`);
console.log(`${files.size} files, ${stale.length} changed (${Math.round(performance.now() - started)} ms)`);
