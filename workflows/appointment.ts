// An SSO admin appointment (หนังสือมอบหมาย) as a durable process: the letter waits for the admins one
// level up (reminded, escalated further up, expiring); on approval the appointee is an SSO admin of
// the unit until the term ends or the appointment is revoked.
//   pending_approval → approved → ended | revoked;  pending_approval → rejected | expired
// Inputs and messages carry ids and dates only.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { AppointmentActivities, AppointmentMail, AppointmentStep } from '../activities/appointment.ts';
import type { OrgTreeActivities } from '../activities/org-tree.ts';
import type { AppointmentStatus } from '../db/schema.ts';
import { MailQueue } from './mail-queue.ts';
import { DecisionClock, NOT_AWAITING, TransitionLock, type DecisionTimers } from './decision-clock.ts';

export interface AppointmentTimers extends DecisionTimers {
  /** How long before the term ends the appointee and the approvers are reminded. */
  termReminderBeforeMs: number;
}

export interface AppointmentInput {
  appointmentId: string;
  unitCode: string;
  /** The unit whose admins approve: the parent (or the nearest unit above it with an admin); DLA central for itself. */
  actingUnitCode: string;
  /** Last day of the term, `YYYY-MM-DD` (Asia/Bangkok), or null for no end. */
  termEnd: string | null;
  timers: AppointmentTimers;
}

export interface AppointmentState {
  status: AppointmentStatus;
  actingUnitCode: string;
}

export interface AppointmentDecision {
  decision: 'approve' | 'reject';
  actorAccountId: string;
  noteId?: string | null;
}

export const decideAppointment = defineUpdate<AppointmentState, [AppointmentDecision]>('decideAppointment');
export const revokeAppointment = defineUpdate<AppointmentState, [{ actorAccountId: string; noteId: string }]>('revokeAppointment');
export const appointmentState = defineQuery<AppointmentState>('appointmentState');

export const appointmentWorkflowId = (appointmentId: string) => `appointment-${appointmentId}`;

/** The role ends at 00:00 Asia/Bangkok (UTC+7, no daylight saving) of the day after the term's last day. */
export function termEndsAt(termEnd: string): number {
  const [y, m, d] = termEnd.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d + 1) - 7 * 3_600_000;
}

const retry = { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['AppointmentMissing'] };
const act = proxyActivities<AppointmentActivities>({ startToCloseTimeout: '30 seconds', retry });
const db = proxyLocalActivities<AppointmentActivities & OrgTreeActivities>({ startToCloseTimeout: '15 seconds', localRetryThreshold: '10 seconds', retry });

export async function appointment(input: AppointmentInput): Promise<AppointmentStatus> {
  const { appointmentId, timers } = input;
  let status: AppointmentStatus = 'pending_approval';
  let actingUnitCode = input.actingUnitCode;
  let seq = 0; // step 0, "submitted", was written by the API
  const transition = new TransitionLock();
  const mails = new MailQueue();
  const clock = new DecisionClock(timers);

  const state = (): AppointmentState => ({ status, actingUnitCode });
  const refuseUnless = (allowed: AppointmentStatus) => {
    if (transition.busy || status !== allowed) {
      throw ApplicationFailure.create({ type: NOT_AWAITING, message: `the appointment is ${status}`, nonRetryable: true });
    }
  };
  const mail = (template: AppointmentMail, at: number, audience: 'approvers' | 'parties' | 'everyone', kind?: string, noteId?: string | null) =>
    mails.push(() => act.notifyAppointment({ appointmentId, seq: at, template, audience, unitCode: actingUnitCode, kind, noteId }));

  const exclusively = <T>(work: () => Promise<T>) => transition.run(work);

  async function step(event: string, next: Partial<AppointmentState>, extra: Partial<AppointmentStep> = {}, write = db.recordAppointmentStep) {
    const s: AppointmentStep = { appointmentId, seq: ++seq, event, ...next, ...extra };
    await write(s);
    if (next.status) status = next.status;
    if (next.actingUnitCode) actingUnitCode = next.actingUnitCode;
    return s.seq;
  }

  setHandler(appointmentState, state);
  setHandler(
    decideAppointment,
    (d) =>
      exclusively(async () => {
        if (d.decision === 'approve') {
          const at = await step('approved', { status: 'approved' }, { actorAccountId: d.actorAccountId, noteId: d.noteId ?? null }, db.grantAppointment);
          mail('appointment-decided', at, 'everyone', 'approved');
        } else {
          const at = await step('rejected', { status: 'rejected' }, { actorAccountId: d.actorAccountId, noteId: d.noteId ?? null });
          mail('appointment-decided', at, 'everyone', 'rejected', d.noteId);
        }
        return state();
      }),
    { validator: (_d: AppointmentDecision) => refuseUnless('pending_approval') },
  );

  setHandler(
    revokeAppointment,
    (r) =>
      exclusively(async () => {
        const at = await step('revoked', { status: 'revoked' }, { actorAccountId: r.actorAccountId, noteId: r.noteId }, db.endAppointment);
        mail('appointment-ended', at, 'everyone', 'revoked', r.noteId);
        return state();
      }),
    { validator: (_r: { actorAccountId: string; noteId: string }) => refuseUnless('approved') },
  );

  mail('appointment-awaiting', 0, 'approvers', 'new');
  mail('appointment-received', 0, 'parties');

  // Waiting for the approvers.
  while (status === 'pending_approval') {
    const before = seq;
    await condition(() => seq !== before || mails.dueInLine, Math.max(1, clock.wakeAt(true) - Date.now()));
    await mails.sendInLine();
    if (seq !== before) continue;
    await exclusively(async () => {
      if (status !== 'pending_approval') return;
      const due = clock.due(true);
      if (due === 'expire') {
        const at = await step('expired', { status: 'expired' });
        mail('appointment-decided', at, 'everyone', 'expired');
      } else if (due === 'escalate') {
        const parent = await db.findActingUnit({ unitCode: actingUnitCode, above: true });
        if (!parent) return clock.reachedTop();
        const at = await step('escalated', { actingUnitCode: parent });
        clock.restartAtUnit();
        mail('appointment-awaiting', at, 'approvers', 'escalated');
      } else if (due === 'remind') {
        const at = await step('reminded', {});
        clock.reminded();
        mail('appointment-awaiting', at, 'approvers', 'reminder');
      }
    });
  }
  await mails.sendInLine();

  // In office: until the term ends or the appointment is revoked.
  if (status === 'approved' && input.termEnd) {
    const endAt = termEndsAt(input.termEnd);
    const remindAt = endAt - timers.termReminderBeforeMs;
    if (remindAt > Date.now() && !(await condition(() => status !== 'approved', remindAt - Date.now()))) {
      const at = await exclusively(() => step('term_ending', {}));
      mail('appointment-term-ending', at, 'everyone');
      await mails.sendInLine();
    }
    const revoked = await condition(() => status !== 'approved', Math.max(1, endAt - Date.now()));
    if (!revoked) {
      const at = await exclusively(() => step('ended', { status: 'ended' }, {}, db.endAppointment));
      mail('appointment-ended', at, 'everyone', 'ended');
    }
  } else if (status === 'approved') {
    await condition(() => status !== 'approved');
  }

  await condition(allHandlersFinished);
  await mails.sent();
  return status;
}
