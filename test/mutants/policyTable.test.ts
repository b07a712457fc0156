import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { makePolicy } from '../../src/domain/policy.ts';
import { formatDuration, policyTable } from '../../src/domain/policyTable.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../../src/domain/time.ts';

describe('formatDuration', () => {
  it('should use the largest unit that divides the duration', () => {
    expect(formatDuration(0)).toBe('0');
    expect(formatDuration(2 * DAY)).toBe('2 d');
    expect(formatDuration(25 * HOUR)).toBe('25 h');
    expect(formatDuration(90 * MINUTE)).toBe('90 min');
    expect(formatDuration(61 * SECOND)).toBe('61 s');
    expect(formatDuration(1_500)).toBe('1500 ms');
    expect(formatDuration(1)).toBe('1 ms');
  });
});

describe('policyTable', () => {
  it('should print rules, lists, booleans, counts and times of any policy, each with its source', () => {
    const policy = makePolicy({
      sends: { windows: [{ limit: 3, windowMs: 90 * SECOND }], cooldownMs: 1_500 },
      phone: { allowedRegions: ['HK', 'MO'], mobileOnly: false },
      code: { ttlMs: 61 * SECOND, flowLockMs: 1 },
    });
    if (E.isLeft(policy)) return expect.fail(policy.left.message);
    const lines = policyTable(policy.right).split('\n');
    expect(lines.slice(0, 2)).toEqual(['| field | default | source |', '| --- | --- | --- |']);
    const row = (field: string) => lines.find((line) => line.startsWith(`| \`${field}\` |`));
    expect(row('sends')).toMatch(/^\| `sends` \| 3 per 90 s; 1500 ms apart \| Amazon Cognito/);
    expect(row('accountFailures')).toMatch(/^\| `accountFailures` \| 100 per 1 h \| ASVS 2\.2\.1/);
    expect(row('phone.allowedRegions')).toMatch(/^\| `phone\.allowedRegions` \| HK, MO \| seed 002/);
    expect(row('phone.mobileOnly')).toMatch(/^\| `phone\.mobileOnly` \| false \| seed 002/);
    expect(row('code.ttlMs')).toMatch(/^\| `code\.ttlMs` \| 61 s \| NIST SP 800-63B §5\.1\.3\.2/);
    expect(row('code.flowLockMs')).toMatch(/^\| `code\.flowLockMs` \| 1 ms \| one hour, the shortest send window \|$/);
    expect(row('code.digits')).toMatch(/^\| `code\.digits` \| 6 \| ASVS/);
    expect(row('friends.maxReplacements')).toMatch(/^\| `friends\.maxReplacements` \| 2 \| a friend who does not answer/);
    expect(row('totp.issuer')).toBe('| `totp.issuer` | account-flows | Google Authenticator Key Uri Format (issuer names the service in the app) |');
    expect(row('flowMaxLifetimeMs')).toMatch(/^\| `flowMaxLifetimeMs` \| 30 d \| bounds every flow/);
  });
});
