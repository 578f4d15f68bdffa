// The audit trail, for admins: what happened in the units they administer (DLA central: everywhere).
import { and, desc, eq, gte, lt, or, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { subtreeSql } from '../../db/org-tree.ts';
import { auditEvents } from '../../db/schema.ts';
import { forbidden } from '../../lib/problem.ts';
import { listQuery, readCursor, toPage, unitCode } from '../schemas.ts';

interface AuditQuery { unitCode?: string; accountId?: string; since?: string; limit: number; cursor?: string }

export default async function auditRoutes(app: FastifyInstance) {
  const { db } = app.deps;

  app.get<{ Querystring: AuditQuery }>('/audit', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['audit'], security: [{ bearer: [] }],
      description: 'Newest first. `unitCode` narrows to that unit and the units below it; `accountId` to events by or about that account.',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { unitCode, accountId: { type: 'string', format: 'uuid' }, since: { type: 'string', format: 'date-time' }, ...listQuery },
      },
    },
  }, async (request) => {
    const me = request.account!;
    const { unitCode: unit, accountId, since, limit } = request.query;
    if (unit && !(await app.mayActFor(me, unit))) throw forbidden(`You do not administer ${unit} or a unit above it.`);
    const before = readCursor<{ id: number }>(request.query.cursor);
    const rows = await db.select().from(auditEvents).where(and(
      me.central ? undefined : sql`${auditEvents.unitCode} in ${subtreeSql(me.adminUnits)}`,
      unit ? sql`${auditEvents.unitCode} in ${subtreeSql([unit])}` : undefined,
      accountId ? or(eq(auditEvents.actorAccountId, accountId), and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, accountId))) : undefined,
      since ? gte(auditEvents.at, new Date(since)) : undefined,
      before ? lt(auditEvents.id, before.id) : undefined,
    )).orderBy(desc(auditEvents.id)).limit(limit + 1);
    return toPage(rows, limit, (e) => ({
      id: e.id, at: e.at.toISOString(), actor: e.actor, actorAccountId: e.actorAccountId, action: e.action,
      subjectType: e.subjectType, subjectId: e.subjectId, unitCode: e.unitCode, reason: e.reason, before: e.before, after: e.after, hash: e.hash,
    }), (last) => ({ id: last.id }));
  });
}
