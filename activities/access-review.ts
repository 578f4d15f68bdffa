// The I/O of access reviews: who reviews, reminders, escalation, and the rule at the due date.
import { and, count, eq, isNull } from 'drizzle-orm';
import { writeAudit } from '../db/audit.ts';
import { activeAdminsOf } from '../db/org-tree.ts';
import { applyReviewOutcome } from '../db/reviews.ts';
import { accessReviewItems, accessReviews, accounts, orgUnits } from '../db/schema.ts';
import { deliverSsoLogouts } from '../lib/sso/backchannel-logout.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

export function createAccessReviewActivities({ db, config, mail, logoutSigner }: ActivityDeps) {
  const undecided = (reviewId: string) =>
    and(eq(accessReviewItems.reviewId, reviewId), isNull(accessReviewItems.decision), eq(accessReviewItems.autoApplied, false));

  /** One mail per reviewer (never one per item), to the admins of each unit with undecided items. */
  async function mailByReviewerUnit(reviewId: string, key: string, template: string, extra: Record<string, unknown>, onlyUnit?: string) {
    const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, reviewId));
    if (!review) return 0;
    const groups = await db
      .select({ unit: accessReviewItems.reviewerUnitCode, n: count() })
      .from(accessReviewItems)
      .where(undecided(reviewId))
      .groupBy(accessReviewItems.reviewerUnitCode);
    const [subject] = review.subjectAccountId ? await db.select().from(accounts).where(eq(accounts.id, review.subjectAccountId)) : [];
    let sent = 0;
    for (const group of groups.filter((g) => !onlyUnit || g.unit === onlyUnit)) {
      const [unit] = await db.select({ nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode }).from(orgUnits).where(eq(orgUnits.code, group.unit));
      const rendered = renderMail(template, {
        ...extra,
        count: group.n,
        unitNameTh: unit?.nameTh ?? group.unit,
        reviewName: review.name,
        dueAt: review.dueAt.toISOString(),
        subjectName: subject ? `${subject.firstNameTh} ${subject.lastNameTh} (${subject.username})` : null,
        // The console's page of the review (mails link to pages, never to the API).
        link: `${config.publicUrl}${review.kind === 'campaign' ? `/admin/campaigns/${review.id}/items` : `/admin/reviews/${review.id}`}`,
      });
      for (const admin of await activeAdminsOf(db, group.unit, !unit?.parentCode)) {
        if (admin.id === review.subjectAccountId) continue;
        const mailKey = `${key}:${group.unit}:${admin.id}`;
        await enqueueMail(db, { key: mailKey, template, to: admin.email, rendered });
        if ((await deliverQueued(db, mail, config.mailFrom, mailKey)) === 'sent') sent++;
      }
    }
    return sent;
  }

  return {
    async mailReviewers(input: { reviewId: string; seq: number; kind: 'new' | 'reminder' | 'escalated'; unitCode?: string }): Promise<number> {
      return mailByReviewerUnit(
        input.reviewId,
        `review:${input.reviewId}:${input.seq}`,
        'access-review-awaiting',
        { kind: input.kind, [`is_${input.kind}`]: true },
        input.unitCode,
      );
    },

    async undecidedItems(input: { reviewId: string }): Promise<number> {
      const [r] = await db.select({ n: count() }).from(accessReviewItems).where(undecided(input.reviewId));
      return r?.n ?? 0;
    },

    /** Undecided items move to the admins of the unit above. */
    async escalateReview(input: { reviewId: string; fromUnitCode: string; toUnitCode: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const moved = await tx
          .update(accessReviewItems)
          .set({ reviewerUnitCode: input.toUnitCode })
          .where(and(undecided(input.reviewId), eq(accessReviewItems.reviewerUnitCode, input.fromUnitCode)))
          .returning({ id: accessReviewItems.id });
        if (moved.length > 0) {
          await writeAudit(tx, {
            key: `review:${input.reviewId}:escalated:${input.fromUnitCode}`,
            actor: 'system',
            action: 'review.escalated',
            subjectType: 'access_review',
            subjectId: input.reviewId,
            unitCode: input.toUnitCode,
            after: { items: moved.length, from: input.fromUnitCode, to: input.toUnitCode },
          });
        }
      });
    },

    /** Closes the review; at the due date the rule settles every undecided item, each audited. */
    async completeReview(input: { reviewId: string; ruleApplied: boolean }): Promise<number> {
      const settled = await db.transaction(async (tx) => {
        const [review] = await tx.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId)).for('update');
        if (!review || review.status !== 'running') return 0;
        const open = input.ruleApplied ? await tx.select().from(accessReviewItems).where(undecided(input.reviewId)) : [];
        for (const item of open) await applyReviewOutcome(tx, item, review.onNoDecision, { accountId: null, auto: true });
        await tx.update(accessReviews).set({ status: 'completed', completedAt: new Date() }).where(eq(accessReviews.id, review.id));
        await writeAudit(tx, {
          key: `review:${review.id}:completed`,
          actor: 'system',
          action: 'review.completed',
          subjectType: 'access_review',
          subjectId: review.id,
          unitCode: review.scopeUnitCode,
          after: { ruleApplied: input.ruleApplied, autoApplied: open.length, rule: review.onNoDecision },
        });
        return open.length;
      });
      if (settled > 0) await deliverSsoLogouts(db, logoutSigner);
      return settled;
    },

    async mailReviewOutcome(input: { reviewId: string }): Promise<number> {
      const items = await db
        .select({ unit: accessReviewItems.reviewerUnitCode })
        .from(accessReviewItems)
        .where(and(eq(accessReviewItems.reviewId, input.reviewId), eq(accessReviewItems.autoApplied, true)));
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId));
      if (!review || items.length === 0) return 0;
      let sent = 0;
      for (const unitCode of new Set(items.map((i) => i.unit))) {
        const [unit] = await db.select({ nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode }).from(orgUnits).where(eq(orgUnits.code, unitCode));
        const n = items.filter((i) => i.unit === unitCode).length;
        const rendered = renderMail('access-review-closed', {
          reviewName: review.name,
          rule: review.onNoDecision,
          count: n,
          unitNameTh: unit?.nameTh ?? unitCode,
        });
        for (const admin of await activeAdminsOf(db, unitCode, !unit?.parentCode)) {
          const key = `review:${review.id}:closed:${unitCode}:${admin.id}`;
          await enqueueMail(db, { key, template: 'access-review-closed', to: admin.email, rendered });
          if ((await deliverQueued(db, mail, config.mailFrom, key)) === 'sent') sent++;
        }
      }
      return sent;
    },
  };
}

export type AccessReviewActivities = ReturnType<typeof createAccessReviewActivities>;
