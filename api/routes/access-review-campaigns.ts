// Access review campaigns: started by DLA central or a provincial office over a subtree, by hand or
// on a schedule; cancelled; reported per unit as JSON or CSV.
import { randomUUID } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowNotFoundError } from '@temporalio/common';
import { asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { writeAudit } from '../../db/audit.ts';
import type { Db } from '../../db/client.ts';
import { unitChain } from '../../db/org-tree.ts';
import { accessReviewItems, accessReviews, accounts, orgUnits, REVIEW_RULES, type ReviewRule } from '../../db/schema.ts';
import type { Config } from '../../lib/config.ts';
import { accessReviewCampaign, campaignWorkflowId, cancelCampaign } from '../../workflows/access-review-campaign.ts';
import { scheduledAccessReview } from '../../workflows/access-review-schedule.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { conflict, forbidden, invalid, notFound } from '../../lib/problem.ts';
import { unitCode, uuidParam } from '../schemas.ts';

interface CampaignBody { name: string; scopeUnitCode: string; durationDays?: number; dueAt?: string; onNoDecision: ReviewRule }
interface ScheduleBody { cron: string; scopeUnitCode: string; durationDays: number; onNoDecision: ReviewRule }

const DAY = 86_400_000;

/** Creates the campaign's record and starts its workflow; shared by the API and the schedules. */
export async function startCampaign(deps: { db: Db; temporal: Client; config: Config }, input: { id?: string; name: string; scopeUnitCode: string; dueAt: Date; onNoDecision: ReviewRule; createdBy: string }) {
  const id = input.id ?? randomUUID();
  await deps.db.transaction(async (tx) => {
    const created = await tx.insert(accessReviews).values({ id, kind: 'campaign', name: input.name, scopeUnitCode: input.scopeUnitCode, dueAt: input.dueAt,
      onNoDecision: input.onNoDecision, createdBy: input.createdBy }).onConflictDoNothing().returning({ id: accessReviews.id });
    if (created.length > 0) {
      await writeAudit(tx, { key: `review:${id}:started`, actor: input.createdBy, actorAccountId: input.createdBy.startsWith('account:') ? input.createdBy.slice(8) : null,
        action: 'review.started', subjectType: 'access_review', subjectId: id, unitCode: input.scopeUnitCode,
        after: { name: input.name, dueAt: input.dueAt.toISOString(), onNoDecision: input.onNoDecision } });
    }
  });
  await deps.temporal.workflow.start(accessReviewCampaign, {
    taskQueue: deps.config.taskQueue, workflowId: campaignWorkflowId(id), workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [{ reviewId: id, dueAt: input.dueAt.getTime(), remindBeforeMs: deps.config.campaign.remindBeforeMs, escalateBeforeMs: deps.config.campaign.escalateBeforeMs }],
  });
  return id;
}

export const reviewScheduleId = (config: Config, name: string) => `${config.taskQueue}-access-review-${name}`;

export default async function accessReviewCampaignRoutes(app: FastifyInstance) {
  const { db, temporal, config } = app.deps;
  const rule = { type: 'string', enum: [...REVIEW_RULES] } as const;

  /** DLA central anywhere; a provincial office's admins within their province. */
  async function mayRunCampaignOver(me: SignedInAccount, scope: string): Promise<boolean> {
    if (me.central) return true;
    const chain = await unitChain(db, scope);
    const provinces = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.kind, 'province_office'));
    return me.adminUnits.some((u) => chain.includes(u) && provinces.some((p) => p.code === u));
  }

  async function requireScope(me: SignedInAccount, scope: string) {
    const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, scope));
    if (!unit) throw invalid('scopeUnitCode', `unit ${scope} does not exist`);
    if (!(await mayRunCampaignOver(me, scope))) throw forbidden('Only DLA central, or a provincial office within its province, runs access reviews.');
  }

  app.post<{ Body: CampaignBody }>('/access-reviews', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['access reviews'], security: [{ bearer: [] }],
      body: {
        type: 'object', required: ['name', 'scopeUnitCode', 'onNoDecision'], additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 }, scopeUnitCode: unitCode, onNoDecision: rule,
          durationDays: { type: 'integer', minimum: 1, maximum: 365 }, dueAt: { type: 'string', format: 'date-time' },
        },
      },
    },
  }, async (request, reply) => {
    const me = request.account!;
    const body = request.body;
    if ((body.durationDays === undefined) === (body.dueAt === undefined)) throw invalid('durationDays', 'give either durationDays or dueAt');
    const dueAt = body.dueAt ? new Date(body.dueAt) : new Date(Date.now() + body.durationDays! * DAY);
    if (dueAt.getTime() <= Date.now() + 1000) throw invalid('dueAt', 'dueAt must lie in the future');
    await requireScope(me, body.scopeUnitCode);
    const id = await startCampaign(app.deps, { name: body.name, scopeUnitCode: body.scopeUnitCode, dueAt, onNoDecision: body.onNoDecision, createdBy: `account:${me.id}` });
    return reply.status(202).send({ id });
  });

  app.post<{ Params: { id: string } }>('/access-reviews/:id/cancel', {
    preValidation: app.requireAdmin,
    schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id') },
  }, async (request) => {
    const me = request.account!;
    const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, request.params.id));
    if (!review || review.kind !== 'campaign') throw notFound('There is no such campaign.');
    await requireScope(me, review.scopeUnitCode);
    if (review.status !== 'running') throw conflict(`The campaign is ${review.status}.`);
    try {
      const status = await temporal.workflow.getHandle(campaignWorkflowId(review.id)).executeUpdate(cancelCampaign, { args: [{ actorAccountId: me.id }] });
      if (status !== 'cancelled') throw conflict(`The campaign is ${status}.`);
      return { id: review.id, status };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) throw conflict('The campaign is no longer running.');
      throw error;
    }
  });

  app.get<{ Params: { id: string } }>('/access-reviews/:id/report', {
    preValidation: app.requireAdmin,
    schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id'), description: 'Totals per unit and who decided what; `Accept: text/csv` for CSV.' },
  }, async (request, reply) => {
    const me = request.account!;
    const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, request.params.id));
    if (!review) throw notFound('There is no such access review.');
    if (!(await app.mayActFor(me, review.scopeUnitCode))) throw forbidden('The report covers units you do not administer.');
    const perUnit = await db.select({
      unitCode: accessReviewItems.unitCode, items: sql<number>`count(*)`.mapWith(Number),
      decided: sql<number>`count(*) filter (where ${accessReviewItems.decision} is not null)`.mapWith(Number),
      kept: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'keep')`.mapWith(Number),
      revoked: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'revoke')`.mapWith(Number),
      autoApplied: sql<number>`count(*) filter (where ${accessReviewItems.autoApplied})`.mapWith(Number),
    }).from(accessReviewItems).where(eq(accessReviewItems.reviewId, review.id)).groupBy(accessReviewItems.unitCode).orderBy(asc(accessReviewItems.unitCode));
    const decisions = await db.select({ item: accessReviewItems, username: accounts.username }).from(accessReviewItems)
      .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
      .where(eq(accessReviewItems.reviewId, review.id)).orderBy(asc(accessReviewItems.unitCode), asc(accounts.username));
    const rows = decisions.map(({ item, username }) => ({
      unitCode: item.unitCode, username, system: item.systemCode, role: item.role, decision: item.decision ?? (item.autoApplied ? `rule:${review.onNoDecision}` : ''),
      decidedBy: item.decidedBy ?? '', decidedAt: item.decidedAt?.toISOString() ?? '', justification: item.justification ?? '',
      flagged: item.autoApplied && review.onNoDecision === 'keep',
    }));
    if ((request.headers.accept ?? '').includes('text/csv')) {
      const quote = (v: unknown) => `"${String(v).replace(/"/g, '""')}"`;
      const header = ['unitCode', 'username', 'system', 'role', 'decision', 'decidedBy', 'decidedAt', 'justification', 'flagged'];
      const csv = [header.join(','), ...rows.map((r) => header.map((h) => quote(r[h as keyof typeof r])).join(','))].join('\r\n');
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="access-review-${review.id}.csv"`).send(`\ufeff${csv}\r\n`);
    }
    return { id: review.id, name: review.name, status: review.status, dueAt: review.dueAt.toISOString(), onNoDecision: review.onNoDecision, units: perUnit, decisions: rows };
  });

  app.put<{ Params: { name: string }; Body: ScheduleBody }>('/access-review-schedules/:name', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['access reviews'], security: [{ bearer: [] }], params: { type: 'object', properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } } },
      body: {
        type: 'object', required: ['cron', 'scopeUnitCode', 'durationDays', 'onNoDecision'], additionalProperties: false,
        properties: { cron: { type: 'string', minLength: 9, maxLength: 100 }, scopeUnitCode: unitCode, durationDays: { type: 'integer', minimum: 1, maximum: 365 }, onNoDecision: rule },
      },
    },
  }, async (request) => {
    const me = request.account!;
    const { name } = request.params;
    const body = request.body;
    if (body.cron.trim().split(/\s+/).length !== 5) throw invalid('cron', 'cron needs five fields: minute hour day-of-month month day-of-week');
    await requireScope(me, body.scopeUnitCode);
    const options = {
      scheduleId: reviewScheduleId(config, name),
      spec: { cronExpressions: [body.cron], timezone: 'Asia/Bangkok' },
      action: { type: 'startWorkflow' as const, workflowType: scheduledAccessReview, taskQueue: config.taskQueue,
        args: [{ name, scopeUnitCode: body.scopeUnitCode, durationDays: body.durationDays, onNoDecision: body.onNoDecision, createdBy: `account:${me.id}` }] as [Parameters<typeof scheduledAccessReview>[0]] },
      memo: { cron: body.cron },
    };
    try {
      try {
        await temporal.schedule.create(options);
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
        // The memo (the cron as given) cannot be updated: replace the schedule whole.
        await temporal.schedule.getHandle(options.scheduleId).delete();
        await temporal.schedule.create(options);
      }
    } catch (error) {
      if ((error as { code?: number }).code === 3 || /cron|invalid/i.test(String(error))) throw invalid('cron', `the server refused the cron expression: ${(error as Error).message}`);
      throw error;
    }
    await writeAudit(db, { key: `review-schedule:${name}:${request.id}`, actorAccountId: me.id, actor: `account:${me.id}`, action: 'review_schedule.set',
      subjectType: 'access_review_schedule', subjectId: name, unitCode: body.scopeUnitCode, after: body });
    return { name, ...body };
  });

  app.get('/access-review-schedules', {
    preValidation: app.requireAdmin, schema: { tags: ['access reviews'], security: [{ bearer: [] }] },
  }, async () => {
    const prefix = reviewScheduleId(config, '');
    const items: unknown[] = [];
    for await (const s of temporal.schedule.list()) {
      if (!s.scheduleId.startsWith(prefix)) continue;
      const handle = await temporal.schedule.getHandle(s.scheduleId).describe();
      const action = handle.action as { args?: [{ scopeUnitCode: string; durationDays: number; onNoDecision: string }] };
      const args = action.args?.[0];
      items.push({ name: s.scheduleId.slice(prefix.length), cron: (handle.memo as { cron?: string } | undefined)?.cron ?? null, scopeUnitCode: args?.scopeUnitCode,
        durationDays: args?.durationDays, onNoDecision: args?.onNoDecision, nextRunAt: handle.info.nextActionTimes[0]?.toISOString() ?? null });
    }
    return { items, nextCursor: null };
  });

  app.delete<{ Params: { name: string } }>('/access-review-schedules/:name', {
    preValidation: app.requireAdmin,
    schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } } },
  }, async (request) => {
    const me = request.account!;
    const handle = temporal.schedule.getHandle(reviewScheduleId(config, request.params.name));
    try {
      const described = await handle.describe();
      const scope = (described.action as { args?: [{ scopeUnitCode: string }] }).args?.[0]?.scopeUnitCode;
      if (scope) await requireScope(me, scope);
      await handle.delete();
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw notFound(`There is no schedule ${request.params.name}.`);
      throw error;
    }
    await writeAudit(db, { key: `review-schedule:${request.params.name}:${request.id}`, actorAccountId: me.id, actor: `account:${me.id}`,
      action: 'review_schedule.deleted', subjectType: 'access_review_schedule', subjectId: request.params.name });
    return { name: request.params.name, deleted: true };
  });
}
