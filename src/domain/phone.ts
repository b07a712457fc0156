/**
 * A phone number the service can text: exactly one number, in E.164, from a region the policy
 * allows and, by default, a mobile line (seed 002: the service is tailored to Chinese and Hong
 * Kong mobile numbers).
 *
 * Parsing uses libphonenumber-js with its full (`/max`) metadata. The smaller metadata sets do
 * not do the job: `/min` cannot tell a mobile from a fixed line (`getType()` is undefined for
 * CN and HK), and `/mobile` knows only mobile ranges, so it calls every fixed line invalid and
 * even reports a US number as MOBILE.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type CountryCode, type NumberType, type PhoneNumber, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { type FlowError, flowError } from './errors.ts';
import type { Policy } from './policy.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

interface PhoneBrand {
  readonly Phone: unique symbol;
}

/**
 * An E.164 string (`+8613800138000`) that libphonenumber-js re-parses to itself and calls
 * valid. The codec knows no policy: region and line type are checked by `parsePhone`, when a
 * number enters, not each time a stored snapshot is decoded.
 *
 * Validity depends on the metadata of the pinned libphonenumber-js version; upgrading it can in
 * principle make a stored number stop decoding, so an upgrade deserves a look at stored data.
 */
export const Phone = t.brand(t.string, (s): s is t.Branded<string, PhoneBrand> => isCanonicalE164(s), 'Phone');
export type Phone = t.TypeOf<typeof Phone>;

/** Far above any formatted number; refusing longer input keeps the parser off megabytes. */
const MAX_RAW_LENGTH = 64;

/**
 * Digits with the usual separators and at most one leading `+`. Letters are refused because the
 * library would otherwise read extensions (`x123`, `;ext=`) and `tel:` URIs; a second `+` or a
 * comma is how a list of numbers starts, and a list must never be narrowed to its first entry.
 */
const PHONE_TEXT = /^\+?[0-9 ().-]+$/;

const MOBILE_TYPES: ReadonlySet<NumberType> = new Set<NumberType>(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

type ParseOptions = { readonly defaultCountry?: CountryCode; readonly defaultCallingCode?: string; readonly extract: false };

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Parses what a user typed into one E.164 number the policy accepts.
 *
 * `defaultRegion` says how to read a number typed without `+`: an ISO 3166 alpha-2 region
 * (`'CN'`) or a country calling code (`'86'` or `'+86'`), as a country picker beside the field
 * would send. Fullwidth digits and `＋` from a CJK input method are folded to ASCII (NFKC).
 *
 * @example
 * parsePhone('138 0013 8000', DEFAULT_POLICY, 'CN'); // Right('+8613800138000')
 * parsePhone('+12025550123', DEFAULT_POLICY);        // Left(phone_region_not_allowed)
 * parsePhone('+861088888888', DEFAULT_POLICY);       // Left(phone_invalid): a Beijing fixed line
 */
export const parsePhone = (raw: unknown, policy: Policy, defaultRegion?: string): E.Either<FlowError, Phone> => {
  if (typeof raw !== 'string' || raw.length > MAX_RAW_LENGTH) return E.left(invalid());
  const text = raw.normalize('NFKC').trim();
  if (!PHONE_TEXT.test(text)) return E.left(invalid());
  const options = parseOptions(defaultRegion);
  if (options === undefined) return E.left(invalid());
  const parsed = safeParse(text, options);
  if (parsed === undefined || parsed.ext !== undefined || !parsed.isValid()) return E.left(invalid());
  const region = parsed.country;
  // Non-geographic numbers (+800, +882, …) have no region, so no policy can allow them.
  if (region === undefined || !policy.phone.allowedRegions.includes(region)) {
    return E.left(flowError('phone_region_not_allowed', 'Phone numbers from this region are not supported.', { field: 'phone' }));
  }
  if (policy.phone.mobileOnly && !MOBILE_TYPES.has(parsed.getType())) {
    return E.left(invalid('Enter a mobile phone number that can receive text messages.'));
  }
  return E.right(parsed.number as Phone);
};

const invalid = (message = 'Enter a valid phone number with its country calling code.'): FlowError =>
  flowError('phone_invalid', message, { field: 'phone' });

const parseOptions = (defaultRegion: string | undefined): ParseOptions | undefined => {
  if (defaultRegion === undefined) return { extract: false };
  // The library's regions are all ISO alpha-2 codes, so anything else is read as a calling code.
  const region = defaultRegion.trim().toUpperCase();
  if (isSupportedCountry(region)) return { defaultCountry: region, extract: false };
  const callingCode = /^\+?([1-9][0-9]{0,2})$/.exec(region)?.[1];
  return callingCode === undefined ? undefined : { defaultCallingCode: callingCode, extract: false };
};

// The library throws for some inputs (an unknown default calling code); callers get `undefined`.
const safeParse = (text: string, options: ParseOptions = { extract: false }): PhoneNumber | undefined => {
  try {
    return parsePhoneNumberFromString(text, options);
  } catch {
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

// The library's `number` is always E.164, so equality with it is the format check.
const isCanonicalE164 = (s: string): boolean => {
  const parsed = safeParse(s);
  return parsed !== undefined && parsed.number === s && parsed.isValid();
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** The ISO 3166 alpha-2 region of a number, or `undefined` for a non-geographic one (+800 …). */
export const phoneRegion = (phone: Phone): string | undefined => safeParse(phone)?.country;

/** The national significant number: `+8613800138000` → `13800138000` (no trunk prefix). */
export const phoneNationalDigits = (phone: Phone): string => safeParse(phone)?.nationalNumber ?? phone.slice(1);

/**
 * A number for showing to its owner after a check passed: `+86 138****5678`. At most the last
 * four digits and, on long numbers, the first three stay visible, so a short number (HK's
 * eight digits: `+852 ****4567`) is never shown nearly whole.
 */
export const maskPhone = (phone: Phone): string => {
  const parsed = safeParse(phone);
  const callingCode = parsed?.countryCallingCode ?? '';
  const national = parsed?.nationalNumber ?? phone.slice(1);
  const tail = Math.min(4, Math.floor(national.length / 2));
  const head = Math.min(3, Math.max(0, national.length - tail - 4));
  const masked = '*'.repeat(national.length - head - tail);
  const digits = `${national.slice(0, head)}${masked}${national.slice(national.length - tail)}`;
  return callingCode === '' ? `+${digits}` : `+${callingCode} ${digits}`;
};
