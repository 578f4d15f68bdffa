// Every activity the worker runs, built from the process's shared resources.
import { withoutQueryValues } from '../lib/query-errors.ts';
import type { ActivityDeps } from './deps.ts';
import { createCampaignActivities } from './access-review-campaign.ts';
import { createAccessReviewActivities } from './access-review.ts';
import { createAppointmentActivities } from './appointment.ts';
import { createAuditVerificationActivities } from './audit-verification.ts';
import { createComplianceActivities } from './compliance.ts';
import { createHousekeepingActivities } from './housekeeping.ts';
import { createOrgTreeActivities } from './org-tree.ts';
import { createPersonnelActivities } from './personnel.ts';
import { createRegistrationActivities } from './registration.ts';

/** Each activity, its failures without a query's bound values (Temporal keeps and shows what an activity throws). */
function withoutQueryValuesInFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      async (...args: never[]) => {
        try {
          return await run(...args);
        } catch (error) {
          throw withoutQueryValues(error);
        }
      },
    ]),
  ) as T;
}

export function createActivities(deps: ActivityDeps) {
  return withoutQueryValuesInFailures({
    ...createOrgTreeActivities(deps),
    ...createRegistrationActivities(deps),
    ...createAppointmentActivities(deps),
    ...createComplianceActivities(deps),
    ...createHousekeepingActivities(deps),
    ...createPersonnelActivities(deps),
    ...createAccessReviewActivities(deps),
    ...createCampaignActivities(deps),
    ...createAuditVerificationActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;

export type { ActivityDeps } from './deps.ts';
