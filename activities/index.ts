// Every activity the worker runs, built from the process's shared resources.
import type { ActivityDeps } from './deps.ts';
import { createCampaignActivities } from './access-review-campaign.ts';
import { createAccessReviewActivities } from './access-review.ts';
import { createAppointmentActivities } from './appointment.ts';
import { createComplianceActivities } from './compliance.ts';
import { createOrgTreeActivities } from './org-tree.ts';
import { createPersonnelActivities } from './personnel.ts';
import { createRegistrationActivities } from './registration.ts';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createOrgTreeActivities(deps),
    ...createRegistrationActivities(deps),
    ...createAppointmentActivities(deps),
    ...createComplianceActivities(deps),
    ...createPersonnelActivities(deps),
    ...createAccessReviewActivities(deps),
    ...createCampaignActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

export type { ActivityDeps } from './deps.ts';
