// The I/O of the registration flow. Each activity is idempotent: `seq`, chosen by the workflow,
// names the step, so a retry finds its work done and does nothing more.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { actorOf, writeAudit } from '../db/audit.ts';
import { activeAdminsOf } from '../db/org-tree.ts';
import {
  accounts,
  documents,
  entitlements,
  notes,
  orgUnits,
  registrationEvents,
  registrations,
  type RegistrationStatus,
  type RequestedAccess,
} from '../db/schema.ts';
import type { ActivityDeps } from './deps.ts';
import { deliverQueued, enqueueMail, renderMail } from '../lib/mail.ts';

export interface RegistrationStep {
  registrationId: string;
  /** Position of this step in the request's history; makes the write idempotent. */
  seq: number;
  event: string;
  status?: RegistrationStatus;
  actingUnitCode?: string;
  actorAccountId?: string | null;
  noteId?: string | null;
}

export type ApplicantMail =
  'registration-info-requested' | 'registration-approved' | 'registration-rejected' | 'registration-expired' | 'registration-superseded';
export type AdminMail = 'registration-arrived' | 'registration-reminder' | 'registration-escalated';

const FINAL: RegistrationStatus[] = ['approved', 'rejected', 'expired', 'withdrawn', 'superseded'];

async function noteText(db: Queryable, noteId: string | null | undefined): Promise<string | null> {
  if (!noteId) return null;
  const [note] = await db.select({ text: notes.text }).from(notes).where(eq(notes.id, noteId));
  return note?.text ?? null;
}

/** Writes one step of the history and the request's new state, once. Returns false when already written. */
async function recordStep(db: Queryable, step: RegistrationStep, extra: Partial<typeof registrations.$inferInsert> = {}): Promise<boolean> {
  const reason = await noteText(db, step.noteId);
  const inserted = await db
    .insert(registrationEvents)
    .values({
      registrationId: step.registrationId,
      seq: step.seq,
      event: step.event,
      actorAccountId: step.actorAccountId ?? null,
      actingUnitCode: step.actingUnitCode ?? null,
      note: reason,
    })
    .onConflictDoNothing()
    .returning({ seq: registrationEvents.seq });
  if (inserted.length === 0) return false;
  const [before] = await db
    .select({ status: registrations.status, actingUnitCode: registrations.actingUnitCode })
    .from(registrations)
    .where(eq(registrations.id, step.registrationId));
  const change: Partial<typeof registrations.$inferInsert> = { ...extra };
  if (step.status) change.status = step.status;
  if (step.actingUnitCode) change.actingUnitCode = step.actingUnitCode;
  if (step.status && FINAL.includes(step.status)) change.decidedAt = new Date();
  if (Object.keys(change).length > 0) {
    await db.update(registrations).set(change).where(eq(registrations.id, step.registrationId));
  }
  await writeAudit(db, {
    key: `registration:${step.registrationId}:${step.seq}`,
    actorAccountId: step.actorAccountId,
    actor: actorOf(step.actorAccountId),
    action: `registration.${step.event}`,
    subjectType: 'registration',
    subjectId: step.registrationId,
    unitCode: step.actingUnitCode ?? before?.actingUnitCode,
    reason,
    before,
    after: { status: change.status ?? before?.status, actingUnitCode: change.actingUnitCode ?? before?.actingUnitCode },
  });
  return true;
}

export function createRegistrationActivities({ db, config, mail, documentStore }: ActivityDeps) {
  async function registrationView(registrationId: string) {
    const [row] = await db
      .select({
        registration: registrations,
        unitNameTh: orgUnits.nameTh,
      })
      .from(registrations)
      .leftJoin(orgUnits, eq(orgUnits.code, registrations.unitCode))
      .where(eq(registrations.id, registrationId));
    if (!row) throw ApplicationFailure.nonRetryable(`registration ${registrationId} does not exist`, 'RegistrationMissing');
    return row;
  }

  async function unitName(code: string): Promise<string> {
    const [unit] = await db.select({ nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, code));
    return unit?.nameTh ?? code;
  }

  async function send(key: string, template: string, to: string, data: Record<string, unknown>) {
    await enqueueMail(db, { key, template, to, rendered: renderMail(template, data) });
    await deliverQueued(db, mail, config.mailFrom, key);
  }

  return {
    async recordRegistrationStep(step: RegistrationStep): Promise<void> {
      await db.transaction(async (tx) => {
        await recordStep(tx, step);
      });
    },

    /**
     * Approval: the account (with the password hash captured at submission) and its entitlements,
     * made once, in one transaction with the request's new state.
     */
    async approveRegistration(input: RegistrationStep & { access: RequestedAccess[] | null }): Promise<{ accountId: string }> {
      return db.transaction(async (tx) => {
        const [existing] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.registrationId, input.registrationId));
        if (existing) return { accountId: existing.id };
        const [reg] = await tx.select().from(registrations).where(eq(registrations.id, input.registrationId)).for('update');
        if (!reg) throw ApplicationFailure.nonRetryable('registration missing', 'RegistrationMissing');
        // Housekeeping clears the hash of closed requests only: an open one always has it.
        if (reg.passwordHash === null) throw ApplicationFailure.nonRetryable('registration closed', 'RegistrationClosed');
        const clash = await tx
          .select({ id: accounts.id })
          .from(accounts)
          .where(sql`${accounts.citizenIdHash} = ${reg.citizenIdHash} or lower(${accounts.username}) = lower(${reg.username})`);
        if (clash.length > 0) {
          throw ApplicationFailure.nonRetryable('an account with this citizen ID or username exists already', 'AccountExists');
        }
        const accountId = randomUUID();
        await tx.insert(accounts).values({
          id: accountId,
          username: reg.username,
          passwordHash: reg.passwordHash,
          citizenIdEnc: reg.citizenIdEnc,
          citizenIdHash: reg.citizenIdHash,
          firstNameTh: reg.firstNameTh,
          lastNameTh: reg.lastNameTh,
          firstNameEn: reg.firstNameEn,
          lastNameEn: reg.lastNameEn,
          email: reg.email,
          phone: reg.phone,
          position: reg.position,
          unitCode: reg.unitCode,
          registrationId: reg.id,
        });
        const access = input.access ?? reg.requestedAccess;
        if (access.length > 0) {
          await tx
            .insert(entitlements)
            .values(
              access.map((a) => ({
                accountId,
                systemCode: a.system,
                role: a.role,
                unitCode: reg.unitCode,
              })),
            )
            .onConflictDoNothing();
        }
        await recordStep(tx, { ...input, status: 'approved' }, { accountId });
        await writeAudit(tx, {
          key: `account:${accountId}:created`,
          actorAccountId: input.actorAccountId,
          actor: actorOf(input.actorAccountId),
          action: 'account.created',
          subjectType: 'account',
          subjectId: accountId,
          unitCode: reg.unitCode,
          reason: `registration ${reg.id}`,
          after: { username: reg.username, unitCode: reg.unitCode, entitlements: access },
        });
        return { accountId };
      });
    },

    /** The submission mail (with the tracking code) was queued by the API with the request itself. */
    async deliverQueuedMail(key: string): Promise<void> {
      await deliverQueued(db, mail, config.mailFrom, key);
    },

    async notifyRegistrationApplicant(input: { registrationId: string; seq: number; template: ApplicantMail; noteId?: string | null }): Promise<void> {
      const { registration: r, unitNameTh } = await registrationView(input.registrationId);
      const access = await db
        .select({ system: entitlements.systemCode, role: entitlements.role })
        .from(entitlements)
        .where(r.accountId ? eq(entitlements.accountId, r.accountId) : sql`false`);
      await send(`registration:${r.id}:${input.seq}:applicant`, input.template, r.email, {
        firstNameTh: r.firstNameTh,
        lastNameTh: r.lastNameTh,
        username: r.username,
        unitNameTh,
        submittedAt: r.submittedAt.toISOString(),
        decidedAt: (r.decidedAt ?? new Date()).toISOString(),
        reason: await noteText(db, input.noteId),
        access,
        trackingUrl: `${config.publicUrl}/track/${r.id}`,
        signInUrl: `${config.publicUrl}/`,
        registerUrl: `${config.publicUrl}/`,
      });
    },

    /** One mail to each active admin of the acting unit. */
    async notifyRegistrationAdmins(input: { registrationId: string; seq: number; template: AdminMail; unitCode: string }): Promise<number> {
      const { registration: r, unitNameTh } = await registrationView(input.registrationId);
      const [acting] = await db.select({ nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode }).from(orgUnits).where(eq(orgUnits.code, input.unitCode));
      const admins = await activeAdminsOf(db, input.unitCode, !acting?.parentCode);
      const actingUnitNameTh = await unitName(input.unitCode);
      for (const admin of admins) {
        await send(`registration:${r.id}:${input.seq}:admin:${admin.id}`, input.template, admin.email, {
          firstNameTh: r.firstNameTh,
          lastNameTh: r.lastNameTh,
          position: r.position,
          unitNameTh,
          actingUnitNameTh,
          submittedAt: r.submittedAt.toISOString(),
          reviewUrl: `${config.publicUrl}/admin/registrations/${r.id}`,
        });
      }
      return admins.length;
    },

    /** Documents of a request that was not approved are deleted after the retention period. */
    async deleteRegistrationDocuments(registrationId: string): Promise<number> {
      const docs = await db
        .update(documents)
        .set({ deletedAt: new Date() })
        .where(and(eq(documents.registrationId, registrationId), isNull(documents.deletedAt)))
        .returning({ sha256: documents.sha256 });
      const shas = [...new Set(docs.map((d) => d.sha256))];
      if (shas.length > 0) {
        // Content is stored by hash and may be shared with another request: delete only what nobody still holds.
        const stillHeld = new Set(
          (
            await db
              .select({ sha256: documents.sha256 })
              .from(documents)
              .where(and(inArray(documents.sha256, shas), isNull(documents.deletedAt)))
          ).map((d) => d.sha256),
        );
        for (const sha of shas) if (!stillHeld.has(sha)) await documentStore.remove(sha);
      }
      return docs.length;
    },
  };
}

export type RegistrationActivities = ReturnType<typeof createRegistrationActivities>;
