// The weekly compliance digest: every unit's SSO admins hear which units they cover have no admin
// of their own. Started by a Temporal Schedule (see lib/schedules.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { ComplianceActivities } from '../activities/compliance.ts';

const act = proxyActivities<ComplianceActivities>({ startToCloseTimeout: '10 minutes', retry: { maximumInterval: '5 minutes' } });

export async function complianceDigest(): Promise<{ units: number; mails: number }> {
  return act.mailUnitsWithoutAdmin();
}
