// Personnel changes (the HR feed): one workflow per person, which applies that person's events in
// effective-date order, each at 00:00 Asia/Bangkok of its date (at once when that is past).
// A newer event of the same type replaces one still waiting (a corrected retirement date), except that an admin's
// report never replaces one of the signed feed.
// The workflow id comes from the keyed hash of the citizen ID; events carry ids and dates only.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PersonnelActivities } from '../activities/personnel.ts';
import type { PersonnelEventType } from '../db/schema.ts';
import type { ReviewTimers } from '../lib/config.ts';
import { accessReview, accessReviewWorkflowId } from './access-review.ts';

export interface PersonnelNotice {
  eventId: string;
  type: PersonnelEventType;
  effectiveDate: string;
  /** Reported by an admin (not the signed HR feed): it never replaces an event of the feed. Absent in older histories. */
  byAdmin?: boolean;
}

export interface PersonInput {
  personKey: string;
  /** Events received and not yet applied (carried over by continue-as-new). */
  pending: PersonnelNotice[];
  idleMs: number;
  reviewTimers: { role_change: ReviewTimers; transfer: ReviewTimers };
}

export const personnelEventReceived = defineSignal<[PersonnelNotice]>('personnelEventReceived');

export const personWorkflowId = (citizenIdHash: string) => `person-${citizenIdHash.slice(0, 40)}`;

/** 00:00 Asia/Bangkok (UTC+7, no daylight saving) of the date. */
export function effectiveMoment(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - 7 * 3_600_000;
}

const retry = { initialInterval: '500 milliseconds', maximumInterval: '1 minute' };
// Local activities: no round trip through the server's queues per step, which is what lets a burst
// of thousands apply within a minute. If the worker dies, the workflow task is retried elsewhere
// and the steps run again; each is idempotent (the event's status, the outbox's keys).
const db = proxyLocalActivities<PersonnelActivities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry });

export async function person(input: PersonInput): Promise<void> {
  const pending: PersonnelNotice[] = [...input.pending];
  const replaced: { eventId: string; by: string }[] = [];
  let arrivals = 0;

  setHandler(personnelEventReceived, (notice) => {
    if (pending.some((p) => p.eventId === notice.eventId)) return; // sent again: already waiting
    // An admin's report replaces only another admin's report: what the signed feed says stays (an admin would
    // otherwise cancel HR's retirement of themselves or of anyone by reporting a later one).
    const older = pending.findIndex((p) => p.type === notice.type && !(notice.byAdmin && !p.byAdmin));
    if (older >= 0) replaced.push({ eventId: pending.splice(older, 1)[0]!.eventId, by: notice.eventId });
    pending.push(notice);
    // Effective-date order; arrival order among equals (sort is stable).
    pending.sort((a, b) => (a.effectiveDate < b.effectiveDate ? -1 : a.effectiveDate > b.effectiveDate ? 1 : 0));
    arrivals++;
  });

  for (;;) {
    while (replaced.length > 0) await db.supersedePersonnelEvent(replaced.shift()!);
    const next = pending[0];
    if (!next) {
      // Nothing waiting: stay a while for more (idleMs), then close; a later event starts a new
      // run. Staying open costs a timer; closing at once measured slower on the dev server.
      if (input.idleMs <= 0 || !(await condition(() => pending.length > 0 || replaced.length > 0, input.idleMs))) break;
      continue;
    }
    const at = effectiveMoment(next.effectiveDate);
    if (at > Date.now()) {
      const seen = arrivals;
      if (await condition(() => arrivals !== seen || replaced.length > 0, at - Date.now())) continue;
    }
    const result = await db.applyPersonnelEvent({ eventId: next.eventId });
    pending.splice(
      pending.findIndex((p) => p.eventId === next.eventId),
      1,
    );
    if (result.review) {
      const timers = input.reviewTimers[next.type === 'transfer' ? 'transfer' : 'role_change'];
      await startChild(accessReview, {
        workflowId: accessReviewWorkflowId(result.review.reviewId),
        args: [{ reviewId: result.review.reviewId, actingUnitCode: result.review.reviewerUnitCode, dueAt: result.review.dueAt, timers }],
        // The review outlives this run (continue-as-new, closing when idle).
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }).catch((error: unknown) => {
        // An event sent again after its review started: that review runs already.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      });
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof person>({ ...input, pending });
    }
  }
  await condition(allHandlersFinished);
  // An event that came in while closing is never dropped: carry it into a fresh run.
  if (pending.length > 0 || replaced.length > 0) await continueAsNew<typeof person>({ ...input, pending });
}
