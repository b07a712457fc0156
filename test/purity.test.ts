import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The pure core must take time, randomness and I/O from injected ports. This test reads the
 * sources, so a forbidden read fails the build even where no other test reaches the line.
 * What the core pulls in through its dependencies is checked on a bundle (test/anyRuntime).
 */
const PURE_DIRS = ['src/domain', 'src/ports', 'src/runtime', 'src/flows', 'machines'];

const FORBIDDEN: readonly [name: string, pattern: RegExp][] = [
  ['Date.now', /\bDate\s*\.\s*now\b/],
  ['new Date()', /\bnew\s+Date\s*\(\s*\)/],
  ['Math.random', /\bMath\s*\.\s*random\b/],
  ['timers', /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/],
  ['performance.now', /\bperformance\s*\.\s*now\b/],
  ['a node: module', /(from\s+|import\s*\(\s*|require\s*\(\s*)['"]node:/],
  ['a Node built-in', /(from\s+|import\s*\(\s*|require\s*\(\s*)['"](fs|path|crypto|os|child_process|worker_threads|net|http|https)['"]/],
  ['crypto.getRandomValues', /\bgetRandomValues\s*\(/],
];

const sourcesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });

export const findAmbientEffects = (source: string): string[] =>
  FORBIDDEN.filter(([, pattern]) => pattern.test(source.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))).map(([name]) => name);

describe('purity of the core', () => {
  for (const dir of PURE_DIRS) {
    it(`should find no ambient time, randomness, timers or Node modules in ${dir}`, () => {
      const offenders = sourcesUnder(dir).flatMap((file) =>
        findAmbientEffects(readFileSync(file, 'utf8')).map((what) => `${file}: ${what}`),
      );
      expect(offenders).toEqual([]);
    });
  }

  it('should catch each forbidden read in a deliberately impure source', () => {
    expect(findAmbientEffects('const t = Date.now();')).toEqual(['Date.now']);
    expect(findAmbientEffects('const d = new Date();')).toEqual(['new Date()']);
    expect(findAmbientEffects('const r = Math.random();')).toEqual(['Math.random']);
    expect(findAmbientEffects('setTimeout(() => 1, 5);')).toEqual(['timers']);
    expect(findAmbientEffects("import { readFileSync } from 'node:fs';")).toEqual(['a node: module']);
    expect(findAmbientEffects("import crypto from 'crypto';")).toEqual(['a Node built-in']);
    expect(findAmbientEffects('// Date.now() is forbidden here\nconst at = event.at;')).toEqual([]);
  });
});
