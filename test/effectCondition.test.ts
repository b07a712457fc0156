import { describe, expect, it } from 'vitest';
import { effectCondition, statePathValue } from '../src/domain/effects.ts';

describe('conditional effects', () => {
  it('should read onlyWhile only when it is a string', () => {
    expect(effectCondition({ onlyWhile: 'case.resettingSecondFactor' })).toBe('case.resettingSecondFactor');
    expect(effectCondition({ onlyWhile: 3 })).toBeUndefined();
    expect(effectCondition(null)).toBeUndefined();
    expect(effectCondition({})).toBeUndefined();
  });

  it('should turn a dotted state path into the state value snapshot.matches takes', () => {
    expect(statePathValue('locked')).toBe('locked');
    expect(statePathValue('case.resettingSecondFactor')).toEqual({ case: 'resettingSecondFactor' });
    expect(statePathValue('a.b.c')).toEqual({ a: { b: 'c' } });
  });
});
