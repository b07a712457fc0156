import { describe, expect, it } from 'vitest';
import { isActive } from '../../src/domain/account.ts';

describe('isActive', () => {
  it('should answer no, without throwing, for an account that is not there', () => {
    expect(isActive(undefined)).toBe(false);
  });
});
