import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ErrorCode,
  flowError,
  INTERNAL_ERROR_CODES,
  isFlowError,
  isPublic,
  PUBLIC_ERROR_CODES,
  toPublicView,
} from '../src/domain/errors.ts';

const ALL_CODES: readonly ErrorCode[] = [...PUBLIC_ERROR_CODES, ...INTERNAL_ERROR_CODES];
const internalCodes: ReadonlySet<string> = new Set(INTERNAL_ERROR_CODES);

const extraArb = fc.record(
  { field: fc.string(), retryAfterMs: fc.nat() },
  { requiredKeys: [] },
);

describe('error code lists', () => {
  it('should keep public and internal codes disjoint', () => {
    const overlap = PUBLIC_ERROR_CODES.filter((code) => (INTERNAL_ERROR_CODES as readonly string[]).includes(code));
    expect(overlap).toEqual([]);
  });

  it('should list each code once', () => {
    expect(new Set(ALL_CODES).size).toBe(ALL_CODES.length);
  });

  it('should have the opaque answer among the public codes', () => {
    expect(PUBLIC_ERROR_CODES).toContain('invalid_input');
  });
});

describe('flowError', () => {
  it.each(PUBLIC_ERROR_CODES.map((code) => [code]))('should make %s public', (code) => {
    const e = flowError(code, 'message');
    expect(e).toEqual({ _tag: 'FlowError', code, visibility: 'public', message: 'message' });
    expect(isPublic(e)).toBe(true);
  });

  it.each(INTERNAL_ERROR_CODES.map((code) => [code]))('should make %s internal', (code) => {
    const e = flowError(code, 'message');
    expect(e.visibility).toBe('internal');
    expect(isPublic(e)).toBe(false);
  });

  it('should carry field and retryAfterMs only when given', () => {
    expect(flowError('rate_limited', 'wait', { retryAfterMs: 5 })).toEqual({ _tag: 'FlowError', code: 'rate_limited', visibility: 'public', message: 'wait', retryAfterMs: 5 });
    expect(flowError('phone_invalid', 'bad', { field: 'phone' })).toEqual({ _tag: 'FlowError', code: 'phone_invalid', visibility: 'public', message: 'bad', field: 'phone' });
    expect(Object.keys(flowError('cooldown', 'wait', {}))).not.toContain('retryAfterMs');
    expect(Object.keys(flowError('cooldown', 'wait', {}))).not.toContain('field');
    expect(flowError('cooldown', 'wait', { retryAfterMs: 0 }).retryAfterMs).toBe(0);
  });

  it('should be recognised by isFlowError, and nothing else should', () => {
    expect(isFlowError(flowError('invalid_input', 'x'))).toBe(true);
    for (const u of [null, undefined, 0, 'FlowError', {}, { _tag: 'Other' }, new Error('x')]) expect(isFlowError(u)).toBe(false);
  });
});

describe('toPublicView', () => {
  it('should pass a public error through without its tag or visibility', () => {
    const e = flowError('cooldown', 'Wait a minute.', { field: 'phone', retryAfterMs: 60_000 });
    expect(toPublicView(e)).toEqual({ code: 'cooldown', message: 'Wait a minute.', field: 'phone', retryAfterMs: 60_000 });
  });

  it.each(INTERNAL_ERROR_CODES.map((code) => [code]))('should collapse the internal %s to an opaque invalid_input', (code) => {
    const e = flowError(code, `Policy field code.ttlMs secret detail for ${code}.`, { field: 'code.ttlMs', retryAfterMs: 7 });
    expect(toPublicView(e)).toEqual({ code: 'invalid_input', message: 'The request could not be processed.' });
  });

  it('should never show an internal code, field, message or retry-after', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_CODES), fc.string(), extraArb, (code, message, extra) => {
        const e = flowError(code, message, extra);
        const view = toPublicView(e);
        expect(internalCodes.has(view.code)).toBe(false);
        expect((PUBLIC_ERROR_CODES as readonly string[]).includes(view.code)).toBe(true);
        if (e.visibility === 'internal') {
          expect(view).toEqual({ code: 'invalid_input', message: 'The request could not be processed.' });
        } else {
          expect(view).toEqual({ code, message, ...extra });
        }
        // The view is the same whatever the internal error said: nothing to tell them apart.
        if (e.visibility === 'internal') expect(JSON.stringify(view)).toBe(JSON.stringify(toPublicView(flowError('port_failure', 'x'))));
      }),
    );
  });
});

describe('toPublicView, exactly', () => {
  it('should leave out a field or a wait the error does not have', () => {
    const view = toPublicView(flowError('code_invalid', 'The code is not correct.'));
    expect(view).toEqual({ code: 'code_invalid', message: 'The code is not correct.' });
    expect(Object.keys(view).sort()).toEqual(['code', 'message']);
    expect(Object.keys(toPublicView(flowError('flow_locked', 'Later.', { field: 'code', retryAfterMs: 5 }))).sort()).toEqual(['code', 'field', 'message', 'retryAfterMs']);
  });
});
