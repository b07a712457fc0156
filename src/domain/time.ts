/**
 * Time in account-flows is data: an instant is milliseconds since the Unix epoch, always
 * handed in by the host's clock port, never read from the environment.
 */
export type Instant = number;
export type Duration = number;

export const SECOND: Duration = 1_000;
export const MINUTE: Duration = 60 * SECOND;
export const HOUR: Duration = 60 * MINUTE;
export const DAY: Duration = 24 * HOUR;

/**
 * A deadline has passed when `now` has reached it: the boundary belongs to the expired side,
 * so a code submitted exactly at its expiry time is refused.
 */
export const hasPassed = (deadline: Instant, now: Instant): boolean => now >= deadline;
