/**
 * The policy as a Markdown table, with each default's source. The README's table is this
 * function's output (a test keeps them equal), so the documentation cannot drift from code.
 */
import { type Policy, POLICY_SOURCES, type RateRule } from './policy.ts';
import { DAY, HOUR, MINUTE, SECOND } from './time.ts';

const isDurationField = (path: string): boolean => /Ms$/.test(path);

export const formatDuration = (ms: number): string => {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['min', MINUTE], ['s', SECOND]] as const) {
    if (ms % size === 0) return `${ms / size} ${unit}`;
  }
  return `${ms} ms`;
};

const formatRule = (rule: RateRule): string => {
  const windows = rule.windows.map((w) => `${w.limit} per ${formatDuration(w.windowMs)}`).join(', ');
  return rule.cooldownMs > 0 ? `${windows}; ${formatDuration(rule.cooldownMs)} apart` : windows;
};

const isRule = (value: unknown): value is RateRule => typeof value === 'object' && value !== null && 'windows' in value && 'cooldownMs' in value;

const rows = (value: unknown, path: string): [string, string][] => {
  if (isRule(value)) return [[path, formatRule(value)]];
  if (Array.isArray(value)) return [[path, value.join(', ')]];
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, child]) => rows(child, path === '' ? key : `${path}.${key}`));
  }
  return [[path, typeof value === 'number' && isDurationField(path) ? formatDuration(value) : String(value)]];
};

/** The most specific source recorded for a field: its own, else its parent's. */
const sourceOf = (path: string): string => {
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const source = POLICY_SOURCES[p];
    if (source !== undefined) return source;
  }
  return '';
};

export const policyTable = (policy: Policy): string =>
  ['| field | default | source |', '| --- | --- | --- |', ...rows(policy, '').map(([path, value]) => `| \`${path}\` | ${value} | ${sourceOf(path)} |`)].join('\n');
