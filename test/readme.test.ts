import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../src/domain/policy.ts';
import { policyTable } from '../src/domain/policyTable.ts';

const README = readFileSync('README.md', 'utf8');

const between = (start: string, end: string): string => {
  const from = README.indexOf(start);
  const to = README.indexOf(end);
  expect(from, `README lacks ${start}`).toBeGreaterThan(-1);
  expect(to, `README lacks ${end}`).toBeGreaterThan(from);
  return README.slice(from + start.length, to);
};

describe('README', () => {
  it('should give the two commands a newcomer needs on its first screen', () => {
    const firstScreen = README.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('npm install && npm start');
    expect(firstScreen).toContain('npm test');
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
    // The first command must do what the first screen says: the service on embedded defaults.
    expect(scripts.start).toBe('tsx src/server/main.ts');
    expect(firstScreen).toContain('http://127.0.0.1:3000');
    expect(scripts.test).toContain('vitest run');
  });

  it('should show the policy table the code generates', () => {
    expect(between('<!-- policy-table:start -->', '<!-- policy-table:end -->').trim()).toBe(policyTable(DEFAULT_POLICY));
  });

  it('should carry an embedding example that really runs, importing the package by its name', () => {
    const block = between('<!-- embedding-example:start -->', '<!-- embedding-example:end -->');
    const code = block.slice(block.indexOf('```ts') + 5, block.lastIndexOf('```'));
    mkdirSync('test/.generated', { recursive: true });
    const file = join('test', '.generated', 'readme-example.ts');
    writeFileSync(file, code);
    // A child process, so the import of 'account-flows' resolves through package.json "exports" as a user's would;
    // the source condition picks the .ts entries over dist/ (test/anyRuntime/pack.test.ts runs the built package).
    const output = execFileSync(process.execPath, ['--conditions=account-flows-source', '--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    expect(output.trim()).toBe('registered');
  });
});
