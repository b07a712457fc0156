/**
 * One way to turn io-ts failures into a typed error that says what was wrong and where,
 * without echoing the value (it may be a password or a megabyte of junk).
 */
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { type ErrorCode, type FlowError, flowError } from './errors.ts';

const pathOf = (error: t.ValidationError): string =>
  error.context
    .map((entry) => entry.key)
    .filter((key) => key !== '' && !/^\d+$/.test(key))
    .join('.');

/**
 * Decodes `raw`, or names the first field that failed and the type it should have had.
 *
 * @example
 * decodeWith(t.type({ phone: t.string }), body, 'invalid_input'); // Left: "phone: expected string"
 */
export const decodeWith = <A>(codec: t.Decoder<unknown, A>, raw: unknown, code: ErrorCode = 'invalid_input'): E.Either<FlowError, A> => {
  const result = codec.decode(raw);
  if (E.isRight(result)) return result;
  const first = result.left[0];
  const field = first === undefined ? '' : pathOf(first);
  const expected = first?.context[first.context.length - 1]?.type.name ?? codec.name;
  const where = field === '' ? 'the input' : field;
  return E.left(flowError(code, `${where}: expected ${expected.slice(0, 200)}`, field === '' ? {} : { field }));
};

/**
 * A codec for `{ type, ...fields }` events that first reads `type` and then decodes the fields
 * of that one event, so an error names the field that is wrong rather than every union member.
 * Extra fields are stripped: nothing a client adds reaches a machine.
 */
export const eventCodec = <M extends Record<string, t.Props>>(name: string, members: M, io: typeof import('io-ts')) => {
  type Out = { [K in keyof M]: { readonly type: K } & t.TypeOfProps<M[K]> }[keyof M];
  const bodies = Object.fromEntries(Object.entries(members).map(([type, props]) => [type, io.exact(io.type(props))])) as Record<string, t.Mixed>;
  const typeCodec = io.type({ type: io.keyof(Object.fromEntries(Object.keys(members).map((k) => [k, null])) as Record<string, null>) });
  return new io.Type<Out, unknown, unknown>(
    name,
    // A type the tag codec knows always has a body.
    (u): u is Out => typeCodec.is(u) && (bodies[(u as { type: string }).type] as t.Mixed).is(u),
    (u, context) => {
      const tagged = typeCodec.validate(u, context);
      if (tagged._tag === 'Left') return tagged;
      const type = tagged.right.type;
      const body = (bodies[type] as t.Mixed).validate(u, context);
      return body._tag === 'Left' ? body : io.success({ ...(body.right as object), type } as Out);
    },
    (a) => a,
  );
};
