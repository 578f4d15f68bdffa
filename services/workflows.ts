// The one place that starts and messages the workflows from outside them (services, start-up):
// each workflow's id, options and first input, the schedules the service keeps, and how a
// workflow's refusal reads to a person.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowUpdateFailedError, type Client, type ScheduleOptions } from '@temporalio/client';
import {
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/common';
import type { Config } from '../lib/config.ts';
import { conflict, unavailable } from '../lib/problem.ts';
import { accessReviewCampaign, campaignWorkflowId, cancelCampaign, type CampaignStatus } from '../workflows/access-review-campaign.ts';
import { scheduledAccessReview, type ScheduledReviewInput } from '../workflows/access-review-schedule.ts';
import { reviewDecisionsChanged, accessReviewWorkflowId } from '../workflows/access-review.ts';
import {
  appointment,
  appointmentWorkflowId,
  decideAppointment,
  revokeAppointment,
  type AppointmentDecision,
  type AppointmentState,
} from '../workflows/appointment.ts';
import { auditVerification, auditVerificationProgress, type AuditVerificationState } from '../workflows/audit-verification.ts';
import { complianceDigest } from '../workflows/compliance.ts';
import { housekeeping } from '../workflows/housekeeping.ts';
import { NOT_AWAITING } from '../workflows/decision-clock.ts';
import { person, personnelEventReceived, personWorkflowId, type PersonnelNotice } from '../workflows/personnel.ts';
import {
  decideRegistration,
  provideRegistrationInfo,
  registration,
  registrationWorkflowId,
  supersedeRegistration,
  withdrawRegistration,
  type RegistrationDecision,
  type RegistrationState,
} from '../workflows/registration.ts';
import { registrationActingUnitKey, registrationStatusKey } from '../workflows/search-attributes.ts';

/** What the services need of Temporal: the client and where the workers poll. */
export interface Workflows {
  client: Client;
  config: Config;
}

/** The log line a service writes when Temporal cannot be reached (pino's shape). */
export interface Log {
  error(object: object, message: string): void;
}

/**
 * How long a start or signal may take before the caller hears 503: Temporal restarting or out of
 * reach would otherwise hold a person's request for as long as the client retries. An Update waits
 * longer (UPDATE_DEADLINE_MS); both leave room within the 10 s an answer may take.
 */
export const CALL_DEADLINE_MS = 5_000;
const promptly = <T>(w: Workflows, send: () => Promise<T>): Promise<T> => w.client.withDeadline(Date.now() + CALL_DEADLINE_MS, send);

/** A start that finds the workflow already running is no error: every start here is idempotent. */
const once = { workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE } as const;

/** The outbox key of the applicant's submission mail: queued with the request, sent by its workflow. */
export const submissionMailKey = (registrationId: string) => `registration:${registrationId}:submitted`;

/** Starts (or finds) the workflow of a registration request. */
export async function startRegistration(w: Workflows, input: { registrationId: string; actingUnitCode: string }): Promise<void> {
  await promptly(w, () =>
    w.client.workflow.start(registration, {
      taskQueue: w.config.taskQueue,
      workflowId: registrationWorkflowId(input.registrationId),
      ...once,
      args: [
        {
          registrationId: input.registrationId,
          actingUnitCode: input.actingUnitCode,
          submissionMailKey: submissionMailKey(input.registrationId),
          timers: w.config.registration,
        },
      ],
      typedSearchAttributes: [
        { key: registrationStatusKey, value: 'pending_approval' },
        { key: registrationActingUnitKey, value: input.actingUnitCode },
      ],
    }),
  );
}

/** Starts (or finds) the workflow of an SSO admin appointment awaiting approval. */
export async function startAppointment(
  w: Workflows,
  input: { appointmentId: string; unitCode: string; actingUnitCode: string; termEnd: string | null },
): Promise<void> {
  await promptly(w, () =>
    w.client.workflow.start(appointment, {
      taskQueue: w.config.taskQueue,
      workflowId: appointmentWorkflowId(input.appointmentId),
      ...once,
      args: [{ ...input, timers: w.config.appointment }],
    }),
  );
}

/** Starts (or finds) the workflow of an access review campaign. */
export async function startCampaign(w: Workflows, input: { reviewId: string; dueAt: Date }): Promise<void> {
  await promptly(w, () =>
    w.client.workflow.start(accessReviewCampaign, {
      taskQueue: w.config.taskQueue,
      workflowId: campaignWorkflowId(input.reviewId),
      ...once,
      args: [
        {
          reviewId: input.reviewId,
          dueAt: input.dueAt.getTime(),
          remindBeforeMs: w.config.campaign.remindBeforeMs,
          escalateBeforeMs: w.config.campaign.escalateBeforeMs,
        },
      ],
    }),
  );
}

/** Hands a personnel event to the person's workflow (keyed by the citizen ID's keyed hash), starting it if need be. */
export async function handToPerson(w: Workflows, citizenIdHash: string, notice: PersonnelNotice): Promise<void> {
  const { config } = w;
  await promptly(w, () =>
    w.client.workflow.signalWithStart(person, {
      workflowId: personWorkflowId(citizenIdHash),
      taskQueue: config.taskQueue,
      args: [
        {
          personKey: citizenIdHash.slice(0, 40),
          pending: [],
          idleMs: config.personIdleMs,
          reviewTimers: { role_change: config.roleChangeReview, transfer: config.transferReview },
        },
      ],
      signal: personnelEventReceived,
      signalArgs: [notice],
    }),
  );
}

/** Tells a person review's workflow that decisions were taken (it closes when none is left). */
export async function signalReviewDecisions(w: Workflows, reviewId: string): Promise<void> {
  await promptly(w, () => w.client.workflow.getHandle(accessReviewWorkflowId(reviewId)).signal(reviewDecisionsChanged));
}

/**
 * A start that already failed or a workflow that ran before: true when the workflow runs (or ran)
 * under this id. Start-up's re-hand-over uses it to skip what needs no start.
 */
export async function startedAlready(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/**
 * Saved rows wait for their workflow: start it, and when Temporal cannot take it, take the rows
 * back whole (`takeBack`) and answer 503, so that nothing accepted waits forever without a process.
 */
export async function startOrTakeBack(log: Log, what: string, start: () => Promise<void>, takeBack: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (error) {
    log.error({ err: error }, `cannot start the ${what} workflow`);
    await takeBack();
    throw unavailable(`The ${what} could not be queued; nothing was kept. Please try again shortly.`);
  }
}

/**
 * How long an Update may wait for a worker to take it. Without a worker polling it would wait
 * without end; past the deadline the call is dropped (an Update no worker accepted is not kept, so
 * nothing happens later behind the caller's back) and the caller hears 503.
 */
export const UPDATE_DEADLINE_MS = 8_000;
const withinDeadline = <T>(w: Workflows, send: () => Promise<T>): Promise<T> => w.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, send);

/**
 * Sends an Update (`send`) about "the <what>", turning its refusals into problems a person can read:
 * what the process no longer awaits is a 409, a workflow that is gone a 409, Temporal out of reach a 503.
 */
export async function updateWorkflow<T>(log: Log, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const type = (error.cause as { type?: string } | undefined)?.type;
      const detail = (error.cause as Error | undefined)?.message ?? 'refused';
      if (type === NOT_AWAITING) throw conflict(`The ${what} no longer awaits this: ${detail}.`);
      if (type === 'AccountExists') throw conflict(`Cannot approve: ${detail}.`);
      throw conflict(detail);
    }
    if (error instanceof WorkflowNotFoundError) throw conflict(`The ${what} is closed.`);
    log.error({ err: error }, `cannot reach the ${what}'s workflow`);
    throw unavailable('The workflow service is not reachable; try again shortly.');
  }
}

// Schedules. Ids carry the task queue, so deployments sharing a namespace keep theirs apart.
export const complianceScheduleId = (config: Config) => `${config.taskQueue}-compliance-digest`;
export const housekeepingScheduleId = (config: Config) => `${config.taskQueue}-housekeeping`;
const reviewSchedulePrefix = (config: Config) => `${config.taskQueue}-access-review-`;
export const reviewScheduleId = (config: Config, name: string) => `${reviewSchedulePrefix(config)}${name}`;
/** The schedule's name from its id, or null for a schedule that is not an access review's. */
export const reviewScheduleName = (config: Config, scheduleId: string) =>
  scheduleId.startsWith(reviewSchedulePrefix(config)) ? scheduleId.slice(reviewSchedulePrefix(config).length) : null;

/** Creates the schedule, or replaces it whole when it exists (a memo cannot be updated in place). */
async function putSchedule(w: Workflows, options: ScheduleOptions): Promise<void> {
  try {
    await w.client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await w.client.schedule.getHandle(options.scheduleId).delete();
    await w.client.schedule.create(options);
  }
}

/** A schedule of the service's own that starts `workflowType` on a cron (Asia/Bangkok): created at start, updated in place to the configuration. */
async function ensureCronSchedule(w: Workflows, scheduleId: string, cron: string, workflowType: typeof complianceDigest | typeof housekeeping): Promise<void> {
  const options = {
    scheduleId,
    spec: { cronExpressions: [cron], timezone: 'Asia/Bangkok' },
    action: { type: 'startWorkflow' as const, workflowType, taskQueue: w.config.taskQueue, args: [] as [] },
  };
  try {
    await w.client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await w.client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action }));
  }
}

/** The weekly digest of units without an SSO admin. */
export const ensureComplianceSchedule = (w: Workflows) =>
  ensureCronSchedule(w, complianceScheduleId(w.config), w.config.complianceDigestCron, complianceDigest);

/** Housekeeping: what the service no longer needs removed (HOUSEKEEPING_CRON, MAIL_RETENTION, EXPIRED_TOKEN_RETENTION). */
export const ensureHousekeepingSchedule = (w: Workflows) => ensureCronSchedule(w, housekeepingScheduleId(w.config), w.config.housekeeping.cron, housekeeping);

/** An access review campaign started on a cron (Asia/Bangkok); the cron as given is kept in the memo. */
export async function putReviewSchedule(w: Workflows, cron: string, input: ScheduledReviewInput): Promise<void> {
  const { config } = w;
  await putSchedule(w, {
    scheduleId: reviewScheduleId(config, input.name),
    spec: { cronExpressions: [cron], timezone: 'Asia/Bangkok' },
    action: { type: 'startWorkflow', workflowType: scheduledAccessReview, taskQueue: config.taskQueue, args: [input] },
    memo: { cron },
  });
}

// Appointments (services/appointments.ts): an admin's decision and a revocation, as Updates of the appointment's workflow.
export function sendAppointmentDecision(w: Workflows, appointmentId: string, decision: AppointmentDecision): Promise<AppointmentState> {
  return withinDeadline(w, () => w.client.workflow.getHandle(appointmentWorkflowId(appointmentId)).executeUpdate(decideAppointment, { args: [decision] }));
}

export function sendAppointmentRevocation(
  w: Workflows,
  appointmentId: string,
  revocation: { actorAccountId: string; noteId: string },
): Promise<AppointmentState> {
  return withinDeadline(w, () => w.client.workflow.getHandle(appointmentWorkflowId(appointmentId)).executeUpdate(revokeAppointment, { args: [revocation] }));
}

// Registrations (services/registrations.ts): an admin's decision, the applicant's answer and withdrawal, a
// ThaiID-verified request replacing an unverified one, as Updates.
export function sendRegistrationDecision(w: Workflows, registrationId: string, decision: RegistrationDecision): Promise<RegistrationState> {
  return withinDeadline(w, () => w.client.workflow.getHandle(registrationWorkflowId(registrationId)).executeUpdate(decideRegistration, { args: [decision] }));
}

export function sendRegistrationInfo(w: Workflows, registrationId: string, answer: { noteId: string | null }): Promise<RegistrationState> {
  return withinDeadline(w, () =>
    w.client.workflow.getHandle(registrationWorkflowId(registrationId)).executeUpdate(provideRegistrationInfo, { args: [answer] }),
  );
}

export function sendRegistrationWithdrawal(w: Workflows, registrationId: string): Promise<RegistrationState> {
  return withinDeadline(w, () => w.client.workflow.getHandle(registrationWorkflowId(registrationId)).executeUpdate(withdrawRegistration, { args: [] }));
}

export function sendRegistrationSupersession(w: Workflows, registrationId: string): Promise<RegistrationState> {
  return withinDeadline(w, () => w.client.workflow.getHandle(registrationWorkflowId(registrationId)).executeUpdate(supersedeRegistration, { args: [] }));
}

// Access review campaigns (services/access-reviews.ts): cancellation as an Update, and the review schedules.
export function sendCampaignCancellation(w: Workflows, reviewId: string, actorAccountId: string): Promise<CampaignStatus> {
  return withinDeadline(w, () => w.client.workflow.getHandle(campaignWorkflowId(reviewId)).executeUpdate(cancelCampaign, { args: [{ actorAccountId }] }));
}

export interface ReviewSchedule extends ScheduledReviewInput {
  cron: string | null;
  nextRunAt: Date | null;
}

/** The access review schedules of this deployment, with what each starts. */
export async function reviewSchedules(w: Workflows): Promise<ReviewSchedule[]> {
  const out: ReviewSchedule[] = [];
  for await (const s of w.client.schedule.list()) {
    const name = reviewScheduleName(w.config, s.scheduleId);
    if (name === null) continue;
    const described = await w.client.schedule.getHandle(s.scheduleId).describe();
    const args = (described.action as { args?: [ScheduledReviewInput] }).args?.[0];
    if (!args) continue;
    out.push({ ...args, name, cron: (described.memo as { cron?: string } | undefined)?.cron ?? null, nextRunAt: described.info.nextActionTimes[0] ?? null });
  }
  return out;
}

/** What the schedule starts, or null when there is no such schedule. */
export async function reviewScheduleInput(w: Workflows, name: string): Promise<ScheduledReviewInput | null> {
  try {
    const described = await w.client.schedule.getHandle(reviewScheduleId(w.config, name)).describe();
    return (described.action as { args?: [ScheduledReviewInput] }).args?.[0] ?? null;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}

/** Deletes the schedule; false when there was none. */
export async function removeReviewSchedule(w: Workflows, name: string): Promise<boolean> {
  try {
    await w.client.schedule.getHandle(reviewScheduleId(w.config, name)).delete();
    return true;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return false;
    throw error;
  }
}

/** One audit verification at a time per deployment: a start while one runs finds the running one. */
const auditVerificationId = (config: Config) => `${config.taskQueue}-audit-verification`;

/** Starts the verification of the audit trail's chains, unless one runs already (then that one goes on). */
export async function startAuditVerification(w: Workflows, input: { chains: number; startedBy: string }): Promise<void> {
  await w.client.workflow.start(auditVerification, {
    taskQueue: w.config.taskQueue,
    workflowId: auditVerificationId(w.config),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [input],
  });
}

export type AuditVerificationRun = AuditVerificationState & { status: 'running' | 'completed' | 'failed' };

/** The latest verification: its progress while it runs, its result once done; null when none ran (or Temporal forgot it). */
export async function latestAuditVerification(w: Workflows): Promise<AuditVerificationRun | null> {
  const handle = w.client.workflow.getHandle(auditVerificationId(w.config));
  return withinDeadline(w, async () => {
    try {
      const described = await handle.describe();
      if (described.status.name === 'RUNNING') {
        const state = await handle.query(auditVerificationProgress);
        // The chain being walked: its position so far, from its activity's last heartbeat.
        const beat = described.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
        const inChain = beat ? (defaultPayloadConverter.fromPayload(beat) as { checked?: number } | undefined)?.checked : undefined;
        return { ...state, checked: state.checked + (typeof inChain === 'number' ? inChain : 0), status: 'running' as const };
      }
      if (described.status.name === 'COMPLETED') return { ...(await handle.result()), status: 'completed' as const };
      const startedAt = described.startTime.getTime();
      return {
        startedAt,
        finishedAt: described.closeTime?.getTime() ?? null,
        total: 0,
        checked: 0,
        chains: 0,
        chainsDone: 0,
        broken: null,
        status: 'failed' as const,
      };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  });
}
