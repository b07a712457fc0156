import { MemoryBudgets } from '../../src/adapters/memory/budgets.ts';
import { MemoryDirectory } from '../../src/adapters/memory/directory.ts';
import { MemoryFlowStore } from '../../src/adapters/memory/flowStore.ts';
import { MemorySessions } from '../../src/adapters/memory/sessions.ts';
import { describeContract, type PortsUnderTest } from './contract.ts';

/** The memory adapters behind the contract's async helper shape. */
const memoryPorts = async (): Promise<PortsUnderTest> => {
  const store = new MemoryFlowStore();
  const budgets = new MemoryBudgets();
  const directory = new MemoryDirectory();
  const sessions = new MemorySessions();
  // The memory helpers are synchronous; the contract awaits them like the SQL ones.
  return {
    store: {
      load: (flowId) => store.load(flowId),
      insert: (envelope, index) => store.insert(envelope, index),
      replace: (envelope, expected, index) => store.replace(envelope, expected, index),
      due: (now, limit) => store.due(now, limit),
      nextDeadlineAfter: (now) => store.nextDeadlineAfter(now),
      withPendingEffects: (limit) => store.withPendingEffects(limit),
      sweep: (finishedBefore, abandonedBefore) => store.sweep(finishedBefore, abandonedBefore),
      raw: async (flowId) => store.raw(flowId),
      overwriteRaw: async (flowId, text) => store.overwriteRaw(flowId, text),
    },
    budgets: {
      consume: (key, rule, now, idempotencyKey) => budgets.consume(key, rule, now, idempotencyKey),
      peek: (key, rule, now) => budgets.peek(key, rule, now),
      release: (key, idempotencyKey) => budgets.release(key, idempotencyKey),
      spent: async (key) => budgets.spent(key),
    },
    directory,
    sessions: {
      get: (id) => sessions.get(id),
      list: (accountId) => sessions.list(accountId),
      revokeAllExcept: (accountId, keep, at, key) => sessions.revokeAllExcept(accountId, keep, at, key),
      revoke: (id, at) => sessions.revoke(id, at),
      recentLogins: (accountId, limit) => sessions.recentLogins(accountId, limit),
      signIn: async (accountId, epoch, at, device, place) => sessions.signIn(accountId, epoch, at, device, place),
      isLive: async (id, epoch) => sessions.isLive(id, epoch),
    },
    seed: {
      account: async (input) => directory.createNow(input),
      befriend: async (a, b, since) => directory.befriend(a, b, since),
      deactivate: async (id) => directory.deactivate(id),
      bumpEpoch: async (id) => directory.bumpEpoch(id),
      all: async () => directory.all(),
    },
  };
};

describeContract('memory', memoryPorts, { propertyRuns: 50 });
