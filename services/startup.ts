// The chores of start-up, safe to run in every process at once: the first admin when there is no
// account, the schedules, and the re-hand-over of every flow whose row was saved but whose
// workflow never started (a crash between the two).
import { randomUUID } from 'node:crypto';
import { and, count, eq, inArray, notExists, sql } from 'drizzle-orm';
import { writeAudit } from '../db/audit.ts';
import type { Db } from '../db/client.ts';
import { accessReviews, accounts, adminAppointments, mailOutbox, OPEN_REGISTRATION_STATUSES, personnelEvents, registrations } from '../db/schema.ts';
import type { Config } from '../lib/config.ts';
import { randomSecret } from '../lib/crypto.ts';
import { hashPassword } from '../lib/passwords.ts';
import {
  ensureComplianceSchedule,
  ensureHousekeepingSchedule,
  handToPerson,
  startAppointment,
  startCampaign,
  startedAlready,
  startRegistration,
  type Workflows,
} from './workflows.ts';

/** The first DLA central admin, `admin`, when no account exists yet. Returns the password it was given. */
export async function ensureBootstrapAdmin(db: Db, config: Config): Promise<{ created: boolean; password?: string }> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(accounts);
  if (n > 0) return { created: false };
  const password = config.bootstrapAdminPassword ?? randomSecret(18);
  const id = randomUUID();
  const created = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(accounts)
      .values({
        id,
        username: 'admin',
        passwordHash: await hashPassword(password),
        firstNameTh: 'ผู้ดูแลระบบ',
        lastNameTh: 'ส่วนกลาง',
        email: config.bootstrapAdminEmail ?? `admin@${new URL(config.publicUrl).hostname}`,
        centralAdmin: true,
      })
      .onConflictDoNothing()
      .returning({ id: accounts.id });
    if (inserted.length === 0) return false; // another process made it first
    await writeAudit(tx, {
      key: 'account:bootstrap-admin',
      actor: 'system',
      action: 'account.created',
      subjectType: 'account',
      subjectId: id,
      reason: 'bootstrap: no account existed',
      after: { username: 'admin', centralAdmin: true },
    });
    return true;
  });
  if (!created) return { created: false };
  return { created: true, password: config.bootstrapAdminPassword ? undefined : password };
}

export interface Resumed {
  registrations: number;
  appointments: number;
  campaigns: number;
  personnelEvents: number;
}

/**
 * Starts the workflow of every flow saved without one. Starting is idempotent (an id already
 * running is found, not started twice), so a flow that has its workflow is left as it is.
 */
export async function resumeFlows(db: Db, workflows: Workflows): Promise<Resumed> {
  // Requests: those whose submission mail (sent by the workflow's first step) never went.
  const stuck = await db
    .select({ id: registrations.id, actingUnitCode: registrations.actingUnitCode })
    .from(registrations)
    .where(
      and(
        inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
        notExists(
          db
            .select({ one: sql`1` })
            .from(mailOutbox)
            .where(and(eq(mailOutbox.key, sql`'registration:' || ${registrations.id} || ':submitted'`), sql`${mailOutbox.sentAt} is not null`)),
        ),
      ),
    );
  for (const r of stuck) await startedAlready(() => startRegistration(workflows, { registrationId: r.id, actingUnitCode: r.actingUnitCode }));

  // Appointments awaiting approval (an approved one's workflow began pending: it ran, it is not restarted).
  const pending = await db
    .select({
      id: adminAppointments.id,
      unitCode: adminAppointments.unitCode,
      actingUnitCode: adminAppointments.actingUnitCode,
      termEnd: adminAppointments.termEnd,
    })
    .from(adminAppointments)
    .where(eq(adminAppointments.status, 'pending_approval'));
  for (const a of pending) {
    await startedAlready(() =>
      startAppointment(workflows, { appointmentId: a.id, unitCode: a.unitCode, actingUnitCode: a.actingUnitCode, termEnd: a.termEnd }),
    );
  }

  // Campaigns still running.
  const running = await db
    .select({ id: accessReviews.id, dueAt: accessReviews.dueAt })
    .from(accessReviews)
    .where(and(eq(accessReviews.kind, 'campaign'), eq(accessReviews.status, 'running')));
  for (const c of running) await startedAlready(() => startCampaign(workflows, { reviewId: c.id, dueAt: c.dueAt }));

  // Personnel events stored but never handed over: the workflow ignores one it already waits for, or has applied or
  // replaced. Only `scheduled` rows go (a superseded one stays so), in the order received, so that a correction
  // comes after the event it corrects.
  const scheduled = await db
    .select({
      eventId: personnelEvents.eventId,
      type: personnelEvents.type,
      effectiveDate: personnelEvents.effectiveDate,
      toUnitCode: personnelEvents.toUnitCode,
      hash: personnelEvents.citizenIdHash,
      source: personnelEvents.source,
    })
    .from(personnelEvents)
    .where(eq(personnelEvents.status, 'scheduled'))
    .orderBy(personnelEvents.receivedAt, personnelEvents.eventId);
  for (const e of scheduled) {
    await handToPerson(workflows, e.hash, {
      eventId: e.eventId,
      type: e.type,
      effectiveDate: e.effectiveDate,
      ...(e.toUnitCode ? { toUnitCode: e.toUnitCode } : {}),
      ...(e.source === 'hr-feed' ? {} : { byAdmin: true }),
    });
  }

  return { registrations: stuck.length, appointments: pending.length, campaigns: running.length, personnelEvents: scheduled.length };
}

/** Everything start-up must see done before it says it is up: the first admin and the schedules. */
export async function prepare(db: Db, workflows: Workflows): Promise<{ created: boolean; password?: string }> {
  const bootstrap = await ensureBootstrapAdmin(db, workflows.config);
  await ensureComplianceSchedule(workflows);
  await ensureHousekeepingSchedule(workflows);
  return bootstrap;
}
