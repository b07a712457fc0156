import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToId } from '../../src/runtime/ids.ts';

describe('bytesToId', () => {
  it('should write bytes as base64url without padding, as Node does', () => {
    expect(bytesToId(new Uint8Array([]))).toBe('');
    expect(bytesToId(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(bytesToId(new TextEncoder().encode('foob'))).toBe('Zm9vYg');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(bytesToId(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
    );
  });
});
