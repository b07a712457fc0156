import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describe, expect, it } from 'vitest';
import { decodeWith, eventCodec } from '../../src/domain/decode.ts';

const refusal = (result: E.Either<unknown, unknown>) => {
  if (E.isRight(result)) return expect.fail('expected a refusal');
  return result.left as { code: string; message: string; field?: string };
};

describe('decodeWith', () => {
  it('should name the input itself when the top level is wrong, with no field', () => {
    const error = refusal(decodeWith(t.string, 5));
    expect(error).toEqual({ _tag: 'FlowError', code: 'invalid_input', visibility: 'public', message: 'the input: expected string' });
    expect('field' in error).toBe(false);
  });

  it('should name the field path, keeping names with digits and dropping list and union positions', () => {
    const codec = t.type({ address: t.type({ line2: t.string, '2fa': t.boolean }), codes: t.array(t.union([t.string, t.number])) });
    const good = { address: { line2: 'x', '2fa': true }, codes: [] };
    expect(refusal(decodeWith(codec, { ...good, address: { line2: 7, '2fa': true } }))).toMatchObject({ field: 'address.line2', message: 'address.line2: expected string' });
    expect(refusal(decodeWith(codec, { ...good, address: { line2: 'x', '2fa': 'yes' } }))).toMatchObject({ field: 'address.2fa' });
    const codes = [...Array.from({ length: 10 }, () => 'ok'), null];
    expect(refusal(decodeWith(codec, { ...good, codes }))).toMatchObject({ field: 'codes' });
  });

  it('should fall back to the codec name when a codec fails without saying where', () => {
    const silent = new t.Type<never, never, unknown>('Nothing', (_u): _u is never => false, () => t.failures([]), (a) => a);
    const error = refusal(decodeWith(silent, 1, 'policy_invalid'));
    expect(error).toEqual({ _tag: 'FlowError', code: 'policy_invalid', visibility: 'internal', message: 'the input: expected Nothing' });
  });
});

describe('eventCodec', () => {
  const codec = eventCodec('Event', { 'a.go': { n: t.number }, 'b.stop': {} }, t);

  it('should recognise exactly the events it knows, with their fields', () => {
    expect(codec.is({ type: 'a.go', n: 1 })).toBe(true);
    expect(codec.is({ type: 'b.stop' })).toBe(true);
    expect(codec.is({ type: 'a.go', n: '1' })).toBe(false);
    expect(codec.is({ type: 'a.go' })).toBe(false);
    expect(codec.is({ type: 'c.other' })).toBe(false);
    expect(codec.is({ type: 'toString' })).toBe(false);
    expect(codec.is('a.go')).toBe(false);
    expect(codec.is(null)).toBe(false);
  });

  it('should refuse an unknown type or a value that is no event, naming the type field', () => {
    for (const raw of [{ type: 'c.other' }, { type: 'toString' }, 'a.go', null]) {
      const result = codec.decode(raw);
      expect(E.isLeft(result), JSON.stringify(raw)).toBe(true);
    }
    expect(refusal(decodeWith(codec, { type: 'c.other', n: 1 }))).toMatchObject({ field: 'type' });
    expect(refusal(decodeWith(codec, { type: 'a.go', n: 'one' }))).toMatchObject({ field: 'n', message: 'n: expected number' });
  });

  it('should encode an event as itself', () => {
    const event = { type: 'a.go' as const, n: 1 };
    expect(codec.encode(event)).toBe(event);
  });

  it('should strip fields the event does not have', () => {
    expect(codec.decode({ type: 'a.go', n: 1, admin: true })).toEqual(E.right({ type: 'a.go', n: 1 }));
  });
});
