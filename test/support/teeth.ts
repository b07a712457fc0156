/**
 * A "has teeth" check: a planted bug must make the property fail. Skipped under mutation testing
 * (`stryker.config.mjs` sets AF_MUTATION): such a check expects a failure, so a mutant cannot
 * turn it red, and it would repeat hundreds of runs for every mutant it covers.
 */
import { it } from 'vitest';

export const itHasTeeth = it.skipIf(process.env['AF_MUTATION'] === '1');
