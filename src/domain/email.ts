/**
 * An e-mail address that names exactly one mailbox, in one canonical spelling.
 *
 * The grammar is deliberately narrower than RFC 5322, which allows quoted local parts, comments,
 * display names, groups and address literals — each of them a way to smuggle a second recipient
 * or a header past a mailer. What is accepted:
 *
 * - printable ASCII only, no spaces: no control characters, no CR/LF (header injection), no
 *   SMTPUTF8 local parts; an internationalised domain only in its punycode (`xn--`) form;
 * - exactly one `@`, local part 1–64 characters, whole address at most 254 (RFC 5321 §4.5.3.1);
 * - local part: RFC 5322 dot-atom (no leading, trailing or doubled dot) over atext *minus* `!`
 *   and `%`, which old relays still read as source routes (`a%b.example@relay.example`). So no
 *   double quotes, backslashes, angle brackets, commas, semicolons or spaces; the apostrophe
 *   stays, being plain atext in real addresses (`o'brien@example.com`);
 * - domain: at least two LDH labels of 1–63 characters, not starting or ending with `-`, no
 *   reserved `??--` label except punycode, and an alphabetic or punycode top-level label (so no
 *   IP addresses).
 *
 * The whole address is lowercased, local part included. RFC 5321 lets a server treat
 * `Bob@x` and `bob@x` as two mailboxes, but practically none does; treating them as two would
 * let one person hold two accounts on one mailbox and make "is this address bound?" depend on
 * how it was typed.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type FlowError, flowError } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

interface EmailBrand {
  readonly Email: unique symbol;
}

/** A canonical address: `parseEmail` returns it unchanged. */
export const Email = t.brand(t.string, (s): s is t.Branded<string, EmailBrand> => isCanonicalEmail(s), 'Email');
export type Email = t.TypeOf<typeof Email>;

export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_PART_LENGTH = 64;

/** Room for surrounding whitespace; anything longer is refused before any other work. */
const MAX_RAW_LENGTH = 1024;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const LOCAL_PART = /^[a-z0-9#$&'*+\/=?^_`{|}~-]+(?:\.[a-z0-9#$&'*+\/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const RESERVED_LABEL = /^[a-z0-9]{2}--/;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Trims and lowercases an address, or refuses it unless it is exactly one plain mailbox.
 *
 * @example
 * parseEmail('  Alice.Smith@Example.COM '); // Right('alice.smith@example.com')
 * parseEmail('a@x.com,b@y.com');            // Left(email_invalid)
 * parseEmail('a@x.com\nBcc: b@y.com');      // Left(email_invalid)
 */
export const parseEmail = (raw: unknown): E.Either<FlowError, Email> => {
  if (typeof raw !== 'string' || raw.length > MAX_RAW_LENGTH) return E.left(invalid('Enter one e-mail address.'));
  const trimmed = raw.trim();
  // Checked before lowercasing: some non-ASCII letters lowercase to ASCII (KELVIN SIGN → k).
  if (!PRINTABLE_ASCII.test(trimmed)) return E.left(invalid('Enter one e-mail address, without spaces or special characters.'));
  if (trimmed.length > MAX_EMAIL_LENGTH) return E.left(invalid('The e-mail address is too long.'));
  const address = trimmed.toLowerCase();
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@')) return E.left(invalid('Enter one e-mail address.'));
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > MAX_LOCAL_PART_LENGTH) return E.left(invalid('The part before @ is too long.'));
  if (!LOCAL_PART.test(local)) return E.left(invalid('The part before @ has characters that are not allowed.'));
  if (!isMailDomain(domain)) return E.left(invalid('The part after @ is not a valid domain.'));
  return E.right(address as Email);
};

const invalid = (message: string): FlowError => flowError('email_invalid', message, { field: 'email' });

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

const isMailDomain = (domain: string): boolean => {
  const labels = domain.split('.');
  const top = domain.slice(domain.lastIndexOf('.') + 1);
  return (
    labels.length >= 2 &&
    TOP_LABEL.test(top) &&
    labels.every((label) => LABEL.test(label) && (!RESERVED_LABEL.test(label) || label.startsWith('xn--')))
  );
};

const isCanonicalEmail = (s: string): boolean => {
  const parsed = parseEmail(s);
  return E.isRight(parsed) && parsed.right === s;
};

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/**
 * An address for showing to its owner after a check passed: `a***@example.com`. The mask has a
 * fixed width so it does not tell the local part's length; the domain stays, as mail providers
 * show it.
 */
export const maskEmail = (email: Email): string => {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const visible = local.length > 1 ? local.slice(0, 1) : '';
  return `${visible}***${email.slice(at)}`;
};
