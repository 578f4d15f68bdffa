// Every workflow the worker runs (the bundle's entry point).
export { registration } from './registration.ts';
export { appointment } from './appointment.ts';
export { complianceDigest } from './compliance.ts';
export { housekeeping } from './housekeeping.ts';
export { person } from './personnel.ts';
export { accessReview } from './access-review.ts';
export { accessReviewCampaign } from './access-review-campaign.ts';
export { scheduledAccessReview } from './access-review-schedule.ts';
export { auditVerification } from './audit-verification.ts';
