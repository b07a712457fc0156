import { describe, expect, it } from 'vitest';
import { postgresTarget } from './support.ts';

describe('which PostgreSQL the tests use', () => {
  it('should use DATABASE_URL when it is set, in CI or not', () => {
    expect(postgresTarget({ DATABASE_URL: 'postgres://h/db', CI: 'true' })).toEqual({ kind: 'ready', url: 'postgres://h/db' });
    expect(postgresTarget({ DATABASE_URL: 'postgres://h/db' })).toEqual({ kind: 'ready', url: 'postgres://h/db' });
  });

  it('should fail, never pass silently, in CI without DATABASE_URL', () => {
    expect(postgresTarget({ CI: 'true' })).toMatchObject({ kind: 'fail', reason: expect.stringContaining('DATABASE_URL is not set') });
    expect(postgresTarget({ CI: '1', DATABASE_URL: '' })).toMatchObject({ kind: 'fail' });
  });

  it('should skip, saying why, outside CI without DATABASE_URL', () => {
    expect(postgresTarget({})).toEqual({ kind: 'skip', reason: expect.stringContaining('.ci/postgres') });
  });
});
