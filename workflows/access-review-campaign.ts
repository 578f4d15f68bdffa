// An access review campaign over a subtree of the organisation: every active right in scope is an
// item, decided keep or revoke by the admins of the unit holding it. Reminder digests go out at set
// points before the due date, undecided items escalate to the unit above, and at the due date the
// campaign's rule settles what nobody decided.
//
// Shape: one workflow per campaign, whose steps fan out as activities per top-level subtree (the
// provinces under DLA, or the districts under a province). Every unit shares the campaign's clock,
// so units need no timers of their own, and the state of each item lives in PostgreSQL: a campaign
// over all ~7,850 LAOs is one workflow with a few hundred activity calls, far inside Temporal's
// limits (no 2,000-children ceiling to manage, a short history).
import { condition, defineQuery, defineUpdate, proxyActivities, setHandler, ApplicationFailure } from '@temporalio/workflow';
import type { CampaignActivities } from '../activities/access-review-campaign.ts';

export interface CampaignInput {
  reviewId: string;
  dueAt: number;
  /** Reminder digests this long before the due date (points already past are skipped). */
  remindBeforeMs: number[];
  /** Undecided items move to the admins of the unit above this long before the due date. */
  escalateBeforeMs: number;
}

export type CampaignStatus = 'running' | 'completed' | 'cancelled';
export const cancelCampaign = defineUpdate<CampaignStatus, [{ actorAccountId: string }]>('cancelCampaign');
export const campaignStatus = defineQuery<CampaignStatus>('campaignStatus');
export const campaignWorkflowId = (reviewId: string) => `access-review-campaign-${reviewId}`;

const act = proxyActivities<CampaignActivities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute', retry: { maximumInterval: '1 minute' } });

/** Runs `work` for each part, ten at a time. */
async function fanOut(parts: string[], work: (part: string) => Promise<unknown>) {
  for (let i = 0; i < parts.length; i += 10) await Promise.all(parts.slice(i, i + 10).map(work));
}

export async function accessReviewCampaign(input: CampaignInput): Promise<CampaignStatus> {
  const { reviewId } = input;
  let status: CampaignStatus = 'running';
  let cancelledBy: string | null = null;
  setHandler(campaignStatus, () => status);
  setHandler(
    cancelCampaign,
    async ({ actorAccountId }) => {
      cancelledBy = actorAccountId;
      await condition(() => status !== 'running');
      return status;
    },
    {
      validator: (_input: { actorAccountId: string }) => {
        if (status !== 'running' || cancelledBy)
          throw ApplicationFailure.create({ type: 'NotRunning', message: `the campaign is ${status}`, nonRetryable: true });
      },
    },
  );

  const { parts } = await act.materializeCampaign({ reviewId });
  let seq = 0;
  await fanOut(parts, (underUnitCode) => act.sendReviewDigests({ reviewId, seq, kind: 'new', underUnitCode }));

  const points = [
    ...input.remindBeforeMs.map((before) => ({ at: input.dueAt - before, kind: 'remind' as const })),
    { at: input.dueAt - input.escalateBeforeMs, kind: 'escalate' as const },
  ]
    .filter((p) => p.at > Date.now())
    .sort((a, b) => a.at - b.at);

  for (const point of points) {
    if (await condition(() => cancelledBy !== null, point.at - Date.now())) break;
    seq++;
    if (point.kind === 'escalate') {
      await fanOut(parts, (underUnitCode) => act.escalateCampaign({ reviewId, underUnitCode }));
      await fanOut(parts, (underUnitCode) => act.sendReviewDigests({ reviewId, seq, kind: 'escalated', underUnitCode }));
    } else {
      await fanOut(parts, (underUnitCode) => act.sendReviewDigests({ reviewId, seq, kind: 'reminder', underUnitCode }));
    }
  }
  if (!cancelledBy && !(await condition(() => cancelledBy !== null, Math.max(1, input.dueAt - Date.now())))) {
    await fanOut(parts, (underUnitCode) => act.applyCampaignRule({ reviewId, underUnitCode }));
    await act.closeCampaign({ reviewId, status: 'completed', actorAccountId: null });
    status = 'completed';
  } else {
    await act.closeCampaign({ reviewId, status: 'cancelled', actorAccountId: cancelledBy });
    status = 'cancelled';
  }
  return status;
}
