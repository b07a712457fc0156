import { describe, expect, it } from 'vitest';
import { bundleForBrowser, CORE_ENTRY } from '../../scripts/coreBundle.ts';

/**
 * test/purity.test.ts reads our own sources; this reads what they pull in. The core and the
 * embedded defaults are bundled for a browser, where no Node module exists, and every Node
 * built-in asked for on the way, by us or by any dependency, is an offender.
 */
describe('the core in any runtime', () => {
  it('should bundle for a browser without a Node built-in or an untested Node global', async () => {
    const bundle = await bundleForBrowser(CORE_ENTRY);
    expect(bundle.nodeImports).toEqual([]);
    expect(bundle.nodeGlobals).toEqual([]);
  });

  it('should keep the common-password dictionary out of the core', async () => {
    const bundle = await bundleForBrowser(CORE_ENTRY);
    expect(bundle.inputs.map(([path]) => path).filter((path) => path.includes('@zxcvbn-ts'))).toEqual([]);
  });

  it('should name a Node built-in that a source imports, directly or through a dependency', async () => {
    const bundle = await bundleForBrowser(
      "import { createHash } from 'node:crypto';\nimport pg from 'pg';\nexport const h = () => [createHash('sha256'), pg];",
    );
    expect(bundle.nodeImports).toContain('node:crypto (from core-entry.ts)');
    expect(bundle.nodeImports.some((found) => /^(crypto|net|events|dns|tls) \(from node_modules\/pg/.test(found))).toBe(true);
  });

  it('should name a Node global read without a typeof test, and let a tested one pass', async () => {
    expect((await bundleForBrowser('export const env = () => process.env.HOME;')).nodeGlobals).toEqual(['process']);
    expect((await bundleForBrowser("export const env = () => typeof process < 'u' ? process.env.HOME : undefined;")).nodeGlobals).toEqual([]);
  });
});
