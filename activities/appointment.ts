// The I/O of the appointment flow, each step idempotent by (appointment, seq).
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { actorOf, writeAudit } from '../db/audit.ts';
import { activeAdminsOf } from '../db/org-tree.ts';
import { accounts, adminAppointments, appointmentEvents, notes, orgUnits, unitAdmins, type AppointmentStatus } from '../db/schema.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

export interface AppointmentStep {
  appointmentId: string;
  seq: number;
  event: string;
  status?: AppointmentStatus;
  actingUnitCode?: string;
  actorAccountId?: string | null;
  noteId?: string | null;
}

export type AppointmentMail = 'appointment-awaiting' | 'appointment-received' | 'appointment-decided' | 'appointment-ended' | 'appointment-term-ending';

/** Writes one step and the appointment's new state, once. Returns the row when this call wrote it. */
async function recordStep(db: Queryable, step: AppointmentStep) {
  const [note] = step.noteId ? await db.select({ text: notes.text }).from(notes).where(eq(notes.id, step.noteId)) : [];
  const inserted = await db
    .insert(appointmentEvents)
    .values({
      appointmentId: step.appointmentId,
      seq: step.seq,
      event: step.event,
      actorAccountId: step.actorAccountId ?? null,
      actingUnitCode: step.actingUnitCode ?? null,
      note: note?.text ?? null,
    })
    .onConflictDoNothing()
    .returning({ seq: appointmentEvents.seq });
  if (inserted.length === 0) return null;
  const [before] = await db.select().from(adminAppointments).where(eq(adminAppointments.id, step.appointmentId));
  if (!before) throw ApplicationFailure.nonRetryable(`appointment ${step.appointmentId} does not exist`, 'AppointmentMissing');
  const change: Partial<typeof adminAppointments.$inferInsert> = {};
  if (step.status) change.status = step.status;
  if (step.actingUnitCode) change.actingUnitCode = step.actingUnitCode;
  if (step.status === 'approved' || step.status === 'rejected' || step.status === 'expired') change.decidedAt = new Date();
  if (step.status === 'revoked' || step.status === 'ended') change.endedAt = new Date();
  if (Object.keys(change).length > 0) await db.update(adminAppointments).set(change).where(eq(adminAppointments.id, step.appointmentId));
  await writeAudit(db, {
    key: `appointment:${step.appointmentId}:${step.seq}`,
    actorAccountId: step.actorAccountId,
    actor: actorOf(step.actorAccountId),
    action: `appointment.${step.event}`,
    subjectType: 'appointment',
    subjectId: step.appointmentId,
    unitCode: before.unitCode,
    reason: note?.text ?? null,
    before: { status: before.status, actingUnitCode: before.actingUnitCode },
    after: { status: change.status ?? before.status, actingUnitCode: change.actingUnitCode ?? before.actingUnitCode, accountId: before.accountId },
  });
  return before;
}

export function createAppointmentActivities({ db, config, mail }: ActivityDeps) {
  return {
    async recordAppointmentStep(step: AppointmentStep): Promise<void> {
      await db.transaction(async (tx) => {
        await recordStep(tx, step);
      });
    },

    /** Approval: the appointee is an SSO admin of the unit from this moment. */
    async grantAppointment(step: AppointmentStep): Promise<void> {
      await db.transaction(async (tx) => {
        const appointment = await recordStep(tx, { ...step, status: 'approved' });
        if (!appointment) return;
        await tx
          .insert(unitAdmins)
          .values({ unitCode: appointment.unitCode, accountId: appointment.accountId, source: 'appointment', appointmentId: appointment.id })
          .onConflictDoUpdate({ target: [unitAdmins.unitCode, unitAdmins.accountId], set: { source: 'appointment', appointmentId: appointment.id } });
      });
    },

    /** Revocation or the end of the term: the role ends at once. */
    async endAppointment(step: AppointmentStep): Promise<void> {
      await db.transaction(async (tx) => {
        const appointment = await recordStep(tx, step);
        if (!appointment) return;
        await tx
          .delete(unitAdmins)
          .where(
            and(eq(unitAdmins.unitCode, appointment.unitCode), eq(unitAdmins.accountId, appointment.accountId), eq(unitAdmins.appointmentId, appointment.id)),
          );
      });
    },

    /** Mails the approvers (admins of the acting unit), the parties (appointee and submitter), or all of them, once each. */
    async notifyAppointment(input: {
      appointmentId: string;
      seq: number;
      template: AppointmentMail;
      audience: 'approvers' | 'parties' | 'everyone';
      unitCode: string;
      kind?: string | undefined;
      noteId?: string | null | undefined;
    }): Promise<number> {
      const [a] = await db.select().from(adminAppointments).where(eq(adminAppointments.id, input.appointmentId));
      if (!a) throw ApplicationFailure.nonRetryable('appointment missing', 'AppointmentMissing');
      const units = await db
        .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode })
        .from(orgUnits)
        .where(inArray(orgUnits.code, [a.unitCode, input.unitCode]));
      const unit = units.find((u) => u.code === a.unitCode);
      const acting = units.find((u) => u.code === input.unitCode);
      const people = await db
        .select({ id: accounts.id, email: accounts.email, firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh })
        .from(accounts)
        .where(inArray(accounts.id, [a.accountId, a.submittedBy]));
      const appointee = people.find((p) => p.id === a.accountId);
      const recipients = new Map<string, string>();
      if (input.audience !== 'approvers') for (const p of people) recipients.set(p.id, p.email);
      if (input.audience !== 'parties') {
        for (const admin of await activeAdminsOf(db, input.unitCode, !acting?.parentCode)) recipients.set(admin.id, admin.email);
      }
      const [note] = input.noteId ? await db.select({ text: notes.text }).from(notes).where(eq(notes.id, input.noteId)) : [];
      const rendered = renderMail(input.template, {
        kind: input.kind,
        [`is_${input.kind ?? 'none'}`]: true,
        unitNameTh: unit?.nameTh ?? a.unitCode,
        actingUnitNameTh: acting?.nameTh ?? input.unitCode,
        appointeeName: appointee ? `${appointee.firstNameTh} ${appointee.lastNameTh}` : '',
        termEnd: a.termEnd,
        reason: note?.text ?? null,
        submittedAt: a.submittedAt.toISOString(),
        link: `${config.publicUrl}/admin/appointments/${a.id}`,
        uploadLink: `${config.publicUrl}/admin/units/${encodeURIComponent(a.unitCode)}#upload`,
      });
      for (const [id, to] of recipients) {
        const key = `appointment:${a.id}:${input.seq}:${input.template}:${id}`;
        await enqueueMail(db, { key, template: input.template, to, rendered });
        await deliverQueued(db, mail, config.mailFrom, key);
      }
      return recipients.size;
    },
  };
}

export type AppointmentActivities = ReturnType<typeof createAppointmentActivities>;
