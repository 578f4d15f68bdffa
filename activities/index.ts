// Every activity the worker runs, built from the process's shared resources.
import type { Db } from '../db/client.ts';
import type { Config } from '../lib/config.ts';
import type { DocumentStore } from '../lib/document-store.ts';
import type { LogoutSigner } from '../lib/sso/backchannel-logout.ts';
import type { MailTransport } from './mail.ts';
import { createCampaignActivities } from './access-review-campaign.ts';
import { createAccessReviewActivities } from './access-review.ts';
import { createAppointmentActivities } from './appointment.ts';
import { createComplianceActivities } from './compliance.ts';
import { createOrgTreeActivities } from './org-tree.ts';
import { createPersonnelActivities } from './personnel.ts';
import { createRegistrationActivities } from './registration.ts';

export interface ActivityDeps {
  db: Db;
  config: Config;
  mail: MailTransport;
  documentStore: DocumentStore;
  /** Signs the back-channel logout notices sent when a person's sign-ins end. */
  logoutSigner: LogoutSigner;
}

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
