// The campaign workflow on the time-skipping test server: digests at each point before the due
// date (past points skipped), escalation, the rule at the due date, cancellation.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { CampaignActivities } from '../../activities/access-review-campaign.ts';
import { accessReviewCampaign, cancelCampaign } from '../../workflows/access-review-campaign.ts';
import { timeSkippingSuite } from '../support/time-skipping.ts';

const DAY = 86_400_000;
const suite = timeSkippingSuite();

interface Call {
  name: string;
  at: number;
  kind?: string;
  part?: string;
  status?: string;
}

function fakeActivities(calls: Call[], closing: Promise<void> = Promise.resolve()): CampaignActivities {
  const at = () => Context.current().info.currentAttemptScheduledTimestampMs;
  return {
    async materializeCampaign() {
      calls.push({ name: 'materialize', at: at() });
      return { items: 3, parts: ['P', 'D1', 'D2'] };
    },
    async sendReviewDigests({ kind, underUnitCode }) {
      calls.push({ name: 'digest', at: at(), kind, part: underUnitCode });
      return 1;
    },
    async escalateCampaign({ underUnitCode }) {
      calls.push({ name: 'escalate', at: at(), part: underUnitCode });
    },
    async applyCampaignRule({ underUnitCode }) {
      calls.push({ name: 'rule', at: at(), part: underUnitCode });
      return 1;
    },
    async closeCampaign({ status }) {
      calls.push({ name: 'close', at: at(), status });
      await closing;
    },
    async createScheduledCampaign() {
      throw new Error('not in this test');
    },
  };
}

async function run(
  dueInMs: number,
  test: (ctx: {
    handle: Awaited<ReturnType<typeof suite.env.client.workflow.start<typeof accessReviewCampaign>>>;
    calls: Call[];
    start: number;
    dueAt: number;
  }) => Promise<void>,
  closing?: Promise<void>,
) {
  const calls: Call[] = [];
  const taskQueue = `campaign-${randomUUID()}`;
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    taskQueue,
    workflowBundle: suite.bundle,
    activities: fakeActivities(calls, closing),
  });
  await worker.runUntil(async () => {
    const start = await suite.env.currentTimeMs();
    const dueAt = start + dueInMs;
    const handle = await suite.env.client.workflow.start(accessReviewCampaign, {
      taskQueue,
      workflowId: randomUUID(),
      args: [{ reviewId: randomUUID(), dueAt, remindBeforeMs: [7 * DAY, DAY], escalateBeforeMs: 2 * DAY }],
    });
    await test({ handle, calls, start, dueAt });
  });
}

describe('access review campaign workflow', () => {
  it('sends digests at 7 and 1 days before, escalates 2 days before, applies the rule at the due date, per part', async () => {
    await run(30 * DAY, async ({ handle, calls, dueAt }) => {
      await expect(handle.result()).resolves.toBe('completed');
      const digests = calls.filter((c) => c.name === 'digest');
      expect(digests.map((d) => d.kind)).toEqual([
        'new',
        'new',
        'new',
        'reminder',
        'reminder',
        'reminder',
        'escalated',
        'escalated',
        'escalated',
        'reminder',
        'reminder',
        'reminder',
      ]);
      expect(
        digests
          .slice(0, 3)
          .map((d) => d.part)
          .sort(),
      ).toEqual(['D1', 'D2', 'P']); // each part its own call
      const near = (call: Call | undefined, when: number) => {
        expect(call!.at).toBeGreaterThanOrEqual(when);
        expect(call!.at).toBeLessThan(when + 60_000);
      };
      near(digests[3], dueAt - 7 * DAY);
      near(
        calls.find((c) => c.name === 'escalate'),
        dueAt - 2 * DAY,
      );
      near(digests[9], dueAt - DAY);
      const rules = calls.filter((c) => c.name === 'rule');
      expect(rules.map((r) => r.part).sort()).toEqual(['D1', 'D2', 'P']);
      for (const rule of rules) near(rule, dueAt);
      expect(calls.at(-1)).toMatchObject({ name: 'close', status: 'completed' });
    });
  }, 60_000);

  it('skips the points that already lie in the past', async () => {
    await run(1.5 * DAY, async ({ handle, calls }) => {
      await expect(handle.result()).resolves.toBe('completed');
      expect(calls.filter((c) => c.name === 'digest').map((d) => d.kind)).toEqual(['new', 'new', 'new', 'reminder', 'reminder', 'reminder']);
      expect(calls.some((c) => c.name === 'escalate')).toBe(false);
    });
  }, 60_000);

  it('cancels: nothing is applied afterwards, and a second cancel is refused', async () => {
    // The campaign is held open while it closes, so the second cancel reaches the running workflow.
    let close!: () => void;
    const closing = new Promise<void>((resolve) => {
      close = resolve;
    });
    await run(
      30 * DAY,
      async ({ handle, calls }) => {
        await suite.env.sleep(10 * DAY);
        const first = await handle.startUpdate(cancelCampaign, { args: [{ actorAccountId: 'admin' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        await expect.poll(() => calls.at(-1)).toMatchObject({ name: 'close', status: 'cancelled' });
        const again = await handle.executeUpdate(cancelCampaign, { args: [{ actorAccountId: 'admin' }] }).catch((e: unknown) => e);
        expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((again as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'NotRunning' });
        close();
        await expect(first.result()).resolves.toBe('cancelled');
        await expect(handle.result()).resolves.toBe('cancelled');
        expect(calls.some((c) => c.name === 'rule')).toBe(false);
        expect(calls.filter((c) => c.name === 'close')).toHaveLength(1);
      },
      closing,
    );
  }, 60_000);
});
