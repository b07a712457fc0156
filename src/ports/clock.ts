import type { Instant } from '../domain/time.ts';

/** The only source of "now". Hosts pass a wall clock; tests and the simulation a virtual one. */
export interface Clock {
  now(): Instant;
}
