/**
 * The invariants of the two human-vetted recovery paths — friends who vouch, support who reviews —
 * judged by the harness's ledger (what the personas did and when) and the population, never by
 * what the machines keep in their context. The catalogue's statements live in `invariants.ts`.
 */
import type { AccountId } from '../src/domain/account.ts';
import type { StepObservation } from '../src/runtime/runtime.ts';
import type { InvariantBook } from './invariants.ts';
import type { Ledger } from './ledger.ts';
import type { Driver, Sim } from './sim.ts';

interface EffectLike {
  readonly type: string;
  readonly params: { readonly key?: string; readonly rule?: string };
}

const VOUCH_PREFIX = 'vouches:';

export class PathChecks {
  constructor(
    private readonly sim: Sim,
    private readonly book: InvariantBook,
    private readonly ledger: Ledger,
  ) {}

  onStep(step: StepObservation, driver: Driver | undefined): void {
    if (step.machine === 'friendAssist') this.#friends(step, driver);
    else if (step.machine === 'manualReview' && step.event === 'secondFactor.reset') {
      const accountId = (step.to.context as { subject?: { accountId: string } | null }).subject?.accountId;
      if (accountId !== undefined) this.ledger.factorReset(accountId as AccountId, step.at);
    }
  }

  #friends(step: StepObservation, driver: Driver | undefined): void {
    const record = this.ledger.friendRecordOf(driver);
    if (record === undefined) return;
    // The port's answers to the flow's requests to spend a vouch, in the order its outbox asked.
    if ((step.event === 'budget.allowed' || step.event === 'budget.refused') && (step.from.matches('awaitingFriends') || step.from.matches('disputeWait'))) {
      const answer = this.ledger.answered(record, step.event === 'budget.allowed', step.at);
      // One vouch a cooldown, whichever flows race for it: the port may allow only the first.
      if (answer !== undefined && step.event === 'budget.allowed') {
        this.book.check('friends-count-once', !answer.again, driver, () => `${answer.friendId}'s vouch counted at ${step.at}, though it had counted within the cooldown`);
      }
    }
    for (const entry of step.effects) {
      const effect = entry.effect as EffectLike;
      if (effect.type !== 'consumeBudget' || effect.params.rule !== 'friends.vouches') continue;
      // The flow decided a confirmation counts: the harness must have judged that one countable.
      const friendId = (effect.params.key ?? '').slice(VOUCH_PREFIX.length) as AccountId;
      this.ledger.askedToSpend(record, friendId);
      const sent = [...record.confirmations].reverse().find((c) => c.friendId === friendId && !c.retracted);
      this.book.check('friends-count-once', sent !== undefined && sent.reason === null, driver, () =>
        sent === undefined ? `a confirmation by ${friendId} counted, but that friend never confirmed` : `a confirmation by ${friendId} at ${sent.at} counted, but it was ${sent.reason}`,
      );
    }
    if (step.from.matches('awaitingFriends') && step.to.matches('disputeWait')) {
      const friends = new Set(this.ledger.counted(record).map((c) => c.friendId));
      const { required } = this.sim.world.policy.friends;
      this.book.check('friends-count-once', friends.size >= required, driver, () => `quorum reached at ${step.at} with ${friends.size} countable confirmations of ${required}`);
    }
  }

  /**
   * A password changed on the friends path. Returns whether the path's challenge passed by the
   * harness's account: a quorum of countable confirmations, the dispute wait since the one that
   * completed it, and no refusal by a friend who was named.
   */
  friendsPasswordChanged(step: StepObservation, driver: Driver): boolean {
    const record = this.ledger.friendRecordOf(driver);
    const { required, disputeWaitMs } = this.sim.world.policy.friends;
    const counted = record === undefined ? [] : [...this.ledger.counted(record)].sort((a, b) => a.at - b.at);
    const quorum = counted[required - 1];
    this.book.check('friends-count-once', quorum !== undefined, driver, () => `the password changed with ${counted.length} countable confirmations of ${required}`);
    const refusals = record?.refusals ?? [];
    const waited = quorum !== undefined && step.at >= quorum.at + disputeWaitMs;
    if (quorum !== undefined && !waited) this.book.check('password-after-challenge', false, driver, () => `the password changed at ${step.at}, before the dispute wait from the quorum at ${quorum.at} ended`);
    if (refusals.length > 0) this.book.check('password-after-challenge', false, driver, () => `the password changed after ${refusals[0]?.friendId}, a named friend, refused at ${refusals[0]?.at}`);
    this.#ownerStops(step, driver, record?.ownerStops ?? []);
    return quorum !== undefined && waited && refusals.length === 0;
  }

  /** A password changed on the review path: only after an approval and an undisputed dispute window. */
  reviewPasswordChanged(step: StepObservation, driver: Driver): boolean {
    const record = this.ledger.reviewRecordOf(driver);
    const approval = record?.approval ?? null;
    const { disputeWindowMs } = this.sim.world.policy.review;
    const stops = record?.ownerStops ?? [];
    const rejectedAt = record?.rejectedAt ?? null;
    this.book.check('review-dispute-window', approval !== null, driver, () => `the password changed at ${step.at} without an approval`);
    if (approval !== null) {
      this.book.check('review-dispute-window', step.at >= approval.at + disputeWindowMs, driver, () => `the password changed at ${step.at}, before the window of the approval at ${approval.at} ended`);
      this.book.check('review-dispute-window', stops.length === 0 && rejectedAt === null, driver, () =>
        rejectedAt !== null ? `the password changed after support upheld a dispute at ${rejectedAt}` : `the password changed after the owner disputed it at ${stops[0]}`,
      );
    }
    this.#ownerStops(step, driver, stops);
    return approval !== null && rejectedAt === null;
  }

  /** Whether the review that changed this password had an approval that reset the second factor. */
  reviewResetFactor(driver: Driver): boolean {
    return this.ledger.reviewRecordOf(driver)?.approval?.resetSecondFactor === true;
  }

  #ownerStops(step: StepObservation, driver: Driver, stops: readonly number[]): void {
    const before = stops.filter((at) => at <= step.at);
    this.book.check('owner-stop-wins', before.length === 0, driver, () => `the owner stopped the recovery at ${before[0]}; the password changed anyway at ${step.at}`);
  }

  /**
   * At the end: nothing a stopped recovery set in motion landed after the stop. Both a new
   * password and a second-factor reset tell the account's channels (the `notify` messages), so
   * the first hand-over of such a message says when the change happened.
   */
  async finish(): Promise<void> {
    const firstNotice = new Map<string, number>();
    for (const [key, attempt] of this.sim.messenger.attempts) {
      if (!key.includes(':notify:')) continue;
      const flowId = key.split(':')[0] as string;
      firstNotice.set(flowId, Math.min(firstNotice.get(flowId) ?? Number.POSITIVE_INFINITY, attempt.at));
    }
    for (const driver of this.sim.drivers) {
      const record = this.ledger.friendRecordOf(driver) ?? this.ledger.reviewRecordOf(driver);
      const refused = record?.refusedStops ?? [];
      if (record !== undefined && record.ownerStops.length > 0) {
        this.book.check('owner-stop-wins', refused.length === 0, driver, () => `the owner's stop at ${refused[0]}, from a live session before any new password, was refused`);
      }
      const stops = record?.ownerStops ?? [];
      if (stops.length === 0 || driver.flowId === null) continue;
      const stoppedAt = Math.min(...stops);
      const changedAt = firstNotice.get(driver.flowId);
      this.book.check('owner-stop-wins', changedAt === undefined || changedAt < stoppedAt, driver, () => `the owner stopped the recovery at ${stoppedAt}; it changed the account at ${changedAt} anyway`);
    }
    // A second factor disappears only by a review whose approval said to reset it.
    for (const person of this.sim.population.people) {
      if (person.totpSecret === null) continue;
      const { totp } = await this.sim.world.secondFactors.status(person.id);
      if (totp) continue;
      const resetBy = this.sim.drivers.some((d) => this.ledger.reviewRecordOf(d)?.account === person.id && this.ledger.reviewRecordOf(d)?.approval?.resetSecondFactor === true);
      this.book.check('no-2fa-bypass', resetBy, undefined, () => `the second factor of ${person.id} was removed without a review approval that reset it`);
    }
    this.#nominationMarks();
  }

  /** Every nomination of an active account marked it "under recovery", no earlier than it was made. */
  #nominationMarks(): void {
    for (const [accountId, times] of this.ledger.nominations) {
      const marks = this.sim.world.budgets.spent(`recovering:${accountId}`);
      for (const at of times) {
        this.book.check('friends-count-once', marks.some((m) => m >= at), undefined, () => `the nomination of ${accountId} at ${at} left no "under recovery" mark`);
      }
    }
  }
}
