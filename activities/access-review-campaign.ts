// The set-based work of a review campaign, each call over one subtree ("part") so that a campaign
// over the whole country is a few hundred calls of bounded size. Every step is idempotent.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { actorOf, writeAudit, writeAuditBatch } from '../db/audit.ts';
import { rowsOf, type Queryable } from '../db/client.ts';
import { campaignPartSql, campaignParts, centralAdmins, centralAmong, loadOrgTree, subtreeSql } from '../db/org-tree.ts';
import { createCampaignRecord } from '../db/reviews.ts';
import { accessReviewItems, accessReviews, accounts, authTokens, entitlements, orgUnits, unitAdmins } from '../db/schema.ts';
import { accountsWithSsoState, endSignIns } from '../db/sso-sessions.ts';
import { deliverSsoLogouts } from '../lib/sso/backchannel-logout.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

/** Sets each item's reviewer unit from a (unit → reviewer) map, in chunks. */
async function assignReviewers(
  db: Queryable,
  reviewId: string,
  column: 'unit_code' | 'reviewer_unit_code',
  mapping: [string, string][],
  only: { onlyUndecided: boolean; onlyAdminsOfReviewer?: boolean },
) {
  for (let i = 0; i < mapping.length; i += 2000) {
    const values = sql.join(
      mapping.slice(i, i + 2000).map(([from, to]) => sql`(${from}, ${to})`),
      sql`, `,
    );
    await db.execute(sql`
      update access_review_items i set reviewer_unit_code = m.reviewer
      from (values ${values}) as m(unit, reviewer)
      where i.review_id = ${reviewId} and i.${sql.raw(column)} = m.unit and i.reviewer_unit_code <> m.reviewer
      ${only.onlyUndecided ? sql`and i.decision is null and i.auto_applied = false` : sql``}
      ${only.onlyAdminsOfReviewer ? sql`and exists (select 1 from unit_admins ua where ua.account_id = i.account_id and ua.unit_code = m.unit)` : sql``}`);
  }
}

export function createCampaignActivities({ db, config, mail, logoutSigner }: ActivityDeps) {
  return {
    /**
     * One item per active right in scope, each with its reviewer unit: the unit holding it (or the
     * nearest above with an admin), the unit above for an admin's own rights. Returns the parts the
     * campaign fans out over: the children of the scope unit.
     */
    async materializeCampaign(input: { reviewId: string }): Promise<{ items: number; parts: string[] }> {
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId));
      if (!review) throw new Error(`review ${input.reviewId} does not exist`);
      await db.execute(sql`
        insert into access_review_items (review_id, entitlement_id, account_id, system_code, role, unit_code, reviewer_unit_code)
        select ${review.id}, e.id, e.account_id, e.system_code, e.role, e.unit_code, e.unit_code
        from entitlements e join accounts a on a.id = e.account_id
        where e.status = 'active' and a.status = 'active' and e.unit_code in ${subtreeSql([review.scopeUnitCode])}
        on conflict do nothing`);
      Context.current().heartbeat();
      const tree = await loadOrgTree(db);
      const inScope = rowsOf<{ code: string }>(await db.execute(sql`select code from ${subtreeSql([review.scopeUnitCode])} s`)).map((r) => r.code);
      await assignReviewers(
        db,
        review.id,
        'unit_code',
        inScope.map((code) => [code, tree.acting(code)] as [string, string]).filter(([a, b]) => a !== b),
        { onlyUndecided: false },
      );
      // An admin's own rights go to the admins of the unit above.
      const ownReviewers = rowsOf<{ unit: string }>(
        await db.execute(sql`select distinct i.reviewer_unit_code as unit from access_review_items i
        where i.review_id = ${review.id} and exists (select 1 from unit_admins ua where ua.account_id = i.account_id and ua.unit_code = i.reviewer_unit_code)`),
      );
      await assignReviewers(
        db,
        review.id,
        'reviewer_unit_code',
        ownReviewers.map((r) => [r.unit, tree.above(r.unit)] as [string, string]).filter(([a, b]) => a !== b),
        { onlyUndecided: false, onlyAdminsOfReviewer: true },
      );
      const [{ n } = { n: 0 }] = await db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(accessReviewItems)
        .where(eq(accessReviewItems.reviewId, review.id));
      return { items: n, parts: campaignParts(tree, review.scopeUnitCode) };
    },

    /**
     * One digest per reviewer: the admins of every unit in this part with undecided items. A
     * reviewer whose items are all decided hears nothing more. The part of the scope unit itself
     * covers only its own items (its children are parts of their own).
     */
    async sendReviewDigests(input: { reviewId: string; seq: number; kind: 'new' | 'reminder' | 'escalated'; underUnitCode: string }): Promise<number> {
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId));
      if (!review || review.status !== 'running') return 0;
      const within = await campaignPartSql(db, review.scopeUnitCode, input.underUnitCode, accessReviewItems.reviewerUnitCode);
      const perUnit = await db
        .select({ unit: accessReviewItems.reviewerUnitCode, n: sql<number>`count(*)`.mapWith(Number) })
        .from(accessReviewItems)
        .where(and(eq(accessReviewItems.reviewId, review.id), isNull(accessReviewItems.decision), eq(accessReviewItems.autoApplied, false), within))
        .groupBy(accessReviewItems.reviewerUnitCode);
      if (perUnit.length === 0) return 0;
      const admins = await db
        .select({ unitCode: unitAdmins.unitCode, id: accounts.id, email: accounts.email })
        .from(unitAdmins)
        .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
        .where(
          and(
            inArray(
              unitAdmins.unitCode,
              perUnit.map((u) => u.unit),
            ),
            eq(accounts.status, 'active'),
          ),
        );
      // The root unit's reviewers are DLA central too (each admin once per unit).
      const rootUnits = (
        await db
          .select({ code: orgUnits.code })
          .from(orgUnits)
          .where(
            and(
              inArray(
                orgUnits.code,
                perUnit.map((u) => u.unit),
              ),
              isNull(orgUnits.parentCode),
            ),
          )
      ).map((u) => u.code);
      if (rootUnits.length > 0) {
        const central = await centralAdmins(db);
        for (const unitCode of rootUnits) {
          for (const c of central) if (!admins.some((a) => a.id === c.id && a.unitCode === unitCode)) admins.push({ unitCode, id: c.id, email: c.email });
        }
      }
      const byAdmin = new Map<string, { email: string; count: number }>();
      for (const a of admins) {
        const n = perUnit.find((u) => u.unit === a.unitCode)?.n ?? 0;
        const seen = byAdmin.get(a.id);
        byAdmin.set(a.id, { email: a.email, count: (seen?.count ?? 0) + n });
      }
      let sent = 0;
      for (const [adminId, { email, count }] of byAdmin) {
        const key = `review:${review.id}:${input.seq}:${adminId}`;
        await enqueueMail(db, {
          key,
          template: 'access-review-awaiting',
          to: email,
          rendered: renderMail('access-review-awaiting', {
            kind: input.kind,
            [`is_${input.kind}`]: true,
            count,
            unitNameTh: review.name,
            reviewName: review.name,
            dueAt: review.dueAt.toISOString(),
            subjectName: null,
            link: `${config.publicUrl}/admin/campaigns/${review.id}/items`,
          }),
        });
        if ((await deliverQueued(db, mail, config.mailFrom, key)) === 'sent') sent++;
        Context.current().heartbeat();
      }
      return sent;
    },

    /** Undecided items of this part (by the unit holding the right) move to the admins of the unit above their reviewer. */
    async escalateCampaign(input: { reviewId: string; underUnitCode: string }): Promise<void> {
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId));
      if (!review) return;
      const tree = await loadOrgTree(db);
      const part = await campaignPartSql(db, review.scopeUnitCode, input.underUnitCode, accessReviewItems.unitCode);
      const rows = await db
        .selectDistinct({ unit: accessReviewItems.reviewerUnitCode })
        .from(accessReviewItems)
        .where(and(eq(accessReviewItems.reviewId, input.reviewId), isNull(accessReviewItems.decision), eq(accessReviewItems.autoApplied, false), part));
      const mapping = rows.map((r) => [r.unit, tree.above(r.unit)] as [string, string]).filter(([a, b]) => a !== b);
      await assignReviewers(db, input.reviewId, 'reviewer_unit_code', mapping, { onlyUndecided: true });
      if (mapping.length > 0) {
        await writeAudit(db, {
          key: `review:${input.reviewId}:escalated:${input.underUnitCode}`,
          actor: 'system',
          action: 'review.escalated',
          subjectType: 'access_review',
          subjectId: input.reviewId,
          unitCode: input.underUnitCode,
          after: { units: mapping.length },
        });
      }
    },

    /**
     * The rule for what nobody decided, applied to this part's items, each audited. The rights of
     * DLA central admins are left as they are (and flagged): the rule never locks DLA central out.
     */
    async applyCampaignRule(input: { reviewId: string; underUnitCode: string }): Promise<number> {
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, input.reviewId));
      if (!review || review.status !== 'running') return 0;
      // Each item belongs to one part (by the unit holding the right).
      const partFilter = await campaignPartSql(db, review.scopeUnitCode, input.underUnitCode, accessReviewItems.unitCode);
      let applied = 0;
      for (;;) {
        const done = await db.transaction(async (tx) => {
          const items = await tx
            .select()
            .from(accessReviewItems)
            .where(and(eq(accessReviewItems.reviewId, review.id), isNull(accessReviewItems.decision), eq(accessReviewItems.autoApplied, false), partFilter))
            .limit(5000);
          if (items.length === 0) return true;
          const central = await centralAmong(tx, [...new Set(items.map((i) => i.accountId))]);
          const affected = items.filter((i) => review.onNoDecision !== 'keep' && !central.has(i.accountId));
          const status = review.onNoDecision === 'revoke' ? 'revoked' : 'suspended';
          if (affected.length > 0) {
            await tx
              .update(entitlements)
              .set({ status, updatedAt: new Date() })
              .where(
                inArray(
                  entitlements.id,
                  affected.map((i) => i.entitlementId),
                ),
              );
            // Their sign-ins end: API tokens at once for all, the single sign-on for those who have any.
            const people = [...new Set(affected.map((i) => i.accountId))];
            await tx
              .update(authTokens)
              .set({ revokedAt: new Date() })
              .where(and(inArray(authTokens.accountId, people), isNull(authTokens.revokedAt)));
            for (const accountId of await accountsWithSsoState(tx, people)) await endSignIns(tx, accountId, `review ${review.id}`);
          }
          await tx
            .update(accessReviewItems)
            .set({ autoApplied: true })
            .where(
              inArray(
                accessReviewItems.id,
                items.map((i) => i.id),
              ),
            );
          await writeAuditBatch(
            tx,
            items.map((i) => {
              const kept = review.onNoDecision === 'keep' || central.has(i.accountId);
              return {
                key: `review:${review.id}:${i.id}:rule`,
                actor: 'system',
                action: kept ? 'review.rule_keep' : `review.rule_${review.onNoDecision}`,
                subjectType: 'account',
                subjectId: i.accountId,
                unitCode: i.unitCode,
                reason:
                  central.has(i.accountId) && review.onNoDecision !== 'keep'
                    ? `no decision by the due date; kept: a DLA central admin's right (review ${review.id})`
                    : `no decision by the due date (review ${review.id})`,
                before: { system: i.systemCode, role: i.role, unitCode: i.unitCode, status: 'active' },
                after: { system: i.systemCode, role: i.role, unitCode: i.unitCode, status: kept ? 'active' : status },
              };
            }),
          );
          applied += items.length;
          return false;
        });
        Context.current().heartbeat(applied);
        if (done) {
          await deliverSsoLogouts(db, logoutSigner);
          return applied;
        }
      }
    },

    /** The campaign a schedule's run creates: one per run (its id follows from the run's workflow id). */
    async createScheduledCampaign(input: {
      name: string;
      scopeUnitCode: string;
      durationDays: number;
      onNoDecision: 'revoke' | 'suspend' | 'keep';
      createdBy: string;
      runId: string;
    }) {
      const reviewId = createHash('sha256')
        .update(input.runId)
        .digest('hex')
        .replace(/^(.{8})(.{4})(.{3})(.{3})(.{12}).*$/, '$1-$2-4$3-8$4-$5');
      const dueAt = new Date(Date.now() + input.durationDays * 86_400_000);
      await createCampaignRecord(db, {
        id: reviewId,
        name: `${input.name} ${dueAt.toISOString().slice(0, 10)}`,
        scopeUnitCode: input.scopeUnitCode,
        dueAt,
        onNoDecision: input.onNoDecision,
        createdBy: `schedule:${input.name}`,
        schedule: input.name,
      });
      const [review] = await db.select().from(accessReviews).where(eq(accessReviews.id, reviewId));
      return {
        reviewId,
        input: { reviewId, dueAt: review!.dueAt.getTime(), remindBeforeMs: config.campaign.remindBeforeMs, escalateBeforeMs: config.campaign.escalateBeforeMs },
      };
    },

    async closeCampaign(input: { reviewId: string; status: 'completed' | 'cancelled'; actorAccountId: string | null }): Promise<void> {
      await db.transaction(async (tx) => {
        const closed = await tx
          .update(accessReviews)
          .set({ status: input.status, completedAt: new Date() })
          .where(and(eq(accessReviews.id, input.reviewId), eq(accessReviews.status, 'running')))
          .returning({ scope: accessReviews.scopeUnitCode });
        if (closed.length > 0) {
          await writeAudit(tx, {
            key: `review:${input.reviewId}:${input.status}`,
            actorAccountId: input.actorAccountId,
            actor: actorOf(input.actorAccountId),
            action: `review.${input.status}`,
            subjectType: 'access_review',
            subjectId: input.reviewId,
            unitCode: closed[0]!.scope,
          });
        }
      });
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
