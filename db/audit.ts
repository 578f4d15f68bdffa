// The audit trail: who, what, when, why, with the record before and after. Written in the same
// transaction as the change it describes; the key makes a retried write a no-op.
import type { Db } from './client.ts';
import { auditEvents } from './schema.ts';

export interface AuditEntry {
  key: string;
  actorAccountId?: string | null | undefined;
  /** `account:<id>`, `system` (a workflow's own decision) or `hr-feed`. */
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  unitCode?: string | null | undefined;
  reason?: string | null | undefined;
  before?: unknown;
  after?: unknown;
}

export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.insert(auditEvents).values({
    key: entry.key,
    actorAccountId: entry.actorAccountId ?? null,
    actor: entry.actor,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    unitCode: entry.unitCode ?? null,
    reason: entry.reason ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
  }).onConflictDoNothing();
}

export const actorOf = (accountId: string | null | undefined) => (accountId ? `account:${accountId}` : 'system');
