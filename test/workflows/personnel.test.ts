// The person workflow on the time-skipping test server: events wait for 00:00 Asia/Bangkok of their
// date, apply in date order, a correction replaces the waiting event it corrects, past dates apply at once;
// waiting events and what was superseded survive continue-as-new and start-up's re-hand-over.
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
  /** The events' rows as the real activities keep them: only a `scheduled` one is applied or superseded. */
  status: Map<string, 'scheduled' | 'applied' | 'superseded'>;
}
/** Bangkok calendar date `n` days from `now` (ms). */
const bangkokDate = (now: number, n: number) => new Date(now + 7 * 3_600_000 + n * DAY).toISOString().slice(0, 10);

/** `clock`: the test server's time (skipped ahead), not this process's. */
function fakeActivities(rec: Recorded, clock: () => Promise<number>): PersonnelActivities & AccessReviewActivities & OrgTreeActivities {
  return {
    async applyPersonnelEvent({ eventId }) {
      const status = rec.status.get(eventId);
      if (status !== 'scheduled') return { outcome: status ?? 'missing' };
      rec.status.set(eventId, 'applied');
      const applied = { eventId, at: Number.NaN };
      rec.applied.push(applied); // seen at once; its time (a call to the server) follows before the activity completes
      applied.at = await clock();
      return { outcome: 'applied' };
    },
    async supersedePersonnelEvent(input) {
      if (rec.status.get(input.eventId) !== 'scheduled') return;
      rec.status.set(input.eventId, 'superseded');
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

interface Ctx {
  /** An event received (its row stored `scheduled`) and handed to the person's workflow. */
  send: (n: PersonnelNotice) => Promise<void>;
  /** Start-up's re-hand-over, having read these rows as `scheduled`: each handed over again. */
  handOverAgain: (notices: PersonnelNotice[]) => Promise<void>;
  /** How many runs the workflow has had (continue-as-new starts the next). */
  runs: () => Promise<number>;
  rec: Recorded;
  now: number;
  result: () => Promise<void>;
}

async function run(test: (ctx: Ctx) => Promise<void>, options: { historyLimit?: number } = {}) {
  const rec: Recorded = { applied: [], superseded: [], status: new Map() };
  const taskQueue = `person-${randomUUID()}`;
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    taskQueue,
    workflowBundle: suite.bundle,
    activities: fakeActivities(rec, () => suite.env.currentTimeMs()),
  });
  await worker.runUntil(async () => {
    const workflowId = `person-${randomUUID()}`;
    const input: PersonInput = { personKey: 'k', pending: [], idleMs: 400 * DAY, reviewTimers: { role_change: timers, transfer: timers }, ...options };
    const now = await suite.env.currentTimeMs();
    const handOver = async (n: PersonnelNotice) => {
      await suite.env.client.workflow.signalWithStart(person, { taskQueue, workflowId, args: [input], signal: personnelEventReceived, signalArgs: [n] });
    };
    const send = async (n: PersonnelNotice) => {
      if (!rec.status.has(n.eventId)) rec.status.set(n.eventId, 'scheduled');
      await handOver(n);
    };
    const handOverAgain = async (notices: PersonnelNotice[]) => {
      for (const n of notices) await handOver(n);
    };
    const runs = async () => {
      let n = 0;
      for (let runId: string | undefined = (await suite.env.client.workflow.getHandle(workflowId).describe()).runId; runId; n++) {
        const history = await suite.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
        runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      return n;
    };
    await test({ send, handOverAgain, runs, rec, now, result: () => suite.env.client.workflow.getHandle(workflowId).result() });
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
      await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toEqual(['past', 'today']);
      await skipTo(effectiveMoment(future) - 60_000);
      expect(appliedIds(rec)).toEqual(['past', 'today']); // a minute before its midnight: still waiting
      await skipTo(effectiveMoment(future) + 60_000);
      await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toEqual(['past', 'today', 'future']);
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
      await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toEqual(['ret-2']);
      await result();
      expect(rec.superseded).toEqual([{ eventId: 'ret-1', by: 'ret-2' }]);
      expect(appliedIds(rec)).toEqual(['ret-2']);
    });
  }, 60_000);

  /** Sent, and a server minute for the workflow to take it alone: each signal lengthens the history on its own. */
  const arrive = async (send: Ctx['send'], n: PersonnelNotice) => {
    await send(n);
    await suite.env.sleep(60_000);
  };

  // Issue #16: the history grows with every signal and timer; past its limit (Temporal's suggestion, here a short
  // configured one) the workflow continues as new, and the events still waiting must go on into the next run.
  it('applies every event still waiting on its own date after continuing as new, each once', async () => {
    await run(
      async ({ send, rec, now, runs, result }) => {
        const dates = { tr: bangkokDate(now, 5), rc: bangkokDate(now, 9), sus: bangkokDate(now, 14), ret: bangkokDate(now, 30) };
        await arrive(send, { eventId: 'tr', type: 'transfer', effectiveDate: dates.tr, toUnitCode: 'U2' });
        await arrive(send, { eventId: 'rc', type: 'role_change', effectiveDate: dates.rc });
        await arrive(send, { eventId: 'sus', type: 'suspension', effectiveDate: dates.sus });
        await arrive(send, { eventId: 'ret', type: 'retirement', effectiveDate: dates.ret });
        await arrive(send, { eventId: 'past', type: 'resignation', effectiveDate: '2020-01-01' });
        await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toEqual(['past']);
        // Continued as new while all four wait.
        await expect.poll(runs, { timeout: 10_000 }).toBeGreaterThan(1);
        expect(appliedIds(rec)).toEqual(['past']);
        for (const [eventId, date] of Object.entries(dates)) {
          await skipTo(effectiveMoment(date) - 60_000);
          expect(appliedIds(rec)).not.toContain(eventId); // a minute before its midnight: still waiting
          await skipTo(effectiveMoment(date) + 60_000);
          await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toContain(eventId);
        }
        await result();
        expect(appliedIds(rec)).toEqual(['past', 'tr', 'rc', 'sus', 'ret']);
        for (const a of rec.applied.slice(1)) {
          const date = dates[a.eventId as keyof typeof dates];
          expect(a.at, a.eventId).toBeGreaterThanOrEqual(effectiveMoment(date));
          expect(a.at, a.eventId).toBeLessThan(effectiveMoment(date) + 60_000 + 5_000);
        }
        expect(await runs()).toBeGreaterThan(2); // the later runs continued as new too, while the rest waited
      },
      { historyLimit: 14 },
    );
  }, 120_000);

  // Issue #13, finding 17.
  it('applies two future transfers to other units on other dates, in order; a corrected transfer replaces the one it corrects', async () => {
    await run(async ({ send, rec, now, result }) => {
      await send({ eventId: 'move-1', type: 'transfer', effectiveDate: bangkokDate(now, 10), toUnitCode: 'A' });
      await send({ eventId: 'move-2', type: 'transfer', effectiveDate: bangkokDate(now, 40), toUnitCode: 'B' });
      // HR corrects the first move's date (the same unit), then the second's unit (the same date).
      await send({ eventId: 'move-1-date', type: 'transfer', effectiveDate: bangkokDate(now, 12), toUnitCode: 'A' });
      await send({ eventId: 'move-2-unit', type: 'transfer', effectiveDate: bangkokDate(now, 40), toUnitCode: 'C' });
      await skipTo(effectiveMoment(bangkokDate(now, 12)) + 60_000);
      await expect.poll(() => appliedIds(rec), { timeout: 10_000 }).toEqual(['move-1-date']);
      await result();
      expect(appliedIds(rec)).toEqual(['move-1-date', 'move-2-unit']);
      expect(rec.superseded).toEqual([
        { eventId: 'move-1', by: 'move-1-date' },
        { eventId: 'move-2', by: 'move-2-unit' },
      ]);
    });
  }, 60_000);

  const retirements = (now: number) => ({
    first: { eventId: 'ret-1', type: 'retirement', effectiveDate: bangkokDate(now, 60) } as PersonnelNotice,
    corrected: { eventId: 'ret-2', type: 'retirement', effectiveDate: bangkokDate(now, 20) } as PersonnelNotice,
  });

  it("keeps a superseded event superseded when start-up's re-hand-over brings it again (read before the supersession was recorded)", async () => {
    await run(async ({ send, handOverAgain, rec, now, result }) => {
      const { first, corrected } = retirements(now);
      await send(first);
      const readAtStartUp = [first, corrected]; // both rows still `scheduled` when start-up read them
      await send(corrected);
      await expect.poll(() => rec.status.get('ret-1'), { timeout: 10_000 }).toBe('superseded');
      await handOverAgain(readAtStartUp);
      await result();
      expect(appliedIds(rec)).toEqual(['ret-2']);
      expect(rec.applied[0]!.at).toBeGreaterThanOrEqual(effectiveMoment(corrected.effectiveDate));
      expect(rec.superseded).toEqual([{ eventId: 'ret-1', by: 'ret-2' }]);
    });
  }, 60_000);

  it('keeps a superseded event superseded after continue-as-new, whatever is handed over again', async () => {
    await run(
      async ({ send, handOverAgain, rec, now, runs, result }) => {
        const { first, corrected } = retirements(now);
        await arrive(send, first);
        await arrive(send, corrected);
        await arrive(send, { eventId: 'rc', type: 'role_change', effectiveDate: bangkokDate(now, 5) });
        await arrive(send, { eventId: 'tr', type: 'transfer', effectiveDate: bangkokDate(now, 7), toUnitCode: 'U2' });
        await expect.poll(runs, { timeout: 10_000 }).toBeGreaterThan(1);
        expect(rec.status.get('ret-1')).toBe('superseded');
        await handOverAgain([first, corrected]);
        await skipTo(effectiveMoment(first.effectiveDate) + DAY);
        await result();
        expect(appliedIds(rec)).toEqual(['rc', 'tr', 'ret-2']);
        expect(rec.superseded).toEqual([{ eventId: 'ret-1', by: 'ret-2' }]);
      },
      { historyLimit: 14 },
    );
  }, 60_000);
});
