// The audit trail's verification, chain by chain (db/audit.ts): each chain walked in batches, its
// position sent as the heartbeat, so that a retried walk (a worker restarted) goes on where it stood.
import { Context } from '@temporalio/activity';
import { countAuditEvents, verifyChain, type ChainPosition, type ChainReport } from '../db/audit.ts';
import type { ActivityDeps } from './deps.ts';

export function createAuditVerificationActivities({ db }: ActivityDeps) {
  return {
    async countAuditEvents(): Promise<number> {
      return countAuditEvents(db);
    },

    async verifyAuditChainOf(chain: number): Promise<ChainReport> {
      const context = Context.current();
      const from = context.info.heartbeatDetails as ChainPosition | undefined;
      return verifyChain(db, chain, { from, onBatch: (position) => context.heartbeat(position) });
    },
  };
}

export type AuditVerificationActivities = ReturnType<typeof createAuditVerificationActivities>;
