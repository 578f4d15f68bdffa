// The audit trail, for admins: what happened in the units they administer (DLA central: everywhere).
import { and, desc, eq, gte, lt, or, sql } from 'drizzle-orm';
import { mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import { auditEvents } from '../db/schema.ts';
import { forbidden } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';

export interface AuditQuery {
  unitCode?: string | undefined;
  accountId?: string | undefined;
  since?: string | undefined;
  limit: number;
  before?: { id: number } | undefined;
}

/**
 * Newest first, within the actor's units: `unitCode` narrows to that unit and the units below it,
 * `accountId` to events by or about that account. `limit + 1` rows before `before`, for the caller to page.
 */
export async function listAuditEvents(deps: ServiceDeps, actor: Actor, query: AuditQuery) {
  const { db } = deps;
  const { unitCode, accountId, since, limit, before } = query;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may read the audit trail.');
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(
      and(
        withinScopeSql(actor, auditEvents.unitCode),
        unitCode ? sql`${auditEvents.unitCode} in ${subtreeSql([unitCode])}` : undefined,
        accountId
          ? or(eq(auditEvents.actorAccountId, accountId), and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, accountId)))
          : undefined,
        since ? gte(auditEvents.at, new Date(since)) : undefined,
        before ? lt(auditEvents.id, before.id) : undefined,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1);
  return rows.map((e) => ({
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    actorAccountId: e.actorAccountId,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    unitCode: e.unitCode,
    reason: e.reason,
    before: e.before,
    after: e.after,
    hash: e.hash,
  }));
}
