// What a review schedule starts each time: a new campaign, run as a child of this run.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CampaignActivities } from '../activities/access-review-campaign.ts';
import type { ReviewRule } from '../db/schema.ts';
import { accessReviewCampaign, campaignWorkflowId } from './access-review-campaign.ts';

export interface ScheduledReviewInput {
  name: string;
  scopeUnitCode: string;
  durationDays: number;
  onNoDecision: ReviewRule;
  createdBy: string;
}

const act = proxyActivities<CampaignActivities>({ startToCloseTimeout: '1 minute' });

export async function scheduledAccessReview(input: ScheduledReviewInput): Promise<string> {
  const campaign = await act.createScheduledCampaign({ ...input, runId: workflowInfo().workflowId });
  await executeChild(accessReviewCampaign, { workflowId: campaignWorkflowId(campaign.reviewId), args: [campaign.input] });
  return campaign.reviewId;
}
