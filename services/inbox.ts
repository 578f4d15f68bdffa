// "What waits for me": the console's home. For an admin's units and everything below them, what
// waits for a decision, oldest first, with when each escalates or expires (the workflows' own clock,
// read from the recorded steps), and the units still without an SSO admin.
import { and, asc, count, desc, eq, inArray, isNull } from 'drizzle-orm';
import { withinScopeSql } from '../db/org-tree.ts';
import {
  accessReviewItems,
  accessReviews,
  accounts,
  adminAppointments,
  appointmentEvents,
  orgUnits,
  registrationEvents,
  registrations,
  OPEN_REGISTRATION_STATUSES,
} from '../db/schema.ts';
import { deadlinesFrom } from '../workflows/deadlines.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { unitsWithoutAdmin } from './org-units.ts';

const SHOWN = 20;

export async function whatWaits(deps: ServiceDeps, actor: Actor) {
  const { db, config } = deps;
  const regScope = withinScopeSql(actor, registrations.actingUnitCode);
  const regWhere = and(inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]), regScope);
  const [regCount] = await db.select({ n: count() }).from(registrations).where(regWhere);
  const regRows = await db
    .select({
      id: registrations.id,
      status: registrations.status,
      firstNameTh: registrations.firstNameTh,
      lastNameTh: registrations.lastNameTh,
      submittedAt: registrations.submittedAt,
      unitName: orgUnits.nameTh,
    })
    .from(registrations)
    .leftJoin(orgUnits, eq(orgUnits.code, registrations.unitCode))
    .where(regWhere)
    .orderBy(asc(registrations.submittedAt))
    .limit(SHOWN);
  const regSteps =
    regRows.length === 0
      ? []
      : await db
          .select({ id: registrationEvents.registrationId, event: registrationEvents.event, at: registrationEvents.at })
          .from(registrationEvents)
          .where(
            inArray(
              registrationEvents.registrationId,
              regRows.map((r) => r.id),
            ),
          )
          .orderBy(asc(registrationEvents.seq));

  const apptWhere = and(eq(adminAppointments.status, 'pending_approval'), withinScopeSql(actor, adminAppointments.actingUnitCode));
  const [apptCount] = await db.select({ n: count() }).from(adminAppointments).where(apptWhere);
  const apptRows = await db
    .select({
      id: adminAppointments.id,
      submittedAt: adminAppointments.submittedAt,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
      unitName: orgUnits.nameTh,
    })
    .from(adminAppointments)
    .innerJoin(accounts, eq(accounts.id, adminAppointments.accountId))
    .leftJoin(orgUnits, eq(orgUnits.code, adminAppointments.unitCode))
    .where(apptWhere)
    .orderBy(asc(adminAppointments.submittedAt))
    .limit(SHOWN);
  const apptSteps =
    apptRows.length === 0
      ? []
      : await db
          .select({ id: appointmentEvents.appointmentId, event: appointmentEvents.event, at: appointmentEvents.at })
          .from(appointmentEvents)
          .where(
            inArray(
              appointmentEvents.appointmentId,
              apptRows.map((r) => r.id),
            ),
          )
          .orderBy(asc(appointmentEvents.seq));

  const undecided = and(
    isNull(accessReviewItems.decision),
    eq(accessReviewItems.autoApplied, false),
    withinScopeSql(actor, accessReviewItems.reviewerUnitCode),
  );
  const reviewRows = await db
    .select({ id: accessReviews.id, name: accessReviews.name, dueAt: accessReviews.dueAt, undecided: count() })
    .from(accessReviews)
    .innerJoin(accessReviewItems, eq(accessReviewItems.reviewId, accessReviews.id))
    .where(and(eq(accessReviews.kind, 'person'), eq(accessReviews.status, 'running'), undecided))
    .groupBy(accessReviews.id)
    .orderBy(asc(accessReviews.dueAt))
    .limit(SHOWN);

  const unstaffed = await unitsWithoutAdmin(deps, actor, { limit: SHOWN });

  const mine =
    actor.adminUnits.length === 0
      ? []
      : await db
          .select({ code: orgUnits.code, name: orgUnits.nameTh })
          .from(orgUnits)
          .where(inArray(orgUnits.code, actor.adminUnits))
          .orderBy(desc(orgUnits.code));

  const stepsOf = <T extends { id: string }>(steps: T[], id: string) => steps.filter((s) => s.id === id);
  return {
    units: mine,
    registrations: {
      count: regCount?.n ?? 0,
      items: regRows.map((r) => ({
        id: r.id,
        status: r.status,
        name: `${r.firstNameTh} ${r.lastNameTh}`,
        unitName: r.unitName,
        submittedAt: r.submittedAt,
        ...deadlinesFrom(stepsOf(regSteps, r.id), config.registration),
      })),
    },
    appointments: {
      count: apptCount?.n ?? 0,
      items: apptRows.map((a) => ({
        id: a.id,
        name: `${a.firstNameTh} ${a.lastNameTh}`,
        unitName: a.unitName,
        submittedAt: a.submittedAt,
        ...deadlinesFrom(stepsOf(apptSteps, a.id), config.appointment),
      })),
    },
    reviews: { count: reviewRows.length, items: reviewRows },
    unstaffed: { count: unstaffed.total, items: unstaffed.items, more: unstaffed.total > unstaffed.items.length },
  };
}
