// Housekeeping: secrets and records the service no longer needs, removed on a Temporal Schedule
// (services/workflows.ts ensureHousekeepingSchedule), so that a run missed while the workers were
// down is caught up and never runs twice at once.
import { proxyActivities } from '@temporalio/workflow';
import type { HousekeepingActivities, HousekeepingResult } from '../activities/housekeeping.ts';

const act = proxyActivities<HousekeepingActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '5 minutes' },
});

export async function housekeeping(): Promise<HousekeepingResult> {
  return act.keepHouse();
}
