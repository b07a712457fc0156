import type { CodeCheck, CodeState } from '../../domain/verificationCode.ts';
import type { CodeSecrets } from '../../ports/codeSecrets.ts';

type Check = Omit<CodeCheck, 'hostKey'>;
type Result = ReturnType<CodeSecrets['check']>;

interface Remembered {
  readonly binding: CodeState['binding'];
  readonly flowId: string;
  readonly purpose: string;
  readonly epoch: number;
  readonly nonce: string;
  readonly counter: number;
  readonly expiresAt: number;
  readonly wrongForCode: number;
  readonly wrongForFlow: number;
  readonly used: boolean;
  readonly check: Check;
  readonly result: Result;
}

const same = (r: Remembered, state: CodeState, check: Check): boolean =>
  r.binding === state.binding &&
  r.flowId === state.binding.flowId &&
  r.purpose === state.binding.purpose &&
  r.epoch === state.binding.epoch &&
  r.nonce === state.binding.nonce &&
  r.counter === state.counter &&
  r.expiresAt === state.expiresAt &&
  r.wrongForCode === state.wrongForCode &&
  r.wrongForFlow === state.wrongForFlow &&
  r.used === state.used &&
  r.check.submitted === check.submitted &&
  r.check.now === check.now &&
  r.check.kind === check.kind &&
  r.check.policy === check.policy &&
  r.check.expected.flowId === check.expected.flowId &&
  r.check.expected.purpose === check.expected.purpose &&
  r.check.expected.epoch === check.expected.epoch;

/**
 * Remembers the last check made of each code state. A machine asks the same question of one
 * step up to five times — each guard of a `code.submit` and then the action it picks — and
 * every answer costs two HMACs; the check is pure, so the first answer serves the rest. Keyed
 * by the state object (states are immutable and die with their snapshots, and so does the
 * entry), and the fields are compared too, so a state changed in place is checked afresh.
 */
export const rememberingChecks = (secrets: CodeSecrets): CodeSecrets => {
  const last = new WeakMap<CodeState, Remembered>();
  return {
    code: (binding, counter, digits) => secrets.code(binding, counter, digits),
    linkToken: (binding, counter) => secrets.linkToken(binding, counter),
    secretBytes: (label, fields, length) => secrets.secretBytes(label, fields, length),
    check: (state, check) => {
      const remembered = last.get(state);
      if (remembered !== undefined && same(remembered, state, check)) return remembered.result;
      const result = secrets.check(state, check);
      const { binding } = state;
      last.set(state, { binding, flowId: binding.flowId, purpose: binding.purpose, epoch: binding.epoch, nonce: binding.nonce, counter: state.counter, expiresAt: state.expiresAt, wrongForCode: state.wrongForCode, wrongForFlow: state.wrongForFlow, used: state.used, check, result });
      return result;
    },
  };
};
