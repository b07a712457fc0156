import type { RealNameProvider, RealNameSubmission } from '../../ports/realNameProvider.ts';

/** Accepts every submission and remembers it; the verdict is sent to the flow by the test. */
export class MemoryRealNameProvider implements RealNameProvider {
  readonly submissions: RealNameSubmission[] = [];
  readonly #seen = new Set<string>();

  constructor(private readonly available: () => boolean = () => true) {}

  async submit(request: RealNameSubmission, idempotencyKey: string): Promise<{ readonly accepted: boolean }> {
    if (!this.available()) return { accepted: false };
    if (!this.#seen.has(idempotencyKey)) {
      this.#seen.add(idempotencyKey);
      this.submissions.push(request);
    }
    return { accepted: true };
  }
}
