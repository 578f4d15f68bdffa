// The registration workflow's process on the time-skipping test server: days-long timers pass in
// milliseconds. Activities are recorded rather than run: these tests are about the process itself;
// test/integration runs the same workflow against the real activities, database and mail.
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import type { OrgTreeActivities } from '../../activities/org-tree.ts';
import type { RegistrationActivities, RegistrationStep } from '../../activities/registration.ts';
import {
  decideRegistration,
  provideRegistrationInfo,
  registration,
  registrationState,
  supersedeRegistration,
  withdrawRegistration,
  type RegistrationInput,
} from '../../workflows/registration.ts';
import { timeSkippingSuite } from '../support/time-skipping.ts';

const DAY = 86_400_000;
const timers = { remindAfterMs: 2 * DAY, escalateAfterMs: 5 * DAY, expireAfterMs: 30 * DAY, documentRetentionMs: 90 * DAY };
/** LAO → district → province → DLA; the district office has no admin. */
const PARENT: Record<string, string | undefined> = { lao: 'district', district: 'province', province: 'dla', dla: undefined };
const HAS_ADMIN = new Set(['lao', 'province', 'dla']);

const suite = timeSkippingSuite();

interface Recorded {
  steps: RegistrationStep[];
  mails: { to: string; template: string; unitCode?: string; at: number }[];
  deleted: number[];
  approvals: number;
}

/** Activities run on the real clock; the server's (skipped) time is when they were scheduled. */
const serverNow = () => Context.current().info.currentAttemptScheduledTimestampMs;

function fakeActivities(rec: Recorded): RegistrationActivities & OrgTreeActivities {
  return {
    async findActingUnit({ unitCode, above }) {
      let code: string | undefined = above ? PARENT[unitCode] : unitCode;
      if (!code) return null;
      while (code && !HAS_ADMIN.has(code)) code = PARENT[code];
      return code ?? 'dla';
    },
    async recordRegistrationStep(step) {
      rec.steps.push(step);
    },
    async approveRegistration(step) {
      rec.steps.push({ ...step, status: 'approved' });
      rec.approvals++;
      return { accountId: 'acc' };
    },
    async deliverQueuedMail() {
      rec.mails.push({ to: 'applicant', template: 'registration-submitted', at: serverNow() });
    },
    async notifyRegistrationApplicant({ template }) {
      rec.mails.push({ to: 'applicant', template, at: serverNow() });
    },
    async notifyRegistrationAdmins({ template, unitCode }) {
      rec.mails.push({ to: 'admins', template, unitCode, at: serverNow() });
      return 1;
    },
    async deleteRegistrationDocuments() {
      rec.deleted.push(serverNow());
      return 1;
    },
  };
}

async function run<T>(
  test: (ctx: { handle: Awaited<ReturnType<typeof suite.env.client.workflow.start<typeof registration>>>; rec: Recorded; start: number }) => Promise<T>,
) {
  const rec: Recorded = { steps: [], mails: [], deleted: [], approvals: 0 };
  const taskQueue = `registration-${randomUUID()}`;
  const worker = await Worker.create({ connection: suite.env.nativeConnection, taskQueue, workflowBundle: suite.bundle, activities: fakeActivities(rec) });
  return worker.runUntil(async () => {
    const input: RegistrationInput = { registrationId: randomUUID(), actingUnitCode: 'lao', submissionMailKey: 'k', timers };
    const handle = await suite.env.client.workflow.start(registration, { taskQueue, workflowId: input.registrationId, args: [input] });
    const start = (await handle.describe()).startTime.getTime();
    return test({ handle, rec, start });
  });
}

describe('registration workflow', () => {
  it('mails the applicant and the unit admins, and approves once', async () => {
    await run(async ({ handle, rec }) => {
      const result = await handle.executeUpdate(decideRegistration, { args: [{ decision: 'approve', actorAccountId: 'admin-1' }] });
      expect(result.status).toBe('approved');
      await expect(handle.result()).resolves.toBe('approved');
      expect(rec.approvals).toBe(1);
      expect(rec.mails.map((m) => m.template)).toEqual(expect.arrayContaining(['registration-submitted', 'registration-arrived', 'registration-approved']));
      expect(rec.deleted).toHaveLength(0); // documents of an approved request stay
      const second = handle.executeUpdate(decideRegistration, { args: [{ decision: 'reject', actorAccountId: 'a', noteId: 'n' }] });
      // An approved request's workflow has ended: the decision finds no process to change (the API's 409).
      await expect(second).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(rec.approvals).toBe(1);
    });
  });

  it('refuses a second decision with NotAwaitingDecision while the first is final', async () => {
    await run(async ({ handle }) => {
      await handle.executeUpdate(decideRegistration, { args: [{ decision: 'reject', actorAccountId: 'admin-1', noteId: 'note-1' }] });
      const error = await handle.executeUpdate(decideRegistration, { args: [{ decision: 'approve', actorAccountId: 'admin-1' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((error as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'NotAwaitingDecision' });
      expect(await handle.query(registrationState)).toMatchObject({ status: 'rejected' });
    });
  });

  it('reminds every 2 days, escalates past the unit without an admin, then expires after 30 days', async () => {
    await run(async ({ handle, rec, start }) => {
      await suite.env.sleep(6 * DAY);
      let state = await handle.query(registrationState);
      // After 5 days the district office (no admin) is passed over: the province acts.
      expect(state).toEqual({ status: 'pending_approval', actingUnitCode: 'province' });
      const escalation = rec.mails.find((m) => m.template === 'registration-escalated');
      expect(escalation).toMatchObject({ unitCode: 'province' });
      expect(escalation!.at - start).toBeGreaterThanOrEqual(5 * DAY);
      expect(escalation!.at - start).toBeLessThan(5 * DAY + 60_000);
      const reminders = rec.mails.filter((m) => m.template === 'registration-reminder');
      expect(reminders.map((m) => m.unitCode)).toEqual(['lao', 'lao']); // days 2 and 4

      await suite.env.sleep(5 * DAY);
      state = await handle.query(registrationState);
      expect(state.actingUnitCode).toBe('dla');

      await expect(handle.result()).resolves.toBe('expired');
      const expiry = rec.steps.find((s) => s.event === 'expired');
      expect(expiry).toBeDefined();
      expect(rec.mails.filter((m) => m.template === 'registration-expired')).toHaveLength(1);
      expect(rec.deleted).toHaveLength(1);
      expect(rec.deleted[0]! - start).toBeGreaterThanOrEqual(120 * DAY);
    });
  }, 60_000);

  it('goes back to the admins when the applicant answers a request for information', async () => {
    await run(async ({ handle, rec }) => {
      await handle.executeUpdate(decideRegistration, { args: [{ decision: 'request_info', actorAccountId: 'admin-1', noteId: 'note-1' }] });
      expect((await handle.query(registrationState)).status).toBe('info_requested');
      // While the applicant is asked, the admins are neither reminded nor escalated to.
      await suite.env.sleep(10 * DAY);
      expect(rec.mails.filter((m) => m.template === 'registration-reminder')).toHaveLength(0);
      const afterInfo = await handle.executeUpdate(provideRegistrationInfo, { args: [{ noteId: null }] });
      expect(afterInfo).toEqual({ status: 'pending_approval', actingUnitCode: 'lao' });
      const refused = await handle.executeUpdate(provideRegistrationInfo, { args: [{ noteId: null }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      await handle.executeUpdate(decideRegistration, { args: [{ decision: 'approve', actorAccountId: 'admin-1' }] });
      await expect(handle.result()).resolves.toBe('approved');
      expect(rec.mails.filter((m) => m.template === 'registration-info-requested')).toHaveLength(1);
      expect(rec.steps.map((s) => s.event)).toEqual(['info_requested', 'info_provided', 'approved']);
    });
  }, 60_000);

  it('expires a request whose applicant never answers', async () => {
    await run(async ({ handle }) => {
      await suite.env.sleep(DAY);
      await handle.executeUpdate(decideRegistration, { args: [{ decision: 'request_info', actorAccountId: 'admin-1', noteId: 'n' }] });
      await expect(handle.result()).resolves.toBe('expired');
    });
  }, 60_000);

  it('lets the applicant withdraw, and then nothing else', async () => {
    await run(async ({ handle, rec }) => {
      await handle.executeUpdate(withdrawRegistration, { args: [] });
      const late = await handle.executeUpdate(decideRegistration, { args: [{ decision: 'approve', actorAccountId: 'admin-1' }] }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(handle.result()).resolves.toBe('withdrawn');
      expect(rec.approvals).toBe(0);
      expect(rec.deleted).toHaveLength(1);
    });
  }, 60_000);

  it('ends when a ThaiID-verified request supersedes it, tells the applicant, and takes nothing after', async () => {
    await run(async ({ handle, rec }) => {
      const state = await handle.executeUpdate(supersedeRegistration, { args: [] });
      expect(state.status).toBe('superseded');
      const late = await handle.executeUpdate(withdrawRegistration, { args: [] }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(handle.result()).resolves.toBe('superseded');
      expect(rec.steps.map((s) => s.event)).toEqual(['superseded']);
      expect(rec.mails.filter((m) => m.template === 'registration-superseded')).toHaveLength(1);
      expect(rec.approvals).toBe(0);
      expect(rec.deleted).toHaveLength(1); // its documents, after the retention period
    });
  }, 60_000);
});
