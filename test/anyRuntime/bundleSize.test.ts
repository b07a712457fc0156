import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { measureBundles } from '../../scripts/coreBundle.ts';

const START = '<!-- bundle-size -->';
const END = '<!-- /bundle-size -->';

interface Row {
  readonly label: string;
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
}

/** `| label | 473.6 kB | 132.6 kB |` → bytes, as scripts/bundle-size.ts writes them. */
const rowsOf = (readme: string): Row[] => {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  expect(from, `README lacks ${START}`).toBeGreaterThan(-1);
  expect(to, `README lacks ${END}`).toBeGreaterThan(from);
  return [...readme.slice(from, to).matchAll(/^\| (.+?) \| ([\d.]+) kB \| ([\d.]+) kB \|$/gm)].map(([, label, minified, gzip]) => ({
    label: label ?? '',
    minifiedBytes: Math.round(Number(minified) * 1000),
    gzipBytes: Math.round(Number(gzip) * 1000),
  }));
};

const within = (shown: number, measured: number, tolerance: number): boolean => Math.abs(shown - measured) <= measured * tolerance;

describe('the bundle size in the README', () => {
  it('should be within 5% of what esbuild builds today (npx tsx scripts/bundle-size.ts rewrites it)', async () => {
    const shown = rowsOf(readFileSync('README.md', 'utf8'));
    const measured = await measureBundles();
    expect(shown.map((r) => r.label)).toEqual(measured.map((m) => m.label));
    for (const [i, m] of measured.entries()) {
      const row = shown[i] as Row;
      expect(within(row.minifiedBytes, m.minifiedBytes, 0.05), `${m.label}: README ${row.minifiedBytes} B minified, measured ${m.minifiedBytes} B`).toBe(true);
      expect(within(row.gzipBytes, m.gzipBytes, 0.05), `${m.label}: README ${row.gzipBytes} B gzip, measured ${m.gzipBytes} B`).toBe(true);
    }
  });

  it('should read the table scripts/bundle-size.ts writes, and tell a stale figure', () => {
    const rows = rowsOf(`${START}\n| bundle | minified | gzip |\n| --- | ---: | ---: |\n| \`core\` | 473.6 kB | 132.6 kB |\n${END}`);
    expect(rows).toEqual([{ label: '`core`', minifiedBytes: 473_600, gzipBytes: 132_600 }]);
    expect(within(473_600, 473_609, 0.05)).toBe(true);
    expect(within(400_000, 473_609, 0.05)).toBe(false);
  });
});
