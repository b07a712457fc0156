/**
 * A manual-review ticket as data: the evidence a person offers that an account is theirs (seed
 * 001's list: nickname, company or team, frequent contacts, past devices or login places, the
 * former phone, and an address support can reach them at), the conversation with support, and
 * the retention rule that deletes both once the ticket has closed.
 *
 * Evidence is personal data about the claimant and about third parties (the contacts they
 * name), so every field has a hard length limit at the boundary and the whole of it has a
 * deletion date (GDPR Art. 5(1)(e), storage limitation).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { parseEmail } from './email.ts';
import { type FlowError, flowError } from './errors.ts';
import type { Policy } from './policy.ts';
import { hasPassed, type Instant } from './time.ts';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Limits a support agent can still read through; anything longer is junk or an attack. */
export const EVIDENCE_LIMITS = {
  /** One short item: a nickname, a team, a device name, a place. */
  text: 100,
  /** At most this many contacts, devices or places. */
  items: 10,
  /** A free-text answer to an agent's question. */
  answer: 1_000,
  /** An agent's question or a rejection reason. */
  note: 500,
  formerPhone: 32,
} as const;

/** A string of at most `max` UTF-16 units; the name says the limit, so a decode error does too. */
export const boundedString = (max: number): t.Type<string, string, unknown> => {
  const is = (u: unknown): u is string => typeof u === 'string' && u.length <= max;
  return new t.Type<string, string, unknown>(`string (at most ${max} characters)`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
};

/** A list of at most `maxItems` bounded strings. */
export const boundedList = (maxItems: number, maxLength: number): t.Type<readonly string[], readonly string[], unknown> => {
  const item = boundedString(maxLength);
  const list = t.readonlyArray(item);
  return new t.Type<readonly string[], readonly string[], unknown>(
    `list of at most ${maxItems} items of ${item.name}`,
    (u): u is readonly string[] => list.is(u) && u.length <= maxItems,
    (u, c) => {
      const decoded = list.validate(u, c);
      if (decoded._tag === 'Left') return decoded;
      return decoded.right.length <= maxItems ? t.success(decoded.right) : t.failure(u, c);
    },
    t.identity,
  );
};

const optional = <C extends t.Mixed>(codec: C) => t.union([codec, t.undefined]);

/** The fields of `evidence.submit` as a client sends them: everything but the contact is optional. */
export const EvidenceInputProps = {
  nickname: optional(boundedString(EVIDENCE_LIMITS.text)),
  team: optional(boundedString(EVIDENCE_LIMITS.text)),
  frequentContacts: optional(boundedList(EVIDENCE_LIMITS.items, EVIDENCE_LIMITS.text)),
  pastDevices: optional(boundedList(EVIDENCE_LIMITS.items, EVIDENCE_LIMITS.text)),
  loginPlaces: optional(boundedList(EVIDENCE_LIMITS.items, EVIDENCE_LIMITS.text)),
  formerPhone: optional(boundedString(EVIDENCE_LIMITS.formerPhone)),
  /** Where support can reach the claimant, who by definition lost the bound channels. */
  contactEmail: boundedString(320),
};
export const EvidenceInput = t.type(EvidenceInputProps, 'EvidenceInput');
export type EvidenceInput = t.TypeOf<typeof EvidenceInput>;

/** Evidence as the flow keeps it while the ticket is open: trimmed, blanks dropped. */
export const Evidence = t.readonly(
  t.type({
    nickname: t.union([t.string, t.null]),
    team: t.union([t.string, t.null]),
    frequentContacts: t.readonlyArray(t.string),
    pastDevices: t.readonlyArray(t.string),
    loginPlaces: t.readonlyArray(t.string),
    formerPhone: t.union([t.string, t.null]),
    contactEmail: t.string,
  }),
  'Evidence',
);
export type Evidence = t.TypeOf<typeof Evidence>;

/** One question from support and the claimant's answer to it. */
export const Exchange = t.readonly(
  t.type({
    question: t.string,
    askedAt: t.number,
    /** The agent who asked, as the host's session named them. */
    askedBy: t.string,
    answer: t.union([t.string, t.null]),
    answeredAt: t.union([t.number, t.null]),
  }),
  'Exchange',
);
export type Exchange = t.TypeOf<typeof Exchange>;

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

const clean = (s: string | undefined): string | null => {
  const trimmed = s?.normalize('NFKC').trim() ?? '';
  return trimmed === '' ? null : trimmed;
};

const cleanList = (items: readonly string[] | undefined): readonly string[] => [
  ...new Set((items ?? []).map((s) => clean(s)).filter((s): s is string => s !== null)),
];

/**
 * Evidence from decoded input, or why not: the contact must be one valid address, and there
 * must be something to review besides it.
 *
 * @example
 * evidenceFromInput({ nickname: ' Xiaoming ', contactEmail: 'me@example.com' });
 * // Right({ nickname: 'Xiaoming', team: null, frequentContacts: [], …, contactEmail: 'me@example.com' })
 */
export const evidenceFromInput = (input: EvidenceInput): E.Either<FlowError, Evidence> => {
  const contact = parseEmail(input.contactEmail);
  if (E.isLeft(contact)) return E.left({ ...contact.left, field: 'contactEmail' });
  const evidence: Evidence = {
    nickname: clean(input.nickname),
    team: clean(input.team),
    frequentContacts: cleanList(input.frequentContacts),
    pastDevices: cleanList(input.pastDevices),
    loginPlaces: cleanList(input.loginPlaces),
    formerPhone: clean(input.formerPhone),
    contactEmail: contact.right,
  };
  return hasSubstance(evidence)
    ? E.right(evidence)
    : E.left(flowError('invalid_input', 'Tell us at least one thing about the account: a nickname, team, contacts, devices, places or a former phone.', { field: 'evidence' }));
};

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/** Whether there is anything for an agent to compare with the account. */
export const hasSubstance = (e: Evidence): boolean =>
  e.nickname !== null || e.team !== null || e.formerPhone !== null || e.frequentContacts.length + e.pastDevices.length + e.loginPlaces.length > 0;

/** When evidence of a ticket closed at `closedAt` must be gone. */
export const evidenceRetainedUntil = (closedAt: Instant, policy: Pick<Policy, 'review'>): Instant => closedAt + policy.review.evidenceRetentionMs;

/** Whether the retention limit has been reached: the boundary belongs to deletion. */
export const retentionOver = (closedAt: Instant | null, at: Instant, policy: Pick<Policy, 'review'>): boolean =>
  closedAt !== null && hasPassed(evidenceRetainedUntil(closedAt, policy), at);
