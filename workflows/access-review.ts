// An access review (การทบทวนสิทธิ์) of rights, decided keep or revoke per right by the admins of the
// unit that holds them; reminded, escalated up the tree, and settled by a rule at the due date.
// Decisions are written by the API (each takes effect at once); the workflow hears that they
// changed, closes when nothing is left undecided, and applies the rule to what is at the due date.
import { condition, defineSignal, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { AccessReviewActivities } from '../activities/access-review.ts';
import type { OrgTreeActivities } from '../activities/org-tree.ts';
import type { ReviewTimers } from '../lib/config.ts';
import { DecisionClock } from './decision-clock.ts';

export interface AccessReviewInput {
  reviewId: string;
  /** The unit whose admins review first. */
  actingUnitCode: string;
  dueAt: number;
  timers: Pick<ReviewTimers, 'remindAfterMs' | 'escalateAfterMs'>;
}

export const reviewDecisionsChanged = defineSignal('reviewDecisionsChanged');
export const accessReviewWorkflowId = (reviewId: string) => `access-review-${reviewId}`;

const retry = { initialInterval: '1 second', maximumInterval: '1 minute' };
const act = proxyActivities<AccessReviewActivities>({ startToCloseTimeout: '5 minutes', retry });
const db = proxyLocalActivities<AccessReviewActivities & OrgTreeActivities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry });

export async function accessReview(input: AccessReviewInput): Promise<'completed'> {
  const { reviewId } = input;
  let actingUnitCode = input.actingUnitCode;
  let changes = 0;
  let step = 0;
  setHandler(reviewDecisionsChanged, () => {
    changes++;
  });
  const clock = new DecisionClock({ ...input.timers, expireAfterMs: Math.max(0, input.dueAt - Date.now()) });

  await act.mailReviewers({ reviewId, seq: step, kind: 'new', unitCode: actingUnitCode });
  for (;;) {
    const seen = changes;
    const changed = await condition(() => changes !== seen, Math.max(1, clock.wakeAt(true) - Date.now()));
    if (changed) {
      if ((await db.undecidedItems({ reviewId })) === 0) {
        await db.completeReview({ reviewId, ruleApplied: false });
        break;
      }
      continue;
    }
    const due = clock.due(true);
    if (due === 'expire') {
      await db.completeReview({ reviewId, ruleApplied: true });
      await act.mailReviewOutcome({ reviewId });
      break;
    } else if (due === 'escalate') {
      const parent = await db.findActingUnit({ unitCode: actingUnitCode, above: true });
      if (!parent) {
        clock.reachedTop();
        continue;
      }
      await db.escalateReview({ reviewId, fromUnitCode: actingUnitCode, toUnitCode: parent });
      actingUnitCode = parent;
      clock.restartAtUnit();
      await act.mailReviewers({ reviewId, seq: ++step, kind: 'escalated', unitCode: actingUnitCode });
    } else if (due === 'remind') {
      clock.reminded();
      // Reminders go only while something is undecided.
      if ((await db.undecidedItems({ reviewId })) === 0) {
        await db.completeReview({ reviewId, ruleApplied: false });
        break;
      }
      await act.mailReviewers({ reviewId, seq: ++step, kind: 'reminder', unitCode: actingUnitCode });
    }
  }
  return 'completed';
}
