/**
 * The core as a browser would get it: one esbuild bundle of the public entry and the embedded
 * in-memory defaults, built for `platform: 'browser'` with no Node built-in available. The
 * any-runtime tests and `scripts/bundle-size.ts` share it, so the figure in the README is the
 * size of exactly what the tests load into Chromium.
 */
import { builtinModules } from 'node:module';
import { relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/** `account-flows` and `account-flows/memory`: everything a host needs to run a flow in memory. */
export const CORE_ENTRY = ["export * from './src/index.ts';", "export * from './src/adapters/memory/index.ts';"].join('\n');

/** The opt-in word list, measured on its own so the README can say what opting in costs. */
export const CORE_WITH_COMMON_PASSWORDS_ENTRY = `${CORE_ENTRY}\nexport * from './src/adapters/commonPasswords.ts';`;

/**
 * Node globals a browser lacks. Each is replaced by a marker so that a use survives into the
 * output where it can be found; `require` and `module` are left alone because esbuild needs
 * them to bundle CommonJS dependencies.
 */
const NODE_GLOBALS = ['process', 'Buffer', 'global', '__dirname', '__filename', 'setImmediate'] as const;
const MARKER = '__node_global__';

export interface BrowserBundle {
  readonly code: Uint8Array;
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
  /** `node:fs (from src/x.ts)`: every Node built-in the bundle asked for, directly or through a dependency. */
  readonly nodeImports: readonly string[];
  /** Node globals the code reads without first testing `typeof x` (a browser would throw). */
  readonly nodeGlobals: readonly string[];
  /** Bytes each input contributes to the minified output, largest first. */
  readonly inputs: readonly (readonly [path: string, bytes: number])[];
}

const isNodeBuiltin = (specifier: string): boolean =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] ?? specifier);

/** Records each built-in import and leaves it external, so one build lists them all. */
const recordNodeImports = (found: string[]): Plugin => ({
  name: 'record-node-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!isNodeBuiltin(args.path)) return undefined;
      found.push(`${args.path} (from ${relative(ROOT, args.importer) || args.importer})`);
      return { path: args.path, external: true };
    });
  },
});

/** Globals read but never feature-tested: `typeof process < 'u' && process.env…` is browser-safe, a bare `process.env` is not. */
const untestedGlobals = (text: string): string[] =>
  NODE_GLOBALS.filter((name) => {
    const marker = `${MARKER}${name}`;
    return text.includes(marker) && !text.includes(`typeof ${marker}`);
  });

/**
 * Bundles `contents` (ES module source, imports relative to the repository root) for a browser:
 * ESM, minified, ES2022.
 *
 * @example
 * const bundle = await bundleForBrowser(CORE_ENTRY);
 * bundle.nodeImports; // [] while the core stays runtime-neutral
 */
export const bundleForBrowser = async (contents: string): Promise<BrowserBundle> => {
  const nodeImports: string[] = [];
  const result = await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: 'core-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', ...Object.fromEntries(NODE_GLOBALS.map((name) => [name, `${MARKER}${name}`])) },
    plugins: [recordNodeImports(nodeImports)],
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output');
  const meta = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(meta?.inputs ?? {})
    .map(([path, { bytesInOutput }]) => [path, bytesInOutput] as const)
    .sort((a, b) => b[1] - a[1]);
  return {
    code: output.contents,
    minifiedBytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents).byteLength,
    nodeImports,
    nodeGlobals: untestedGlobals(output.text),
    inputs,
  };
};

export interface BundleFigure {
  readonly label: string;
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
}

/** The rows of the README's size table, in its order. */
export const measureBundles = async (): Promise<BundleFigure[]> => {
  const core = await bundleForBrowser(CORE_ENTRY);
  const withWords = await bundleForBrowser(CORE_WITH_COMMON_PASSWORDS_ENTRY);
  return [
    { label: '`account-flows` + `account-flows/memory`', minifiedBytes: core.minifiedBytes, gzipBytes: core.gzipBytes },
    { label: 'the same + `account-flows/common-passwords`', minifiedBytes: withWords.minifiedBytes, gzipBytes: withWords.gzipBytes },
  ];
};
