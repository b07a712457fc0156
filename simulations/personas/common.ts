/**
 * Building blocks personas share: waiting for a code the way a person does (look, wait, ask
 * again after the cooldown the screen quotes), and the minutes and seconds people take.
 */
import type { Driver } from '../sim.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

export interface Patience {
  /** How long the person waits before looking for the code, and between looks. */
  readonly lookEvery: readonly [number, number];
  /** After this long without a code the person asks for a new one (FAQ: "can't receive"). */
  readonly giveUpAfter: number;
  /** How many times the person asks again before leaving. */
  readonly maxResends: number;
}

export const PATIENT: Patience = { lookEvery: [5 * SECOND, 40 * SECOND], giveUpAfter: 2 * MINUTE, maxResends: 3 };

/**
 * Calls `use(code)` once a code for this flow (newer than the last one used) is on the
 * person's screen; asks again when none arrives, respecting the wait the flow quotes.
 */
export const whenCodeArrives = (driver: Driver, patience: Patience, use: (code: string) => Promise<void>, onGiveUp: () => Promise<void>): void => {
  const usedBefore = (driver.notes['usedCodes'] as Set<string> | undefined) ?? new Set<string>();
  driver.notes['usedCodes'] = usedBefore;
  let waited = 0;
  let resends = 0;
  const look = async (): Promise<void> => {
    if (driver.done) return;
    const code = driver.latestCode();
    if (code !== null && !usedBefore.has(code)) {
      usedBefore.add(code);
      await use(code);
      return;
    }
    const pause = driver.rng.int(patience.lookEvery[0], patience.lookEvery[1]);
    waited += pause;
    if (waited < patience.giveUpAfter) {
      driver.later(pause, look);
      return;
    }
    if (resends >= patience.maxResends) {
      await onGiveUp();
      return;
    }
    const allowedAt = (driver.last?.view['resendAllowedAt'] as number | null | undefined) ?? 0;
    const wait = Math.max(0, allowedAt - driver.sim.world.clock.now());
    driver.later(wait, async () => {
      if (driver.done) return;
      resends++;
      waited = 0;
      await driver.send({ type: 'code.resend' });
      driver.later(driver.rng.int(patience.lookEvery[0], patience.lookEvery[1]), look);
    });
  };
  driver.later(driver.rng.int(patience.lookEvery[0], patience.lookEvery[1]), look);
};

/** A six-digit guess. */
export const guess = (driver: Driver): string => driver.rng.digits(6);

/**
 * How a person leaves the optional security review after a reset: mostly "done", sometimes a
 * cancel, sometimes nothing at all (the flow's lifetime then ends the review). Each must end
 * the flow as recovered, since the password did change.
 */
export const leaveReview = async (driver: Driver, send: (event: { readonly type: string }) => Promise<unknown>): Promise<void> => {
  const roll = driver.rng.int(0, 19);
  if (roll === 0) return;
  await send({ type: roll === 1 ? 'flow.cancel' : 'security.done' });
};

/** Leaves the flow to time out, as people do. */
export const abandon = async (): Promise<void> => {};

/**
 * A planned outage around a resend: the resend is saved, the host dies before sending, and it
 * stays down past the code's expiry. When it is back, the delayed send is refused by the
 * budget (five sends already this hour) or dropped by the provider — so the result reaches a
 * flow whose code has meanwhile expired.
 */
export const resendThroughOutage = (
  driver: Driver,
  send: (event: { readonly type: string }) => Promise<unknown>,
  refuse: boolean,
  /** E-mail codes expire only with their link, an hour on: the outage must outlast that. */
  options: { readonly outageMs?: number; readonly beforeComeback?: (comebackAt: number) => void } = {},
): void => {
  const flowId = driver.flowId;
  if (flowId === null) return;
  let sends = 1;
  const resend = async (): Promise<void> => {
    if (driver.done) return;
    if (sends < (refuse && options.outageMs === undefined ? 5 : 1)) {
      sends++;
      await send({ type: 'code.resend' });
      driver.later(61 * SECOND, resend);
      return;
    }
    driver.notes['outage'] = options.outageMs ?? true;
    driver.sim.store.crashNext.add(flowId);
    if (!refuse) driver.sim.messenger.dropNext.add(flowId);
    await send({ type: 'code.resend' });
    if (options.outageMs !== undefined) options.beforeComeback?.(driver.sim.world.clock.now() + options.outageMs);
  };
  driver.later(61 * SECOND, resend);
};
