import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import { boundedList, boundedString, type EvidenceInput, evidenceFromInput, retentionOver } from '../../src/domain/reviewTicket.ts';
import { DAY } from '../../src/domain/time.ts';

const CONTACT = 'me@example.com';

const evidence = (input: Partial<EvidenceInput>) => evidenceFromInput({ contactEmail: CONTACT, ...input } as EvidenceInput);

describe('bounded strings and lists', () => {
  it('should take a string of exactly the limit and refuse one character more', () => {
    const codec = boundedString(3);
    expect(codec.name).toBe('string (at most 3 characters)');
    expect(codec.is('abc')).toBe(true);
    expect(codec.is('')).toBe(true);
    expect(codec.is('abcd')).toBe(false);
    expect(codec.is(3)).toBe(false);
    expect(codec.is(['abc'])).toBe(false);
    expect(codec.decode('abc')).toEqual(E.right('abc'));
    expect(E.isLeft(codec.decode('abcd'))).toBe(true);
    expect(E.isLeft(codec.decode({ length: 1 }))).toBe(true);
  });

  it('should take a list of exactly the limit and refuse one item more or one item too long', () => {
    const codec = boundedList(2, 3);
    expect(codec.name).toBe('list of at most 2 items of string (at most 3 characters)');
    expect(codec.is(['abc', 'de'])).toBe(true);
    expect(codec.is([])).toBe(true);
    expect(codec.is(['a', 'b', 'c'])).toBe(false);
    expect(codec.is(['abcd'])).toBe(false);
    expect(codec.is('ab')).toBe(false);
    expect(codec.decode(['abc', 'de'])).toEqual(E.right(['abc', 'de']));
    expect(E.isLeft(codec.decode(['a', 'b', 'c']))).toBe(true);
    expect(E.isLeft(codec.decode(['abcd']))).toBe(true);
  });
});

describe('evidenceFromInput', () => {
  it('should take any one kind of evidence on its own', () => {
    const one: Partial<EvidenceInput>[] = [
      { nickname: 'Xiaoming' },
      { team: 'Tea Club' },
      { formerPhone: '+8613800138000' },
      { frequentContacts: ['Li Lei'] },
      { pastDevices: ['Pixel 7'] },
      { loginPlaces: ['Hangzhou'] },
    ];
    for (const input of one) expect(E.isRight(evidence(input)), JSON.stringify(input)).toBe(true);
  });

  it('should refuse a contact address alone, or blanks, saying what to give', () => {
    for (const input of [{}, { nickname: '  ', frequentContacts: [' ', ''], loginPlaces: ['\u3000'] }]) {
      expect(evidence(input)).toEqual(
        E.left({
          _tag: 'FlowError',
          code: 'invalid_input',
          visibility: 'public',
          message: 'Tell us at least one thing about the account: a nickname, team, contacts, devices, places or a former phone.',
          field: 'evidence',
        }),
      );
    }
  });

  it('should drop blank and repeated list items and trim the rest', () => {
    const result = evidence({ frequentContacts: [' Li Lei ', '', '   ', 'Li Lei', 'Han Meimei'], pastDevices: ['  '] });
    expect(result).toEqual(
      E.right({
        nickname: null,
        team: null,
        frequentContacts: ['Li Lei', 'Han Meimei'],
        pastDevices: [],
        loginPlaces: [],
        formerPhone: null,
        contactEmail: CONTACT,
      }),
    );
  });
});

describe('retentionOver', () => {
  it('should never be over for a ticket that has not closed', () => {
    expect(retentionOver(null, Number.MAX_SAFE_INTEGER, DEFAULT_POLICY)).toBe(false);
    expect(retentionOver(0, 30 * DAY - 1, DEFAULT_POLICY)).toBe(false);
    expect(retentionOver(0, 30 * DAY, DEFAULT_POLICY)).toBe(true);
  });
});
