/**
 * npx tsx scripts/bundle-size.ts
 *
 * Prints what the core weighs in a browser (esbuild, ESM, minified; gzip at zlib's default
 * level) and writes the figures into README.md between `<!-- bundle-size -->` and
 * `<!-- /bundle-size -->`. test/anyRuntime/bundleSize.test.ts fails when they drift by more
 * than 5%.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type BundleFigure, measureBundles } from './coreBundle.ts';

const START = '<!-- bundle-size -->';
const END = '<!-- /bundle-size -->';

const kB = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`;

const sizeTable = (figures: readonly BundleFigure[]): string =>
  [
    '| bundle | minified | gzip |',
    '| --- | ---: | ---: |',
    ...figures.map((f) => `| ${f.label} | ${kB(f.minifiedBytes)} | ${kB(f.gzipBytes)} |`),
  ].join('\n');

const withSizeTable = (readme: string, table: string): string => {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from === -1 || to < from) throw new Error(`README.md lacks ${START} … ${END}`);
  return `${readme.slice(0, from + START.length)}\n${table}\n${readme.slice(to)}`;
};

const figures = await measureBundles();
for (const f of figures) console.log(`${f.label.replaceAll('`', '')}: ${kB(f.minifiedBytes)} minified, ${kB(f.gzipBytes)} gzip`);
writeFileSync('README.md', withSizeTable(readFileSync('README.md', 'utf8'), sizeTable(figures)));
