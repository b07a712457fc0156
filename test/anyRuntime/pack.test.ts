import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepack`), the
 * tarball installed into an empty project with its dependencies from the registry, and the
 * README's embedding example run there by plain `node` — no tsx, no source condition. The
 * slowest test here: most of its time is the build and the install.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
const CORE_ENTRIES = ['account-flows', 'account-flows/memory', 'account-flows/common-passwords'];

const between = (start: string, end: string): string => {
  const from = README.indexOf(start);
  const to = README.indexOf(end);
  if (from === -1 || to < from) throw new Error(`README lacks ${start} … ${end}`);
  return README.slice(from + start.length, to);
};

const block = between('<!-- embedding-example:start -->', '<!-- embedding-example:end -->');
const EXAMPLE = block.slice(block.indexOf('```ts') + 5, block.lastIndexOf('```'));
/** What the README promises the example prints: `console.log(…); // "registered"`. */
const PROMISED = /console\.log\(.*\);\s*\/\/\s*"([^"]+)"/.exec(EXAMPLE)?.[1];

let work = '';
let consumer = '';
let packedFiles: string[] = [];

const run = (command: string, args: readonly string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 150_000 });

/** Runs tsc once in the consumer over `files`; returns its diagnostics, one a line. */
const typecheck = (files: readonly string[]): string[] => {
  // ES2022 + DOM and no @types at all: the core's declarations must not need Node's types.
  const config = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: false }, files };
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(config));
  try {
    run(process.execPath, [TSC, '-p', '.'], consumer);
    return [];
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error).trim().split('\n');
  }
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'af-pack-'));
  const packed = JSON.parse(run('npm', ['pack', '--pack-destination', work, '--json'], ROOT)) as [{ filename: string; files: { path: string }[] }];
  packedFiles = packed[0].files.map((f) => f.path);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', join(work, packed[0].filename), '--prefer-offline', '--no-audit', '--no-fund'], consumer);
}, 180_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('should ship dist/ and the README only, with every file its exports name', () => {
    expect(packedFiles.filter((path) => !path.startsWith('dist/') && path !== 'README.md' && path !== 'package.json')).toEqual([]);
    expect(packedFiles.filter((path) => /\.test\.|\.ts$/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
    const targets = Object.values(PACKAGE.exports).flatMap((entry) =>
      typeof entry === 'string' ? [] : [entry['types'], entry['import']].filter((t): t is string => t !== undefined),
    );
    expect(targets.length).toBeGreaterThanOrEqual(6);
    expect(targets.filter((target) => !packedFiles.includes(target.replace(/^\.\//, '')))).toEqual([]);
  });

  it('should run the README embedding example with plain node and print what the README says', () => {
    expect(PROMISED, 'the example ends with console.log(…); // "<what it prints>"').toBeDefined();
    writeFileSync(join(consumer, 'example.mjs'), EXAMPLE);
    expect(run(process.execPath, ['example.mjs'], consumer).trim()).toBe(PROMISED);
  });

  it('should load every entry point its exports name with plain node', () => {
    const entries = Object.keys(PACKAGE.exports).filter((key) => key !== './package.json').map((key) => `account-flows${key.slice(1)}`);
    writeFileSync(join(consumer, 'entries.mjs'), `for (const e of ${JSON.stringify(entries)}) console.log(e, Object.keys(await import(e)).length > 0);`);
    expect(run(process.execPath, ['entries.mjs'], consumer).trim().split('\n')).toEqual(entries.map((e) => `${e} true`));
  });

  it('should type-check the example against the shipped declarations, without Node types, and refuse a wrong call', () => {
    writeFileSync(join(consumer, 'example.ts'), EXAMPLE);
    writeFileSync(join(consumer, 'entries.ts'), CORE_ENTRIES.map((e, i) => `import * as m${i} from '${e}';\nexport const n${i} = Object.keys(m${i}).length;`).join('\n'));
    writeFileSync(join(consumer, 'wrong.ts'), "import { createMemoryWorld } from 'account-flows/memory';\ncreateMemoryWorld({ seed: 'forty-two' });\n");
    // One run (tsc over xstate's types takes seconds): the deliberate mistake is the only diagnostic.
    expect(typecheck(['example.ts', 'entries.ts', 'wrong.ts'])).toEqual(["wrong.ts(2,21): error TS2322: Type 'string' is not assignable to type 'number'."]);
  });
});
