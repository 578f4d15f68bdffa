// The person workflow on the time-skipping test server: events wait for 00:00 Asia/Bangkok of their
// date, apply in date order, a newer event of a type replaces a waiting one, past dates apply at once.
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { AccessReviewActivities } from '../../activities/access-review.ts';
import type { OrgTreeActivities } from '../../activities/org-tree.ts';
import type { PersonnelActivities } from '../../activities/personnel.ts';
import { effectiveMoment, person, personnelEventReceived, type PersonInput, type PersonnelNotice } from '../../workflows/personnel.ts';
import { timeSkippingSuite } from '../support/time-skipping.ts';

const DAY = 86_400_000;
const timers = { remindAfterMs: 2 * DAY, escalateAfterMs: 5 * DAY, expireAfterMs: 14 * DAY };
const suite = timeSkippingSuite();

interface Recorded {
  applied: { eventId: string; at: number }[];
  superseded: { eventId: string; by: string }[];
}
/** Bangkok calendar date `n` days from `now` (ms). */
const bangkokDate = (now: number, n: number) => new Date(now + 7 * 3_600_000 + n * DAY).toISOString().slice(0, 10);

function fakeActivities(rec: Recorded): PersonnelActivities & AccessReviewActivities & OrgTreeActivities {
  return {
    async applyPersonnelEvent({ eventId }) {
      rec.applied.push({ eventId, at: Date.now() });
      return { outcome: 'applied' };
    },
    async supersedePersonnelEvent(input) {
      rec.superseded.push(input);
    },
    async mailReviewers() {
      return 0;
    },
    async undecidedItems() {
      return 0;
    },
    async escalateReview() {},
    async completeReview() {
      return 0;
    },
    async mailReviewOutcome() {
      return 0;
    },
    async findActingUnit() {
      return null;
    },
  };
}

async function run(test: (ctx: { send: (n: PersonnelNotice) => Promise<void>; rec: Recorded; now: number; result: () => Promise<void> }) => Promise<void>) {
  const rec: Recorded = { applied: [], superseded: [] };
  const taskQueue = `person-${randomUUID()}`;
  const worker = await Worker.create({ connection: suite.env.nativeConnection, taskQueue, workflowBundle: suite.bundle, activities: fakeActivities(rec) });
  await worker.runUntil(async () => {
    const workflowId = `person-${randomUUID()}`;
    const input: PersonInput = { personKey: 'k', pending: [], idleMs: 400 * DAY, reviewTimers: { role_change: timers, transfer: timers } };
    const now = await suite.env.currentTimeMs();
    const send = async (n: PersonnelNotice) => {
      await suite.env.client.workflow.signalWithStart(person, { taskQueue, workflowId, args: [input], signal: personnelEventReceived, signalArgs: [n] });
    };
    await test({ send, rec, now, result: () => suite.env.client.workflow.getHandle(workflowId).result() });
  });
}

describe('person workflow', () => {
  it('takes effect at 00:00 Asia/Bangkok: 17:00 UTC the day before', () => {
    expect(new Date(effectiveMoment('2027-09-30')).toISOString()).toBe('2027-09-29T17:00:00.000Z');
  });

  /** Skips the server's clock to `at` (ms). */
  const skipTo = async (at: number) => suite.env.sleep(Math.max(1, at - (await suite.env.currentTimeMs())));
  const appliedIds = (rec: Recorded) => rec.applied.map((a) => a.eventId);

  it('applies a date in the past or today at once, and a future one at its midnight', async () => {
    await run(async ({ send, rec, now, result }) => {
      const future = bangkokDate(now, 7);
      await send({ eventId: 'past', type: 'suspension', effectiveDate: '2020-01-01' });
      await send({ eventId: 'future', type: 'transfer', effectiveDate: future });
      await send({ eventId: 'today', type: 'role_change', effectiveDate: bangkokDate(now, 0) });
      await expect.poll(() => appliedIds(rec)).toEqual(['past', 'today']);
      await skipTo(effectiveMoment(future) - 60_000);
      expect(appliedIds(rec)).toEqual(['past', 'today']); // a minute before its midnight: still waiting
      await skipTo(effectiveMoment(future) + 60_000);
      await expect.poll(() => appliedIds(rec)).toEqual(['past', 'today', 'future']);
      await result();
    });
  }, 60_000);

  it('applies in effective-date order, whatever the order of arrival', async () => {
    await run(async ({ send, rec, now, result }) => {
      await send({ eventId: 'c', type: 'retirement', effectiveDate: bangkokDate(now, 30) });
      await send({ eventId: 'a', type: 'transfer', effectiveDate: bangkokDate(now, 3) });
      await send({ eventId: 'b', type: 'role_change', effectiveDate: bangkokDate(now, 10) });
      await result();
      expect(appliedIds(rec)).toEqual(['a', 'b', 'c']);
    });
  }, 60_000);

  it('lets a corrected retirement date replace the one still waiting', async () => {
    await run(async ({ send, rec, now, result }) => {
      await send({ eventId: 'ret-1', type: 'retirement', effectiveDate: bangkokDate(now, 60) });
      await suite.env.sleep(DAY);
      await send({ eventId: 'ret-2', type: 'retirement', effectiveDate: bangkokDate(now, 20) });
      await send({ eventId: 'ret-2', type: 'retirement', effectiveDate: bangkokDate(now, 20) }); // sent again
      await skipTo(effectiveMoment(bangkokDate(now, 20)) - 60_000);
      expect(appliedIds(rec)).toEqual([]);
      await skipTo(effectiveMoment(bangkokDate(now, 20)) + 60_000);
      await expect.poll(() => appliedIds(rec)).toEqual(['ret-2']);
      await result();
      expect(rec.superseded).toEqual([{ eventId: 'ret-1', by: 'ret-2' }]);
      expect(appliedIds(rec)).toEqual(['ret-2']);
    });
  }, 60_000);
});
