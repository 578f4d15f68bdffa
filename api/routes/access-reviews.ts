// Access reviews (การทบทวนสิทธิ์): reviewers see the items of their units and decide keep or revoke,
// in bulk; each decision takes effect at once. Nobody decides on their own access.
import { and, asc, count, eq, gt, isNotNull, isNull, sql } from 'drizzle-orm';
import { deliverSsoLogouts } from '../../lib/sso/backchannel-logout.ts';
import type { FastifyInstance } from 'fastify';
import { subtreeSql } from '../../db/org-tree.ts';
import { applyReviewOutcome } from '../../db/reviews.ts';
import { accessReviewItems, accessReviews, accounts } from '../../db/schema.ts';
import { accessReviewWorkflowId, reviewDecisionsChanged } from '../../workflows/access-review.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { conflict, forbidden, notFound, Problem } from '../../lib/problem.ts';
import { listQuery, readCursor, toPage, unitCode, uuidParam } from '../schemas.ts';

interface DecisionsBody { decisions: { itemId: string; decision: 'keep' | 'revoke'; justification?: string }[] }

export default async function accessReviewRoutes(app: FastifyInstance) {
  const { db, temporal, sso } = app.deps;

  async function findReview(id: string) {
    const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, id));
    if (!review) throw notFound('There is no such access review.');
    return review;
  }

  /** Items this admin may see: those whose reviewer unit they administer (DLA central: all). */
  const visibleTo = (me: SignedInAccount) => (me.central ? undefined : sql`${accessReviewItems.reviewerUnitCode} in ${subtreeSql(me.adminUnits)}`);

  app.get<{ Params: { id: string } }>('/access-reviews/:id', {
    preValidation: app.requireAdmin,
    schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id') },
  }, async (request) => {
    const me = request.account!;
    const review = await findReview(request.params.id);
    const [mine] = await db.select({ n: count() }).from(accessReviewItems).where(and(eq(accessReviewItems.reviewId, review.id), visibleTo(me)));
    if (!(await app.mayActFor(me, review.scopeUnitCode)) && !mine?.n) throw forbidden('This review is not about your units.');
    const [totals] = await db.select({
      items: count(),
      decided: sql<number>`count(*) filter (where ${accessReviewItems.decision} is not null)`.mapWith(Number),
      kept: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'keep')`.mapWith(Number),
      revoked: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'revoke')`.mapWith(Number),
      autoApplied: sql<number>`count(*) filter (where ${accessReviewItems.autoApplied})`.mapWith(Number),
    }).from(accessReviewItems).where(eq(accessReviewItems.reviewId, review.id));
    return {
      id: review.id, kind: review.kind, name: review.name, status: review.status, scopeUnitCode: review.scopeUnitCode,
      subjectAccountId: review.subjectAccountId, cause: review.cause, onNoDecision: review.onNoDecision,
      dueAt: review.dueAt.toISOString(), completedAt: review.completedAt?.toISOString() ?? null, totals,
    };
  });

  app.get<{ Params: { id: string }; Querystring: { unitCode?: string; decided?: boolean; limit: number; cursor?: string } }>('/access-reviews/:id/items', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id'),
      querystring: { type: 'object', additionalProperties: false, properties: { unitCode, decided: { type: 'boolean' }, ...listQuery } },
    },
  }, async (request) => {
    const me = request.account!;
    const review = await findReview(request.params.id);
    const { unitCode: unit, decided, limit } = request.query;
    if (unit && !(await app.mayActFor(me, unit))) throw forbidden(`You do not administer ${unit} or a unit above it.`);
    const after = readCursor<{ id: string }>(request.query.cursor);
    const rows = await db.select({ item: accessReviewItems, username: accounts.username }).from(accessReviewItems)
      .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
      .where(and(
        eq(accessReviewItems.reviewId, review.id), visibleTo(me),
        unit ? sql`${accessReviewItems.unitCode} in ${subtreeSql([unit])}` : undefined,
        decided === undefined ? undefined : decided ? isNotNull(accessReviewItems.decision) : isNull(accessReviewItems.decision),
        after ? gt(accessReviewItems.id, after.id) : undefined,
      )).orderBy(asc(accessReviewItems.id)).limit(limit + 1);
    return toPage(rows, limit, ({ item, username }) => ({
      id: item.id, accountId: item.accountId, username, system: item.systemCode, role: item.role, unitCode: item.unitCode,
      reviewerUnitCode: item.reviewerUnitCode, decision: item.decision, decidedBy: item.decidedBy, decidedAt: item.decidedAt?.toISOString() ?? null,
      justification: item.justification, autoApplied: item.autoApplied,
    }), (last) => ({ id: last.item.id }));
  });

  app.post<{ Params: { id: string }; Body: DecisionsBody }>('/access-reviews/:id/decisions', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id'),
      body: {
        type: 'object', required: ['decisions'], additionalProperties: false,
        properties: {
          decisions: {
            type: 'array', minItems: 1, maxItems: 1000,
            items: {
              type: 'object', required: ['itemId', 'decision'], additionalProperties: false,
              properties: { itemId: { type: 'string', format: 'uuid' }, decision: { type: 'string', enum: ['keep', 'revoke'] }, justification: { type: 'string', minLength: 1, maxLength: 2000 } },
            },
          },
        },
      },
    },
  }, async (request) => {
    const me = request.account!;
    const review = await findReview(request.params.id);
    if (review.status !== 'running' || review.dueAt.getTime() <= Date.now()) throw conflict(`The review is ${review.status === 'running' ? 'past its due date' : review.status}; decisions are closed.`);
    const rejected: { itemId: string; reason: string }[] = [];
    let applied = 0;
    await db.transaction(async (tx) => {
      
      for (const d of request.body.decisions) {
        const [item] = await tx.select().from(accessReviewItems).where(and(eq(accessReviewItems.id, d.itemId), eq(accessReviewItems.reviewId, review.id)));
        if (!item) { rejected.push({ itemId: d.itemId, reason: 'not an item of this review' }); continue; }
        if (item.accountId === me.id) { rejected.push({ itemId: d.itemId, reason: 'nobody decides on their own access' }); continue; }
        if (!(await app.mayActFor(me, item.reviewerUnitCode))) { rejected.push({ itemId: d.itemId, reason: `reviewed by the admins of ${item.reviewerUnitCode}` }); continue; }
        if (item.autoApplied) { rejected.push({ itemId: d.itemId, reason: 'settled by the rule at the due date' }); continue; }
        if (d.decision === 'revoke' && !d.justification?.trim()) { rejected.push({ itemId: d.itemId, reason: 'a revoke needs a justification' }); continue; }
        await applyReviewOutcome(tx, item, d.decision, { accountId: me.id, auto: false, justification: d.justification ?? null });
        applied++;
      }
    });
    const refusedForWho = rejected.filter((r) => r.reason.startsWith('reviewed by') || r.reason.startsWith('nobody decides'));
    if (applied === 0 && refusedForWho.length === request.body.decisions.length) {
      throw new Problem(403, 'Forbidden', `You may not decide these items: ${refusedForWho[0]!.reason}.`, refusedForWho.map((r) => ({ path: r.itemId, message: r.reason })));
    }
    if (applied > 0) await deliverSsoLogouts(db, sso.logoutSigner);
    if (applied > 0 && review.kind === 'person') {
      await temporal.workflow.getHandle(accessReviewWorkflowId(review.id)).signal(reviewDecisionsChanged)
        .catch((error: unknown) => request.log.warn({ err: error, reviewId: review.id }, 'the review workflow did not hear of the decisions'));
    }
    return { applied, rejected };
  });
}
