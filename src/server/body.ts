/**
 * Request bodies: JSON only, small, and parsed here so every way a body can be wrong is a
 * problem with its own code (415, 400, 413) before any flow sees it.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HttpProblemCode } from './problem.ts';

/** Ample for every event of every flow (the largest, manual-review evidence, is a few KiB). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

export interface BodyError {
  readonly code: Extract<HttpProblemCode, 'unsupported_media_type' | 'malformed_json'>;
  readonly detail: string;
}

const isJsonMediaType = (contentType: string | undefined): boolean => {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json' || (media !== undefined && /^application\/[a-z0-9.+-]+\+json$/.test(media));
};

/**
 * Parses a body already read as text. An empty body is `{}` where the route allows it
 * (`optional`), so `POST /flows/registration` needs no body at all.
 *
 * @example
 * parseJsonBody('{"type":"code.resend"}', 'application/json', false); // Right({ type: 'code.resend' })
 */
export const parseJsonBody = (text: string, contentType: string | undefined, optional: boolean): E.Either<BodyError, unknown> => {
  if (text.trim() === '') {
    return optional ? E.right({}) : E.left({ code: 'malformed_json', detail: 'The request has no body; a JSON object is expected.' });
  }
  if (!isJsonMediaType(contentType)) return E.left({ code: 'unsupported_media_type', detail: 'Send the body as application/json.' });
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch {
    // The parser's own message quotes the input; say only that it is not JSON.
    return E.left({ code: 'malformed_json', detail: 'The body is not valid JSON.' });
  }
};
