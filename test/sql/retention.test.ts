import { describe, expect, it } from 'vitest';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import { FLOW_RETENTION, sweepFlows } from '../../src/adapters/sql/index.ts';
import { DEFAULT_POLICY } from '../../src/domain/policy.ts';
import { DAY } from '../../src/domain/time.ts';
import { type FlowEnvelope, SCHEMA_VERSION } from '../../src/runtime/envelope.ts';

const NOW = Date.UTC(2026, 6, 1);

const envelope = (flowId: string, updatedAt: number): FlowEnvelope => ({
  flowId,
  machine: 'registration',
  machineVersion: 1,
  schemaVersion: SCHEMA_VERSION,
  version: 1,
  createdAt: updatedAt,
  updatedAt,
  snapshot: { value: 'idle', context: {}, status: 'active' },
  outbox: [],
  replies: [],
});

describe('the flow clean-up schedule', () => {
  it('should keep finished flows 7 days and any flow the policy lifetime plus a day, to the millisecond', async () => {
    expect(FLOW_RETENTION).toEqual({ finishedKeptMs: 7 * DAY, abandonedGraceMs: DAY, sweepEveryMs: DAY / 24 });
    const store = new MemoryFlowStore();
    const finished = { nextDeadline: null, pendingEffects: 0, finished: true };
    const active = { nextDeadline: NOW + 1, pendingEffects: 1, finished: false };
    const abandonedAt = NOW - DEFAULT_POLICY.flowMaxLifetimeMs - DAY;
    await store.insert(envelope('finished-8d', NOW - 8 * DAY), finished);
    await store.insert(envelope('finished-7d-1ms', NOW - 7 * DAY - 1), finished);
    await store.insert(envelope('finished-7d', NOW - 7 * DAY), finished);
    await store.insert(envelope('active-lifetime+1d+1ms', abandonedAt - 1), active);
    await store.insert(envelope('active-lifetime+1d', abandonedAt), active);
    await store.insert(envelope('active-8d', NOW - 8 * DAY), active);
    expect(await sweepFlows(store, DEFAULT_POLICY, NOW)).toBe(3);
    expect(store.ids().sort()).toEqual(['active-8d', 'active-lifetime+1d', 'finished-7d']);
  });
});
