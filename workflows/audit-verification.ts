// DLA central's check of the audit trail's hash chains, as a background job: one activity per chain,
// the progress kept here and read by a query while it runs (the page polls it), the result kept as
// the workflow's result once it is done.
import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { AuditVerificationActivities } from '../activities/audit-verification.ts';

const act = proxyActivities<AuditVerificationActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute' },
});

export interface AuditVerificationState {
  startedAt: number;
  finishedAt: number | null;
  /** Events in the trail when the check began (later ones may be checked too). */
  total: number;
  checked: number;
  chains: number;
  chainsDone: number;
  /** The first event (lowest id) whose hash or link does not hold. */
  broken: { id: number; problem: string } | null;
}

export const auditVerificationProgress = defineQuery<AuditVerificationState>('auditVerificationProgress');

export async function auditVerification(input: { chains: number; startedBy: string }): Promise<AuditVerificationState> {
  const state: AuditVerificationState = { startedAt: Date.now(), finishedAt: null, total: 0, checked: 0, chains: input.chains, chainsDone: 0, broken: null };
  setHandler(auditVerificationProgress, () => state);
  state.total = await act.countAuditEvents();
  for (let chain = 0; chain < input.chains; chain++) {
    const report = await act.verifyAuditChainOf(chain);
    state.checked += report.checked;
    state.chainsDone++;
    if (report.broken && (!state.broken || report.broken.id < state.broken.id)) state.broken = report.broken;
  }
  state.finishedAt = Date.now();
  return state;
}
