// Personnel changes (the HR feed): one workflow per person, which applies that person's events in
// effective-date order, each at 00:00 Asia/Bangkok of its date (at once when that is past).
// A newer event that is the same change as one still waiting corrects it (see `corrects`), except that an admin's
// report never replaces one of the signed feed. The replaced one is recorded `superseded` in the database, which
// start-up's re-hand-over consults; and the workflow keeps what it settled (applied or replaced) across
// continue-as-new, so that a re-hand-over that read the rows before the change was recorded changes nothing.
// The workflow id comes from the keyed hash of the citizen ID; events carry ids and dates only.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  ParentClosePolicy,
  patched,
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
  /** A transfer's destination (a unit code): tells a second move from a corrected one. Absent in older histories. */
  toUnitCode?: string;
}

export interface PersonInput {
  personKey: string;
  /** Events received and not yet applied (carried over by continue-as-new). */
  pending: PersonnelNotice[];
  /** Replacements decided and not yet recorded (carried over by continue-as-new). */
  replacing?: { eventId: string; by: string }[];
  /** Events this person's workflow applied or replaced (carried over): sent again, they change nothing. */
  settled?: string[];
  idleMs: number;
  reviewTimers: { role_change: ReviewTimers; transfer: ReviewTimers };
  /** Continue as new once the history holds this many events, besides when Temporal suggests it (tests set a short one; keep it above ~12 for a run to make progress). */
  historyLimit?: number;
}

export const personnelEventReceived = defineSignal<[PersonnelNotice]>('personnelEventReceived');

export const personWorkflowId = (citizenIdHash: string) => `person-${citizenIdHash.slice(0, 40)}`;

/** 00:00 Asia/Bangkok (UTC+7, no daylight saving) of the date. */
export function effectiveMoment(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - 7 * 3_600_000;
}

/**
 * Whether `newer` corrects `waiting` (the same change, sent again with another date or detail) rather than being a
 * change of its own. A person retires, resigns or dies once, and one suspension or change of duties waits at a time:
 * a newer one of the type corrects it. A person may move more than once: a transfer corrects a waiting one only when
 * it moves on the same date or to the same unit; another unit on another date is a second move, applied in turn.
 */
export function corrects(newer: PersonnelNotice, waiting: PersonnelNotice): boolean {
  if (newer.type !== waiting.type) return false;
  // What the signed feed says stays: an admin would otherwise cancel HR's retirement of anyone by reporting a later one.
  if (newer.byAdmin && !waiting.byAdmin) return false;
  if (newer.type !== 'transfer') return true;
  return newer.effectiveDate === waiting.effectiveDate || (newer.toUnitCode !== undefined && newer.toUnitCode === waiting.toUnitCode);
}

/** The rule before `corrects`: any newer event of the type (replayed by runs that began under it). */
const sameType = (newer: PersonnelNotice, waiting: PersonnelNotice) => waiting.type === newer.type && !(newer.byAdmin && !waiting.byAdmin);

/** How many settled ids a run carries over: far more than one person's waiting events. */
const SETTLED_KEPT = 200;

const retry = { initialInterval: '500 milliseconds', maximumInterval: '1 minute' };
// Local activities: no round trip through the server's queues per step, which is what lets a burst
// of thousands apply within a minute. If the worker dies, the workflow task is retried elsewhere
// and the steps run again; each is idempotent (the event's status, the outbox's keys).
const db = proxyLocalActivities<PersonnelActivities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry });

export async function person(input: PersonInput): Promise<void> {
  // Runs begun before this rule replay the old one (replacement by type, nothing remembered).
  const byChange = patched('person-corrects-same-change');
  const pending: PersonnelNotice[] = [...input.pending];
  const replacing: { eventId: string; by: string }[] = [...(input.replacing ?? [])];
  const settled = new Set(input.settled ?? []);
  let arrivals = 0;
  const carried = (): PersonInput => ({ ...input, pending, replacing, settled: [...settled].slice(-SETTLED_KEPT) });
  const historyIsLong = () => workflowInfo().continueAsNewSuggested || (input.historyLimit !== undefined && workflowInfo().historyLength >= input.historyLimit);

  setHandler(personnelEventReceived, (notice) => {
    if (pending.some((p) => p.eventId === notice.eventId)) return; // sent again: already waiting
    // Applied or replaced already: a re-hand-over that read the rows before this run recorded it.
    if (byChange && settled.has(notice.eventId)) return;
    const older = pending.findIndex((p) => (byChange ? corrects : sameType)(notice, p));
    if (older >= 0) {
      const replaced = pending.splice(older, 1)[0]!.eventId;
      replacing.push({ eventId: replaced, by: notice.eventId });
      if (byChange) settled.add(replaced);
    }
    pending.push(notice);
    // Effective-date order; arrival order among equals (sort is stable).
    pending.sort((a, b) => (a.effectiveDate < b.effectiveDate ? -1 : a.effectiveDate > b.effectiveDate ? 1 : 0));
    arrivals++;
  });

  for (;;) {
    while (replacing.length > 0) await db.supersedePersonnelEvent(replacing[0]!).then(() => replacing.shift());
    // Also while events wait (a long wait gathers signals): they and what was settled go on into the next run.
    if (byChange && historyIsLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof person>(carried());
    }
    const next = pending[0];
    if (!next) {
      // Nothing waiting: close (or first stay idleMs for more); a later event starts a new run.
      // Staying open only defers the close: a timer, and a replay of the evicted run when it fires.
      if (input.idleMs <= 0 || !(await condition(() => pending.length > 0 || replacing.length > 0, input.idleMs))) break;
      continue;
    }
    const at = effectiveMoment(next.effectiveDate);
    if (at > Date.now()) {
      const seen = arrivals;
      if (await condition(() => arrivals !== seen || replacing.length > 0, at - Date.now())) continue;
    }
    const result = await db.applyPersonnelEvent({ eventId: next.eventId });
    pending.splice(
      pending.findIndex((p) => p.eventId === next.eventId),
      1,
    );
    // One the API forgot is not settled: the sender's retry brings it again under the same id.
    if (byChange && !result.missing) settled.add(next.eventId);
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
    if (!byChange && workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof person>(carried());
    }
  }
  await condition(allHandlersFinished);
  // An event that came in while closing is never dropped: carry it into a fresh run.
  if (pending.length > 0 || replacing.length > 0) await continueAsNew<typeof person>(carried());
}
