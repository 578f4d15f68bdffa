// The appointment workflow's process on the time-skipping test server: approval, escalation,
// expiry, the term's reminder and end, revocation. Activities are recorded, not run.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { AppointmentActivities, AppointmentStep } from '../../activities/appointment.ts';
import type { OrgTreeActivities } from '../../activities/org-tree.ts';
import { appointment, appointmentState, decideAppointment, revokeAppointment, termEndsAt, type AppointmentInput } from '../../workflows/appointment.ts';
import { timeSkippingSuite } from '../support/time-skipping.ts';

const DAY = 86_400_000;
const timers = { remindAfterMs: 2 * DAY, escalateAfterMs: 5 * DAY, expireAfterMs: 30 * DAY, termReminderBeforeMs: 30 * DAY };
const PARENT: Record<string, string | undefined> = { district: 'province', province: 'dla', dla: undefined };

const suite = timeSkippingSuite();

interface Recorded {
  steps: AppointmentStep[];
  granted: number[];
  ended: { at: number; status?: string }[];
  mails: { template: string; kind?: string; at: number }[];
}
/** For ordinary activities, when the server (on the skipped clock) scheduled them. */
const serverNow = () => Context.current().info.currentAttemptScheduledTimestampMs;

function fakeActivities(rec: Recorded): AppointmentActivities & OrgTreeActivities {
  return {
    async findActingUnit({ unitCode, above }) {
      return above ? (PARENT[unitCode] ?? null) : unitCode;
    },
    async recordAppointmentStep(step) {
      rec.steps.push(step);
    },
    async grantAppointment(step) {
      rec.steps.push(step);
      rec.granted.push(serverNow());
    },
    async endAppointment(step) {
      rec.steps.push(step);
      rec.ended.push({ at: serverNow(), status: step.status });
    },
    async notifyAppointment({ template, kind }) {
      rec.mails.push({ template, kind, at: serverNow() });
      return 1;
    },
  };
}

async function run(
  termEnd: string | null,
  test: (ctx: { handle: ReturnType<typeof suite.env.client.workflow.getHandle<typeof appointment>>; rec: Recorded; start: number }) => Promise<void>,
) {
  const rec: Recorded = { steps: [], granted: [], ended: [], mails: [] };
  const taskQueue = `appointment-${randomUUID()}`;
  const worker = await Worker.create({ connection: suite.env.nativeConnection, taskQueue, workflowBundle: suite.bundle, activities: fakeActivities(rec) });
  await worker.runUntil(async () => {
    const input: AppointmentInput = { appointmentId: randomUUID(), unitCode: 'district', actingUnitCode: 'province', termEnd, timers };
    const handle = await suite.env.client.workflow.start(appointment, { taskQueue, workflowId: input.appointmentId, args: [input] });
    await test({ handle, rec, start: (await handle.describe()).startTime.getTime() });
  });
}

describe('appointment workflow', () => {
  it('ends the term at 00:00 Asia/Bangkok the day after its last day', () => {
    expect(new Date(termEndsAt('2027-09-30')).toISOString()).toBe('2027-09-30T17:00:00.000Z');
  });

  it('approves, reminds 30 days before the term ends, and ends the role on the day', async () => {
    const termEnd = new Date(Date.now() + 100 * DAY).toISOString().slice(0, 10);
    await run(termEnd, async ({ handle, rec }) => {
      const approved = await handle.executeUpdate(decideAppointment, { args: [{ decision: 'approve', actorAccountId: 'admin' }] });
      expect(approved.status).toBe('approved');
      expect(rec.granted).toHaveLength(1);
      const again = await handle
        .executeUpdate(decideAppointment, { args: [{ decision: 'reject', actorAccountId: 'admin', noteId: 'n' }] })
        .catch((e: unknown) => e);
      expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(handle.result()).resolves.toBe('ended');
      const reminder = rec.mails.find((m) => m.template === 'appointment-term-ending');
      expect(reminder!.at).toBeGreaterThanOrEqual(termEndsAt(termEnd) - 30 * DAY);
      expect(reminder!.at).toBeLessThan(termEndsAt(termEnd) - 30 * DAY + 60_000);
      expect(rec.ended).toHaveLength(1);
      expect(rec.ended[0]!.status).toBe('ended');
      // Local activities run on the worker's own clock; the mail that follows the end shows the server's.
      const endMails = rec.mails.filter((m) => m.template === 'appointment-ended');
      expect(endMails).toHaveLength(1);
      expect(endMails[0]!.at).toBeGreaterThanOrEqual(termEndsAt(termEnd));
      expect(endMails[0]!.at).toBeLessThan(termEndsAt(termEnd) + 60_000);
    });
  }, 60_000);

  it('revokes at once, and the term then ends nothing more', async () => {
    await run(null, async ({ handle, rec }) => {
      await handle.executeUpdate(decideAppointment, { args: [{ decision: 'approve', actorAccountId: 'admin' }] });
      await suite.env.sleep(400 * DAY);
      expect((await handle.query(appointmentState)).status).toBe('approved');
      const revoked = await handle.executeUpdate(revokeAppointment, { args: [{ actorAccountId: 'admin', noteId: 'n' }] });
      expect(revoked.status).toBe('revoked');
      await expect(handle.result()).resolves.toBe('revoked');
      expect(rec.ended).toEqual([{ at: expect.any(Number), status: 'revoked' }]);
      expect(rec.mails.find((m) => m.template === 'appointment-ended')!.kind).toBe('revoked');
    });
  }, 60_000);

  it('refuses revoking what is not approved', async () => {
    await run(null, async ({ handle }) => {
      const early = await handle.executeUpdate(revokeAppointment, { args: [{ actorAccountId: 'admin', noteId: 'n' }] }).catch((e: unknown) => e);
      expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
      await handle.executeUpdate(decideAppointment, { args: [{ decision: 'reject', actorAccountId: 'admin', noteId: 'n' }] });
      await expect(handle.result()).resolves.toBe('rejected');
    });
  }, 60_000);

  it('reminds the approvers, escalates to DLA central, then expires', async () => {
    await run(null, async ({ handle, rec, start }) => {
      await suite.env.sleep(6 * DAY);
      expect((await handle.query(appointmentState)).actingUnitCode).toBe('dla');
      const escalated = rec.mails.find((m) => m.kind === 'escalated');
      expect(escalated!.at - start).toBeGreaterThanOrEqual(5 * DAY);
      expect(rec.mails.filter((m) => m.kind === 'reminder')).toHaveLength(2);
      await expect(handle.result()).resolves.toBe('expired');
      expect(rec.mails.find((m) => m.template === 'appointment-decided')!.kind).toBe('expired');
      expect(rec.granted).toHaveLength(0);
    });
  }, 60_000);
});
