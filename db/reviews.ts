// What a review decision does to a right, in one place: the admins' decisions (API), and the rule
// applied at the due date to what nobody decided (workflow), both come through here.
import { and, eq, gt, isNull, ne } from 'drizzle-orm';
import { accountOfActor, actorOf, writeAudit } from './audit.ts';
import type { Db, Queryable } from './client.ts';
import { accessReviewItems, accessReviews, accounts, entitlements, type ReviewRule } from './schema.ts';
import { endSignIns } from './sso-sessions.ts';

type Item = typeof accessReviewItems.$inferSelect;

/**
 * keep → the right is active again (at the new unit, after a transfer); revoke → revoked; suspend →
 * suspended, and the person's sign-ins end everywhere at once.
 */
export async function applyReviewOutcome(
  db: Queryable,
  item: Item,
  outcome: ReviewRule,
  by: { accountId: string | null; auto: boolean; justification?: string | null },
) {
  const [right] = await db.select().from(entitlements).where(eq(entitlements.id, item.entitlementId));
  if (!right) return;
  const overtaken = outcome === 'keep' ? await keepOvertakenBy(db, item, right) : null;
  const status = overtaken ? right.status : outcome === 'keep' ? 'active' : outcome === 'revoke' ? 'revoked' : 'suspended';
  const unitCode = !overtaken && outcome === 'keep' && item.moveToUnitCode ? item.moveToUnitCode : right.unitCode;
  if (right.status !== status || right.unitCode !== unitCode) {
    // A right already held at the new unit makes the moved one redundant: revoke the duplicate instead.
    const [clash] =
      unitCode !== right.unitCode
        ? await db
            .select({ id: entitlements.id })
            .from(entitlements)
            .where(
              and(
                eq(entitlements.accountId, right.accountId),
                eq(entitlements.systemCode, right.systemCode),
                eq(entitlements.role, right.role),
                eq(entitlements.unitCode, unitCode),
              ),
            )
        : [];
    if (clash) {
      await db.update(entitlements).set({ status: 'active', updatedAt: new Date() }).where(eq(entitlements.id, clash.id));
      await db.update(entitlements).set({ status: 'revoked', updatedAt: new Date() }).where(eq(entitlements.id, right.id));
    } else {
      await db.update(entitlements).set({ status, unitCode, updatedAt: new Date() }).where(eq(entitlements.id, right.id));
    }
  }
  if (outcome !== 'keep') await endSignIns(db, right.accountId, `review ${item.reviewId}`);
  await db
    .update(accessReviewItems)
    .set(
      by.auto
        ? { autoApplied: true }
        : { decision: outcome as 'keep' | 'revoke', decidedBy: by.accountId, decidedAt: new Date(), justification: by.justification ?? null },
    )
    .where(eq(accessReviewItems.id, item.id));
  await writeAudit(db, {
    key: `review:${item.reviewId}:${item.id}:${by.auto ? 'rule' : `${outcome}:${Date.now()}`}`,
    actorAccountId: by.accountId,
    actor: actorOf(by.accountId),
    action: by.auto ? `review.rule_${outcome}` : `review.${outcome}`,
    subjectType: 'account',
    subjectId: right.accountId,
    unitCode: right.unitCode,
    reason: by.justification ?? (by.auto ? `no decision by the due date (review ${item.reviewId})` : null),
    before: { system: right.systemCode, role: right.role, unitCode: right.unitCode, status: right.status },
    after: { system: right.systemCode, role: right.role, unitCode, status, ...(overtaken ? { unchanged: overtaken } : {}) },
  });
}

/**
 * Why a keep must leave the right as it is: something later and stronger happened to it since the
 * review began (the person left or was suspended, the right was revoked, a newer review holds it,
 * or, in a campaign, it is no longer the active right the campaign took in). Null when keep may act.
 */
async function keepOvertakenBy(db: Queryable, item: Item, right: typeof entitlements.$inferSelect): Promise<string | null> {
  const [account] = await db.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, right.accountId));
  if (account?.status !== 'active') return `the account is ${account?.status ?? 'gone'}`;
  if (right.status === 'revoked') return 'the right was revoked';
  const [review] = await db
    .select({ kind: accessReviews.kind, createdAt: accessReviews.createdAt })
    .from(accessReviews)
    .where(eq(accessReviews.id, item.reviewId));
  if (review?.kind === 'campaign' && right.status !== 'active') return `the right was ${right.status} since the campaign began`;
  const [newer] = review
    ? await db
        .select({ reviewId: accessReviewItems.reviewId })
        .from(accessReviewItems)
        .innerJoin(accessReviews, eq(accessReviews.id, accessReviewItems.reviewId))
        .where(
          and(
            eq(accessReviewItems.entitlementId, right.id),
            ne(accessReviewItems.reviewId, item.reviewId),
            eq(accessReviews.status, 'running'),
            gt(accessReviews.createdAt, review.createdAt),
            isNull(accessReviewItems.decision),
            eq(accessReviewItems.autoApplied, false),
          ),
        )
        .limit(1)
    : [];
  return newer ? `a later review (${newer.reviewId}) holds the right` : null;
}

export interface CampaignRecord {
  id: string;
  name: string;
  scopeUnitCode: string;
  dueAt: Date;
  onNoDecision: ReviewRule;
  createdBy: string;
  schedule?: string;
}

/**
 * A campaign's record and its `review.started` event, in one transaction; once per id (a
 * schedule's retried run finds it made). `createdBy` is the actor: `account:<id>` or `schedule:<name>`.
 * Returns whether this call made it.
 */
export async function createCampaignRecord(db: Db, input: CampaignRecord): Promise<boolean> {
  return db.transaction(async (tx) => {
    const created = await tx
      .insert(accessReviews)
      .values({
        id: input.id,
        kind: 'campaign',
        name: input.name,
        scopeUnitCode: input.scopeUnitCode,
        dueAt: input.dueAt,
        onNoDecision: input.onNoDecision,
        createdBy: input.createdBy,
      })
      .onConflictDoNothing()
      .returning({ id: accessReviews.id });
    if (created.length === 0) return false;
    await writeAudit(tx, {
      key: `review:${input.id}:started`,
      actor: input.createdBy,
      actorAccountId: accountOfActor(input.createdBy),
      action: 'review.started',
      subjectType: 'access_review',
      subjectId: input.id,
      unitCode: input.scopeUnitCode,
      after: { name: input.name, dueAt: input.dueAt.toISOString(), onNoDecision: input.onNoDecision, schedule: input.schedule },
    });
    return true;
  });
}
