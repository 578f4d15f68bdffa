// SSO admin appointments (หนังสือมอบหมาย): a unit uploads the letter naming its admin; the admins one
// level up approve; the admins above the unit may revoke. Decisions and revocations are Updates to
// the appointment's workflow (services/workflows.ts).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, asc, desc, eq, inArray, lt, or } from 'drizzle-orm';
import { fileTypeFromBuffer } from 'file-type';
import { writeAudit } from '../db/audit.ts';
import { isUniqueViolation } from '../db/identity.ts';
import { findActingUnit, mayActFor, withinScopeSql, wouldLeaveCentralWithoutAdmin } from '../db/org-tree.ts';
import { accounts, adminAppointments, appointmentEvents, notes, orgUnits, type AppointmentStatus } from '../db/schema.ts';
import { buddhistEraProblem } from '../lib/dates.ts';
import type { StagedDocument } from '../lib/document-store.ts';
import { conflict, forbidden, invalid, notFound, Problem } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { sendAppointmentDecision, sendAppointmentRevocation, startAppointment, startOrTakeBack, updateWorkflow, type Log } from './workflows.ts';

export interface AppointmentLetter {
  fileName: string;
  /** Staged (encrypted) in the document store until kept. */
  document: StagedDocument;
}
/** `letter` may be missing from a form: the scope is checked first, so a stranger learns nothing from the answer. */
export interface AppointmentUpload {
  accountId: string;
  termEnd?: string | null | undefined;
  letter: AppointmentLetter | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Today in Asia/Bangkok, `YYYY-MM-DD`. */
const bangkokToday = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

type AppointmentRow = typeof adminAppointments.$inferSelect;

async function find(deps: ServiceDeps, id: string): Promise<AppointmentRow> {
  const [row] = UUID.test(id) ? await deps.db.select().from(adminAppointments).where(eq(adminAppointments.id, id)) : [];
  if (!row) throw notFound('There is no such appointment.');
  return row;
}

/** The appointee, the submitter, and admins of the unit, of the approving unit or above. */
async function mayView(deps: ServiceDeps, actor: Actor, row: AppointmentRow): Promise<boolean> {
  return (
    actor.id === row.accountId ||
    actor.id === row.submittedBy ||
    (await mayActFor(deps.db, actor, row.unitCode)) ||
    (await mayActFor(deps.db, actor, row.actingUnitCode))
  );
}

/** May the actor upload a letter for the unit: an account of the unit, or an SSO admin of it or above it. */
export async function mayUploadLetter(deps: ServiceDeps, actor: Actor, unitCode: string): Promise<boolean> {
  return actor.unitCode === unitCode || mayActFor(deps.db, actor, unitCode);
}

/**
 * The letter arrives: checked, stored, saved with its first event and audit in one transaction, then
 * handed to its workflow (taken back whole when Temporal cannot take it).
 */
export async function uploadAppointmentLetter(
  deps: ServiceDeps,
  actor: Actor,
  unitCode: string,
  input: AppointmentUpload,
  log: Log,
): Promise<{ id: string; status: 'pending_approval' }> {
  const { db, documentStore } = deps;
  const [unit] = await db.select().from(orgUnits).where(eq(orgUnits.code, unitCode));
  if (!unit) throw notFound(`There is no unit ${unitCode}.`);
  if (!(await mayUploadLetter(deps, actor, unitCode))) {
    throw forbidden('Only an account of this unit, or an SSO admin above it, may upload its appointment letter.');
  }
  const { letter } = input;
  if (!letter) throw invalid('letter', 'แนบหนังสือมอบหมาย (PDF) / Attach the appointment letter (PDF).');
  if (!UUID.test(input.accountId)) throw invalid('data.accountId', 'accountId must be an account id');
  const termEnd = input.termEnd || null;
  if (termEnd && !(DAY.test(termEnd) && new Date(Date.parse(`${termEnd}T00:00:00Z`) || 0).toISOString().startsWith(termEnd))) {
    throw invalid('data.termEnd', 'termEnd must be a date, YYYY-MM-DD');
  }
  const era = termEnd ? buddhistEraProblem(termEnd) : null;
  if (era) throw invalid('data.termEnd', `termEnd ${era}`);
  if (termEnd && termEnd < bangkokToday()) throw invalid('data.termEnd', 'termEnd lies in the past');
  const [appointee] = await db.select().from(accounts).where(eq(accounts.id, input.accountId));
  if (!appointee) throw invalid('data.accountId', `account ${input.accountId} does not exist`);
  if (appointee.unitCode !== unitCode) throw invalid('data.accountId', `the appointee must be an account of ${unitCode}`);
  if (appointee.status !== 'active') throw invalid('data.accountId', `the appointee's account is ${appointee.status}`);
  // Approvers: the admins one level up (or further up where a unit has none); DLA central approves its own.
  const actingUnitCode = unit.parentCode ? (await findActingUnit(db, unitCode, true))! : unitCode;
  // Judged by its content, whatever its name (the API's upload parser checks the same before).
  if ((await fileTypeFromBuffer(letter.document.head))?.mime !== 'application/pdf') {
    throw new Problem(415, 'Unsupported Media Type', `${letter.fileName || 'The letter'} is not application/pdf (judged by its content).`);
  }
  const sha256 = await documentStore.keep(letter.document);
  const id = randomUUID();
  try {
    await db.transaction(async (tx) => {
      await tx.insert(adminAppointments).values({
        id,
        unitCode,
        accountId: appointee.id,
        submittedBy: actor.id,
        letterSha256: sha256,
        letterFileName: letter.fileName.slice(0, 200),
        letterSize: letter.document.size,
        termEnd,
        status: 'pending_approval',
        actingUnitCode,
      });
      await tx.insert(appointmentEvents).values({ appointmentId: id, seq: 0, event: 'submitted', actorAccountId: actor.id, actingUnitCode });
      await writeAudit(tx, {
        key: `appointment:${id}:0`,
        actorAccountId: actor.id,
        actor: `account:${actor.id}`,
        action: 'appointment.submitted',
        subjectType: 'appointment',
        subjectId: id,
        unitCode,
        after: { status: 'pending_approval', accountId: appointee.id, termEnd, actingUnitCode, letterSha256: sha256 },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('An appointment of this person at this unit is already awaiting approval.');
    throw error;
  }
  await startOrTakeBack(
    log,
    'appointment',
    () => startAppointment(deps.workflows, { appointmentId: id, unitCode, actingUnitCode, termEnd }),
    async () => {
      await db.transaction(async (tx) => {
        await tx.delete(appointmentEvents).where(eq(appointmentEvents.appointmentId, id));
        await tx.delete(adminAppointments).where(eq(adminAppointments.id, id));
      });
    },
  );
  return { id, status: 'pending_approval' };
}

export interface AppointmentView {
  id: string;
  unitCode: string;
  accountId: string;
  submittedBy: string;
  status: AppointmentStatus;
  termEnd: string | null;
  actingUnitCode: string;
  submittedAt: string;
  decidedAt: string | null;
  endedAt: string | null;
  letter: { fileName: string; size: number; url: string };
  appointee: { username: string; name: string };
  unitNameTh: string;
  actingUnitNameTh: string;
  /** What the viewer may do with it now. */
  mayDecide: boolean;
  mayRevoke: boolean;
  history: { at: string; event: string; actor: string; note: string | null }[];
}

/** One appointment with its history, for the appointee, the submitter and the admins concerned. */
export async function viewAppointment(deps: ServiceDeps, actor: Actor, id: string): Promise<AppointmentView> {
  const { db } = deps;
  const row = await find(deps, id);
  if (!(await mayView(deps, actor, row))) throw forbidden('Only the appointee, the submitter and the admins concerned may see this appointment.');
  const events = await db
    .select({ e: appointmentEvents, username: accounts.username })
    .from(appointmentEvents)
    .leftJoin(accounts, eq(accounts.id, appointmentEvents.actorAccountId))
    .where(eq(appointmentEvents.appointmentId, row.id))
    .orderBy(asc(appointmentEvents.seq));
  const [appointee] = await db
    .select({ username: accounts.username, firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh })
    .from(accounts)
    .where(eq(accounts.id, row.accountId));
  const units = await db
    .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, parentCode: orgUnits.parentCode })
    .from(orgUnits)
    .where(inArray(orgUnits.code, [row.unitCode, row.actingUnitCode]));
  const unit = units.find((u) => u.code === row.unitCode);
  return {
    id: row.id,
    unitCode: row.unitCode,
    accountId: row.accountId,
    submittedBy: row.submittedBy,
    status: row.status,
    termEnd: row.termEnd,
    actingUnitCode: row.actingUnitCode,
    submittedAt: row.submittedAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    endedAt: row.endedAt?.toISOString() ?? null,
    letter: { fileName: row.letterFileName, size: row.letterSize, url: `/api/v1/admin-appointments/${row.id}/letter` },
    appointee: { username: appointee?.username ?? '', name: appointee ? `${appointee.firstNameTh} ${appointee.lastNameTh}` : '' },
    unitNameTh: unit?.nameTh ?? row.unitCode,
    actingUnitNameTh: units.find((u) => u.code === row.actingUnitCode)?.nameTh ?? row.actingUnitCode,
    mayDecide: row.status === 'pending_approval' && !(await decisionRefusal(deps, actor, row)),
    mayRevoke: row.status === 'approved' && !(await revocationRefusal(deps, actor, row, unit?.parentCode ?? null)),
    history: events.map(({ e, username }) => ({ at: e.at.toISOString(), event: e.event, actor: username ?? 'system', note: e.note })),
  };
}

/** The letter's content, for those who may see the appointment. */
export async function openLetter(deps: ServiceDeps, actor: Actor, id: string): Promise<{ fileName: string; content: Readable }> {
  const row = await find(deps, id);
  if (!(await mayView(deps, actor, row))) throw forbidden('Only the appointee, the submitter and the admins concerned may see this letter.');
  return { fileName: row.letterFileName, content: await deps.documentStore.open(row.letterSha256) };
}

export interface AppointmentListItem {
  id: string;
  unitCode: string;
  unitNameTh: string;
  accountId: string;
  appointeeName: string;
  status: AppointmentStatus;
  termEnd: string | null;
  actingUnitCode: string;
  submittedAt: string;
}

/**
 * Appointments whose acting unit lies in the admin's scope (those awaiting their decision by
 * default), newest first: `limit + 1` rows after `after`, for the caller to page.
 */
export async function listAppointments(
  deps: ServiceDeps,
  actor: Actor,
  query: { status?: AppointmentStatus; limit: number; after?: { submittedAt: string; id: string } | undefined },
): Promise<AppointmentListItem[]> {
  const { db } = deps;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  const after = query.after;
  if (after && (typeof after.id !== 'string' || !UUID.test(after.id) || Number.isNaN(Date.parse(after.submittedAt))))
    throw invalid('cursor', 'cursor is not one this service gave');
  const rows = await db
    .select({
      a: adminAppointments,
      unitNameTh: orgUnits.nameTh,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
    })
    .from(adminAppointments)
    .innerJoin(orgUnits, eq(orgUnits.code, adminAppointments.unitCode))
    .innerJoin(accounts, eq(accounts.id, adminAppointments.accountId))
    .where(
      and(
        eq(adminAppointments.status, query.status ?? 'pending_approval'),
        withinScopeSql(actor, adminAppointments.actingUnitCode),
        after
          ? or(
              lt(adminAppointments.submittedAt, new Date(after.submittedAt)),
              and(eq(adminAppointments.submittedAt, new Date(after.submittedAt)), lt(adminAppointments.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(adminAppointments.submittedAt), desc(adminAppointments.id))
    .limit(query.limit + 1);
  return rows.map(({ a, unitNameTh, firstNameTh, lastNameTh }) => ({
    id: a.id,
    unitCode: a.unitCode,
    unitNameTh,
    accountId: a.accountId,
    appointeeName: `${firstNameTh} ${lastNameTh}`,
    status: a.status,
    termEnd: a.termEnd,
    actingUnitCode: a.actingUnitCode,
    submittedAt: a.submittedAt.toISOString(),
  }));
}

/** A note written before the workflow is told, and taken back when it refuses. */
async function withNote<T>(deps: ServiceDeps, text: string | undefined, send: (noteId: string | null) => Promise<T>): Promise<T> {
  const noteId = text ? randomUUID() : null;
  if (noteId) await deps.db.insert(notes).values({ id: noteId, text: text! });
  try {
    return await send(noteId);
  } catch (error) {
    if (noteId) await deps.db.delete(notes).where(eq(notes.id, noteId));
    throw error;
  }
}

/** Why the actor may not decide this appointment (not of the acting unit or above, or their own), or null. */
async function decisionRefusal(deps: ServiceDeps, actor: Actor, row: AppointmentRow): Promise<Problem | null> {
  if (!(await mayActFor(deps.db, actor, row.actingUnitCode))) {
    return forbidden(`This appointment awaits the admins of ${row.actingUnitCode}; you are not one of them or above them.`);
  }
  if (actor.id === row.accountId || actor.id === row.submittedBy) return forbidden('Nobody approves an appointment of their own.');
  return null;
}

/** Why the actor may not revoke this appointment (not above the unit, or their own), or null. */
async function revocationRefusal(deps: ServiceDeps, actor: Actor, row: AppointmentRow, parentCode: string | null): Promise<Problem | null> {
  const above = parentCode ? await mayActFor(deps.db, actor, parentCode) : actor.central;
  if (!above) return forbidden('Only the admins above the unit may revoke its admin.');
  if (actor.id === row.accountId) return forbidden('Nobody revokes their own appointment here; ask the admins above your unit.');
  return null;
}

/**
 * Whether this decision needs the admin's second factor shown recently (ADMIN_MFA_RECONFIRM_AFTER):
 * approving designates an admin, as designating directly does; rejecting changes no one's access.
 * Every door asks by this (the API's decision, the console's form).
 */
export const decisionNeedsRecentSecondFactor = (decision: unknown): boolean => decision !== 'reject';

/** The admins of the acting unit or above approve or reject (with a reason); nobody decides their own. */
export async function decideAppointment(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  input: { decision: 'approve' | 'reject'; reason?: string | undefined },
  log: Log,
): Promise<{ status: AppointmentStatus }> {
  const row = await find(deps, id);
  const refusal = await decisionRefusal(deps, actor, row);
  if (refusal) throw refusal;
  const reason = input.reason?.trim() || undefined;
  if (input.decision === 'reject' && !reason) throw invalid('reason', 'reason is required when rejecting');
  const state = await withNote(deps, reason, (noteId) =>
    updateWorkflow(log, 'appointment', () => sendAppointmentDecision(deps.workflows, row.id, { decision: input.decision, actorAccountId: actor.id, noteId })),
  );
  return { status: state.status };
}

/**
 * The admins above the unit (DLA central for a root unit) end the role at once, with a reason;
 * refused when it would leave DLA central without an active admin.
 */
export async function revokeAppointment(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  input: { reason: string },
  log: Log,
): Promise<{ status: AppointmentStatus }> {
  const { db } = deps;
  const row = await find(deps, id);
  const [unit] = await db.select({ parentCode: orgUnits.parentCode }).from(orgUnits).where(eq(orgUnits.code, row.unitCode));
  const refusal = await revocationRefusal(deps, actor, row, unit?.parentCode ?? null);
  if (refusal) throw refusal;
  const reason = input.reason.trim();
  if (!reason) throw invalid('reason', 'reason is required');
  if (row.status !== 'approved') throw conflict(`The appointment is ${row.status}.`);
  if (!unit?.parentCode && (await wouldLeaveCentralWithoutAdmin(db, row.accountId))) {
    throw conflict('This is the last active DLA central admin: appoint another before revoking this one.');
  }
  const state = await withNote(deps, reason, (noteId) =>
    updateWorkflow(log, 'appointment', () => sendAppointmentRevocation(deps.workflows, row.id, { actorAccountId: actor.id, noteId: noteId! })),
  );
  return { status: state.status };
}
