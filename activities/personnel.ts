// The I/O of personnel changes. Applying an event is one transaction that checks the event is still
// scheduled, so a retry (or the event sent again) changes nothing twice; its mails are queued in
// that same transaction and delivered afterwards, once.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, like } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { accountOfActor, writeAudit } from '../db/audit.ts';
import { activeAdminsOf, findActingUnit } from '../db/org-tree.ts';
import {
  accessReviewItems,
  accessReviews,
  accounts,
  entitlements,
  mailOutbox,
  orgUnits,
  personnelEvents,
  unitAdmins,
  type PersonnelEventType,
} from '../db/schema.ts';
import { endSignIns } from '../db/sso-sessions.ts';
import { deliverSsoLogouts } from '../lib/sso/backchannel-logout.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueuedMany, enqueueMails, renderMail } from '../lib/mail.ts';

export interface AppliedEvent {
  outcome: string;
  review?: { reviewId: string; reviewerUnitCode: string; dueAt: number };
  /**
   * Not stored (any more): the API forgot it when its hand-over seemed to fail, and told the
   * sender to send it again. Nothing was applied; the sender's retry brings it back.
   */
  missing?: true;
}

const LEAVING: PersonnelEventType[] = ['retirement', 'resignation', 'death', 'suspension'];
const TYPE_TH: Record<PersonnelEventType, string> = {
  retirement: 'เกษียณอายุราชการ',
  resignation: 'ลาออก',
  death: 'ถึงแก่กรรม',
  suspension: 'สั่งพักราชการ',
  transfer: 'โอนย้าย',
  role_change: 'เปลี่ยนแปลงหน้าที่',
};

export function createPersonnelActivities({ db, config, mail, logoutSigner }: ActivityDeps) {
  /** Whose admins review a person's rights at `unitCode`: never the person themselves. */
  async function reviewerUnitFor(tx: Queryable, unitCode: string, subjectId: string): Promise<string> {
    const acting = (await findActingUnit(tx, unitCode, false)) ?? unitCode;
    const admins = await activeAdminsOf(tx, acting, false);
    if (admins.length > 0 && admins.every((a) => a.id === subjectId)) return (await findActingUnit(tx, acting, true)) ?? acting;
    return acting;
  }

  async function openReview(
    tx: Queryable,
    input: {
      accountId: string;
      unitCode: string;
      cause: string;
      name: string;
      expireAfterMs: number;
      rights: (typeof entitlements.$inferSelect)[];
      moveTo?: string;
    },
  ): Promise<AppliedEvent['review']> {
    if (input.rights.length === 0) return undefined;
    const reviewId = randomUUID();
    const reviewerUnitCode = await reviewerUnitFor(tx, input.unitCode, input.accountId);
    const dueAt = new Date(Date.now() + input.expireAfterMs);
    await tx.insert(accessReviews).values({
      id: reviewId,
      kind: 'person',
      name: input.name,
      scopeUnitCode: input.unitCode,
      subjectAccountId: input.accountId,
      cause: input.cause,
      dueAt,
      onNoDecision: 'suspend',
      createdBy: 'hr-feed',
    });
    await tx.insert(accessReviewItems).values(
      input.rights.map((e) => ({
        reviewId,
        entitlementId: e.id,
        accountId: input.accountId,
        systemCode: e.systemCode,
        role: e.role,
        unitCode: e.unitCode,
        reviewerUnitCode,
        moveToUnitCode: input.moveTo ?? null,
      })),
    );
    return { reviewId, reviewerUnitCode, dueAt: dueAt.getTime() };
  }

  async function queueMails(
    tx: Queryable,
    eventId: string,
    type: PersonnelEventType,
    account: typeof accounts.$inferSelect,
    outcome: string,
    unitCodes: string[],
  ): Promise<string[]> {
    const units = await tx
      .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode })
      .from(orgUnits)
      .where(inArray(orgUnits.code, unitCodes));
    const recipients = new Map<string, string>([[account.id, account.email]]);
    for (const unit of units)
      for (const admin of await activeAdminsOf(tx, (await findActingUnit(tx, unit.code, false)) ?? unit.code, !unit.parentCode))
        recipients.set(admin.id, admin.email);
    const rendered = renderMail('personnel-applied', {
      [`is_${type}`]: true,
      typeTh: TYPE_TH[type],
      type,
      name: `${account.firstNameTh} ${account.lastNameTh}`,
      username: account.username,
      unitNameTh: units[0]?.nameTh ?? account.unitCode,
      outcome,
      eventId,
    });
    const mails = [...recipients].map(([id, to]) => ({ key: `personnel:${eventId}:${id}`, template: 'personnel-applied', to, rendered }));
    await enqueueMails(tx, mails);
    return mails.map((m) => m.key);
  }

  /** The unsent mails of an event, by their keys' prefix. */
  async function personnelMailKeys(eventId: string): Promise<string[]> {
    const queued = await db
      .select({ key: mailOutbox.key })
      .from(mailOutbox)
      .where(and(like(mailOutbox.key, `personnel:${eventId.replace(/[%_\\]/g, '\\$&')}:%`), isNull(mailOutbox.sentAt)));
    return queued.map((q) => q.key);
  }

  return {
    /**
     * Applies one event in one transaction (a retry finds it applied and changes nothing), then
     * tells the connected systems and sends its mails.
     */
    async applyPersonnelEvent(input: { eventId: string }): Promise<AppliedEvent> {
      let logoutsQueued = 0;
      let subjectId: string | undefined;
      /** The mails this run queued; null when the event was applied before (a retry). */
      let mailKeys: string[] | null = null;
      const applied = await db.transaction(async (tx) => {
        const [ev] = await tx.select().from(personnelEvents).where(eq(personnelEvents.eventId, input.eventId)).for('update');
        if (!ev) return { outcome: 'not stored: its sender was told to send it again', missing: true as const };
        if (ev.status !== 'scheduled') {
          const [review] = ev.reviewId ? await tx.select().from(accessReviews).where(eq(accessReviews.id, ev.reviewId)) : [];
          const [item] = review
            ? await tx.select({ unit: accessReviewItems.reviewerUnitCode }).from(accessReviewItems).where(eq(accessReviewItems.reviewId, review.id)).limit(1)
            : [];
          return {
            outcome: ev.outcome ?? ev.status,
            review: review && item ? { reviewId: review.id, reviewerUnitCode: item.unit, dueAt: review.dueAt.getTime() } : undefined,
          };
        }
        const [account] = await tx.select().from(accounts).where(eq(accounts.citizenIdHash, ev.citizenIdHash)).for('update');
        const finish = async (outcome: string, extra: Partial<typeof personnelEvents.$inferInsert> = {}) => {
          await tx
            .update(personnelEvents)
            .set({ status: 'applied', appliedAt: new Date(), outcome, accountId: account?.id ?? null, ...extra })
            .where(eq(personnelEvents.eventId, ev.eventId));
        };
        if (!account) {
          const outcome = 'no account for this person: recorded, and shown to the deciding admin if they register';
          await finish(outcome);
          await writeAudit(tx, {
            key: `personnel:${ev.eventId}`,
            actor: ev.source,
            action: `personnel.${ev.type}.recorded`,
            subjectType: 'personnel_event',
            subjectId: ev.eventId,
            unitCode: ev.toUnitCode,
            reason: ev.eventId,
            after: { outcome },
          });
          return { outcome };
        }
        const rights = await tx.select().from(entitlements).where(eq(entitlements.accountId, account.id));
        const live = rights.filter((e) => e.status === 'active' || e.status === 'pending_review');
        const setRights = async (ids: string[], status: 'suspended' | 'pending_review') => {
          if (ids.length > 0) await tx.update(entitlements).set({ status, updatedAt: new Date() }).where(inArray(entitlements.id, ids));
        };
        let outcome: string;
        let review: AppliedEvent['review'];
        const accountChange: Partial<typeof accounts.$inferInsert> = {};
        if (LEAVING.includes(ev.type)) {
          await setRights(
            live.map((e) => e.id),
            'suspended',
          );
          accountChange.status = 'suspended';
          logoutsQueued = await endSignIns(tx, account.id, ev.eventId);
          outcome = `account suspended with ${live.length} right(s); every sign-in ended`;
        } else if (ev.type === 'transfer') {
          const atOldUnit = live.filter((e) => e.unitCode === account.unitCode);
          await setRights(
            atOldUnit.map((e) => e.id),
            'suspended',
          );
          if (atOldUnit.length > 0) logoutsQueued = await endSignIns(tx, account.id, ev.eventId);
          accountChange.unitCode = ev.toUnitCode!;
          review = await openReview(tx, {
            accountId: account.id,
            unitCode: ev.toUnitCode!,
            cause: ev.eventId,
            moveTo: ev.toUnitCode!,
            name: `transfer ${ev.eventId}`,
            expireAfterMs: config.transferReview.expireAfterMs,
            rights: atOldUnit,
          });
          // An admin who moves away no longer administers the unit they left.
          if (account.unitCode) await tx.delete(unitAdmins).where(and(eq(unitAdmins.accountId, account.id), eq(unitAdmins.unitCode, account.unitCode)));
          outcome =
            `moved from ${account.unitCode} to ${ev.toUnitCode}; ${atOldUnit.length} right(s) of the old unit suspended` +
            (review ? ' and sent for review at the new unit' : '');
        } else {
          const active = rights.filter((e) => e.status === 'active');
          await setRights(
            active.map((e) => e.id),
            'pending_review',
          );
          if (active.length > 0) logoutsQueued = await endSignIns(tx, account.id, ev.eventId);
          if (ev.newPosition) accountChange.position = ev.newPosition;
          review = await openReview(tx, {
            accountId: account.id,
            unitCode: account.unitCode ?? '',
            cause: ev.eventId,
            name: `role change ${ev.eventId}`,
            expireAfterMs: config.roleChangeReview.expireAfterMs,
            rights: active,
          });
          outcome = `${active.length} right(s) pending review by the unit's admins`;
        }
        if (Object.keys(accountChange).length > 0)
          await tx
            .update(accounts)
            .set({ ...accountChange, updatedAt: new Date() })
            .where(eq(accounts.id, account.id));
        await finish(outcome, { reviewId: review?.reviewId ?? null });
        mailKeys = await queueMails(tx, ev.eventId, ev.type, account, outcome, [...new Set([account.unitCode, ev.toUnitCode].filter((c): c is string => !!c))]);
        // Last: the audit chain's lock is held from here to the commit, so keep that short.
        await writeAudit(tx, {
          key: `personnel:${ev.eventId}`,
          actor: ev.source,
          actorAccountId: accountOfActor(ev.source),
          action: `personnel.${ev.type}`,
          subjectType: 'account',
          subjectId: account.id,
          unitCode: account.unitCode,
          reason: ev.eventId,
          before: {
            status: account.status,
            unitCode: account.unitCode,
            rights: live.map((e) => ({ system: e.systemCode, role: e.role, unitCode: e.unitCode, status: e.status })),
          },
          after: { status: accountChange.status ?? account.status, unitCode: accountChange.unitCode ?? account.unitCode, reviewId: review?.reviewId ?? null },
        });
        subjectId = account.id;
        return { outcome, review };
      });
      if (applied.missing) return applied;
      // The connected systems hear of it now; what fails here the sweeper sends again.
      if (logoutsQueued > 0) {
        await deliverSsoLogouts(db, logoutSigner, { accountId: subjectId, timeoutMs: 3000 }).catch(() => 0);
      }
      // Then the mails, once each: after a crash past the commit, the retry finds them by prefix.
      await deliverQueuedMany(db, mail, config.mailFrom, mailKeys ?? (await personnelMailKeys(input.eventId)));
      return applied;
    },

    async supersedePersonnelEvent(input: { eventId: string; by: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const replaced = await tx
          .update(personnelEvents)
          .set({ status: 'superseded', outcome: `replaced by ${input.by} before it took effect` })
          .where(and(eq(personnelEvents.eventId, input.eventId), eq(personnelEvents.status, 'scheduled')))
          .returning({ eventId: personnelEvents.eventId });
        if (replaced.length > 0) {
          await writeAudit(tx, {
            key: `personnel:${input.eventId}:superseded`,
            actor: 'system',
            action: 'personnel.superseded',
            subjectType: 'personnel_event',
            subjectId: input.eventId,
            reason: input.by,
          });
        }
      });
    },
  };
}

export type PersonnelActivities = ReturnType<typeof createPersonnelActivities>;
