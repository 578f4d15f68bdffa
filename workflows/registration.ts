// The registration request (คำขอลงทะเบียนผู้ใช้งาน) as a durable process:
//   pending_approval ⇄ info_requested → approved | rejected | expired | withdrawn | superseded
// The unit's SSO admins are reminded; when they do not act the request escalates up the organisation
// tree; when nobody completes it, it expires. Admins and the applicant act through Updates, whose
// validators refuse what the request no longer awaits (the API answers 409).
// Inputs and messages carry ids only: no personal data or secret enters Temporal's history.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrgTreeActivities } from '../activities/org-tree.ts';
import type { AdminMail, ApplicantMail, RegistrationActivities, RegistrationStep } from '../activities/registration.ts';
import type { RegistrationTimers } from '../lib/config.ts';
import type { RegistrationStatus, RequestedAccess } from '../db/schema.ts';
import { MailQueue } from './mail-queue.ts';
import { DecisionClock, NOT_AWAITING, TransitionLock } from './decision-clock.ts';
import { registrationActingUnitKey, registrationStatusKey } from './search-attributes.ts';

export interface RegistrationInput {
  registrationId: string;
  /** Where the request waits first: the applicant's unit, or the nearest unit above it with an admin. */
  actingUnitCode: string;
  /** Outbox key of the applicant's submission mail (it holds the tracking code, so the API queued it). */
  submissionMailKey: string;
  timers: RegistrationTimers;
}

export interface RegistrationState {
  status: RegistrationStatus;
  actingUnitCode: string;
}

export type RegistrationDecision =
  | { decision: 'approve'; actorAccountId: string; noteId?: string | null; access?: RequestedAccess[] | null }
  | { decision: 'reject' | 'request_info'; actorAccountId: string; noteId: string };

/** An admin's decision. Rejected with `NotAwaitingDecision` unless the request is pending approval. */
export const decideRegistration = defineUpdate<RegistrationState, [RegistrationDecision]>('decideRegistration');
/** The applicant answered a request for information (new data and documents are already stored). */
export const provideRegistrationInfo = defineUpdate<RegistrationState, [{ noteId?: string | null }]>('provideRegistrationInfo');
export const withdrawRegistration = defineUpdate<RegistrationState, []>('withdrawRegistration');
/**
 * A request for the same citizen ID, verified through ThaiID, replaces this unverified one (the API
 * checked both): it ends, and its applicant is told. Whoever submits first cannot hold a person's
 * registration until expiry.
 */
export const supersedeRegistration = defineUpdate<RegistrationState, []>('supersedeRegistration');
export const registrationState = defineQuery<RegistrationState>('registrationState');

/** One workflow per request, named after it. */
export const registrationWorkflowId = (registrationId: string) => `registration-${registrationId}`;
const FINAL: readonly RegistrationStatus[] = ['approved', 'rejected', 'expired', 'withdrawn', 'superseded'];

const retry = { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['RegistrationMissing', 'AccountExists'] };
/** Mail: ordinary activities, retried for as long as the SMTP relay needs. */
const act = proxyActivities<RegistrationActivities>({ startToCloseTimeout: '30 seconds', retry });
/**
 * Short database transitions run as local activities: an admin's decision is answered within one
 * workflow task instead of waiting for a round trip through the server's activity queue.
 */
const db = proxyLocalActivities<RegistrationActivities & OrgTreeActivities>({ startToCloseTimeout: '15 seconds', localRetryThreshold: '10 seconds', retry });

export async function registration(input: RegistrationInput): Promise<RegistrationStatus> {
  const { registrationId, timers } = input;
  let status: RegistrationStatus = 'pending_approval';
  let actingUnitCode = input.actingUnitCode;
  let seq = 0; // step 0, "submitted", was written by the API with the request
  /** While a message's transition is being written, further messages are refused (409). */
  const transition = new TransitionLock();
  const mails = new MailQueue();

  const clock = new DecisionClock(timers);

  const publish = () =>
    upsertSearchAttributes([
      { key: registrationStatusKey, value: status },
      { key: registrationActingUnitKey, value: actingUnitCode },
    ]);
  publish();

  const state = (): RegistrationState => ({ status, actingUnitCode });
  const refuseUnless = (...allowed: RegistrationStatus[]) => {
    if (transition.busy || !allowed.includes(status)) {
      throw ApplicationFailure.create({ type: NOT_AWAITING, message: `the request is ${status}`, nonRetryable: true });
    }
  };

  /** Writes a step of the history and moves the request to its new state. */
  async function step(event: string, next: Partial<RegistrationState>, extra: Omit<Partial<RegistrationStep>, 'seq'> = {}) {
    const s: RegistrationStep = { registrationId, seq: ++seq, event, ...next, ...extra };
    await db.recordRegistrationStep(s);
    if (next.status) status = next.status;
    if (next.actingUnitCode) actingUnitCode = next.actingUnitCode;
    publish();
    return s.seq;
  }

  const mailApplicant = (template: ApplicantMail, at: number, noteId?: string | null) =>
    mails.push(() => act.notifyRegistrationApplicant({ registrationId, seq: at, template, noteId }));

  const mailAdmins = (template: AdminMail, at: number, unitCode: string) =>
    mails.push(() => act.notifyRegistrationAdmins({ registrationId, seq: at, template, unitCode }));

  /** Runs a message's transition alone; failures of the activity fail the Update, not the request. */
  const exclusively = <T>(work: () => Promise<T>) => transition.run(work, { failUpdateWithActivityError: true });

  setHandler(registrationState, state);

  setHandler(
    decideRegistration,
    (d) =>
      exclusively(async () => {
        if (d.decision === 'approve') {
          const at = ++seq;
          await db.approveRegistration({
            registrationId,
            seq: at,
            event: 'approved',
            actorAccountId: d.actorAccountId,
            noteId: d.noteId ?? null,
            access: d.access ?? null,
          });
          status = 'approved';
          publish();
          mailApplicant('registration-approved', at);
        } else if (d.decision === 'reject') {
          const at = await step('rejected', { status: 'rejected' }, { actorAccountId: d.actorAccountId, noteId: d.noteId });
          mailApplicant('registration-rejected', at, d.noteId);
        } else {
          const at = await step('info_requested', { status: 'info_requested' }, { actorAccountId: d.actorAccountId, noteId: d.noteId });
          clock.restartExpiry(); // the applicant now has the full expiry period to answer
          mailApplicant('registration-info-requested', at, d.noteId);
        }
        return state();
      }),
    { validator: (_decision: RegistrationDecision) => refuseUnless('pending_approval') },
  );

  setHandler(
    provideRegistrationInfo,
    (info) =>
      exclusively(async () => {
        await step('info_provided', { status: 'pending_approval' }, { noteId: info.noteId ?? null });
        clock.restartExpiry();
        clock.restartAtUnit();
        mailAdmins('registration-arrived', seq, actingUnitCode);
        return state();
      }),
    { validator: (_info: { noteId?: string | null }) => refuseUnless('info_requested') },
  );

  setHandler(
    withdrawRegistration,
    () =>
      exclusively(async () => {
        await step('withdrawn', { status: 'withdrawn' });
        return state();
      }),
    { validator: () => refuseUnless('pending_approval', 'info_requested') },
  );

  setHandler(
    supersedeRegistration,
    () =>
      exclusively(async () => {
        const at = await step('superseded', { status: 'superseded' });
        mailApplicant('registration-superseded', at);
        return state();
      }),
    { validator: () => refuseUnless('pending_approval', 'info_requested') },
  );

  /** Moves the request to the next unit up that has an admin, and tells its admins. */
  async function escalateToParentUnit() {
    const parent = await db.findActingUnit({ unitCode: actingUnitCode, above: true });
    if (!parent) {
      clock.reachedTop(); // DLA central is the top: it waits there until expiry
      return;
    }
    const at = await step('escalated', { actingUnitCode: parent });
    clock.restartAtUnit();
    mailAdmins('registration-escalated', at, parent);
  }

  mails.push(() => act.deliverQueuedMail(input.submissionMailKey));
  await mails.sendInLine();
  mailAdmins('registration-arrived', 0, actingUnitCode);

  while (!FINAL.includes(status)) {
    const before = seq;
    await condition(() => seq !== before || mails.dueInLine, Math.max(1, clock.wakeAt(status === 'pending_approval') - Date.now()));
    await mails.sendInLine();
    if (seq !== before || FINAL.includes(status)) continue; // a message moved the request; recompute the clocks

    // The clock's own transitions also hold off messages, so an approval cannot cross an expiry.
    await exclusively(async () => {
      if (FINAL.includes(status)) return;
      const due = clock.due(status === 'pending_approval');
      if (due === 'expire') {
        const at = await step('expired', { status: 'expired' });
        mailApplicant('registration-expired', at);
      } else if (due === 'escalate') {
        await escalateToParentUnit();
      } else if (due === 'remind') {
        const at = await step('reminded', {});
        clock.reminded();
        mailAdmins('registration-reminder', at, actingUnitCode);
      }
    });
  }

  await condition(allHandlersFinished);
  await mails.sent();
  // Handlers change `status` behind the compiler's back: read it afresh.
  if ((status as RegistrationStatus) !== 'approved') {
    await sleep(timers.documentRetentionMs);
    await act.deleteRegistrationDocuments(registrationId);
  }
  return status;
}
