// SSO admin appointments (หนังสือมอบหมาย): a unit uploads the letter naming its admin; the admins one
// level up approve. Decisions and revocations are Updates to the appointment's workflow.
import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { writeAudit } from '../../db/audit.ts';
import { isUniqueViolation } from '../../db/identity.ts';
import { findActingUnit, wouldLeaveCentralWithoutAdmin } from '../../db/org-tree.ts';
import { accounts, adminAppointments, appointmentEvents, notes, orgUnits } from '../../db/schema.ts';
import {
  appointmentWorkflowId, decideAppointment, revokeAppointment, type AppointmentDecision,
} from '../../workflows/appointment.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { conflict, forbidden, invalid, notFound } from '../../lib/problem.ts';
import { unitCode, uuidParam } from '../schemas.ts';
import { readUpload, validator } from '../uploads.ts';
import { startAppointment, startOrTakeBack, updateWorkflow } from '../../services/workflows.ts';

interface AppointmentData { accountId: string; termEnd?: string }
const readAppointment = validator<AppointmentData>({
  type: 'object', required: ['accountId'], additionalProperties: false,
  properties: { accountId: { type: 'string', format: 'uuid' }, termEnd: { type: 'string', format: 'date' } },
});

/** Today in Asia/Bangkok, `YYYY-MM-DD`. */
const bangkokToday = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

type AppointmentRow = typeof adminAppointments.$inferSelect;

export default async function appointmentRoutes(app: FastifyInstance) {
  const { db, temporal, documentStore } = app.deps;

  async function find(id: string): Promise<AppointmentRow> {
    const [row] = await db.select().from(adminAppointments).where(eq(adminAppointments.id, id));
    if (!row) throw notFound('There is no such appointment.');
    return row;
  }

  async function view(row: AppointmentRow) {
    const events = await db.select({ e: appointmentEvents, username: accounts.username }).from(appointmentEvents)
      .leftJoin(accounts, eq(accounts.id, appointmentEvents.actorAccountId))
      .where(eq(appointmentEvents.appointmentId, row.id)).orderBy(asc(appointmentEvents.seq));
    return {
      id: row.id, unitCode: row.unitCode, accountId: row.accountId, submittedBy: row.submittedBy, status: row.status,
      termEnd: row.termEnd, actingUnitCode: row.actingUnitCode, submittedAt: row.submittedAt.toISOString(),
      decidedAt: row.decidedAt?.toISOString() ?? null, endedAt: row.endedAt?.toISOString() ?? null,
      letter: { fileName: row.letterFileName, size: row.letterSize, url: `/api/v1/admin-appointments/${row.id}/letter` },
      history: events.map(({ e, username }) => ({ at: e.at.toISOString(), event: e.event, actor: username ?? 'system', note: e.note })),
    };
  }

  /** The appointee, the submitter, and admins of the unit, of the approving unit or above. */
  async function mayView(me: SignedInAccount, row: AppointmentRow) {
    return me.id === row.accountId || me.id === row.submittedBy || await app.mayActFor(me, row.unitCode) || await app.mayActFor(me, row.actingUnitCode);
  }

  app.post<{ Params: { code: string } }>('/org-units/:code/admin-appointments', {
    preValidation: app.requireAccount,
    schema: {
      tags: ['appointments'], security: [{ bearer: [] }], consumes: ['multipart/form-data'], params: { type: 'object', properties: { code: unitCode } },
      description: 'An account of the unit, or an admin above it, uploads the letter (one PDF named `letter`) with `data` = { accountId, termEnd? }.',
    },
  }, async (request: FastifyRequest<{ Params: { code: string } }>, reply) => {
    const me = request.account!;
    const { code } = request.params;
    const [unit] = await db.select().from(orgUnits).where(eq(orgUnits.code, code));
    if (!unit) throw notFound(`There is no unit ${code}.`);
    if (me.unitCode !== code && !(await app.mayActFor(me, code))) {
      throw forbidden('Only an account of this unit, or an SSO admin above it, may upload its appointment letter.');
    }
    const upload = await readUpload(request, ['application/pdf'], 'letter');
    if (upload.data === undefined) throw invalid('data', 'data is required: { accountId, termEnd? }');
    const data = readAppointment(upload.data);
    if (upload.files.length !== 1) throw invalid('letter', 'attach exactly one appointment letter (PDF) named "letter"');
    const [appointee] = await db.select().from(accounts).where(eq(accounts.id, data.accountId));
    if (!appointee) throw invalid('data.accountId', `account ${data.accountId} does not exist`);
    if (appointee.unitCode !== code) throw invalid('data.accountId', `the appointee must be an account of ${code}`);
    if (appointee.status !== 'active') throw invalid('data.accountId', `the appointee's account is ${appointee.status}`);
    if (data.termEnd && data.termEnd < bangkokToday()) throw invalid('data.termEnd', 'termEnd lies in the past');
    // Approvers: the admins one level up (or further up where a unit has none); DLA central approves its own.
    const actingUnitCode = unit.parentCode ? (await findActingUnit(db, code, true))! : code;
    const letter = upload.files[0]!;
    const sha256 = await documentStore.put(letter.content);
    const id = randomUUID();
    try {
      await db.transaction(async (tx) => {
        await tx.insert(adminAppointments).values({
          id, unitCode: code, accountId: appointee.id, submittedBy: me.id, letterSha256: sha256, letterFileName: letter.fileName,
          letterSize: letter.content.length, termEnd: data.termEnd ?? null, status: 'pending_approval', actingUnitCode,
        });
        await tx.insert(appointmentEvents).values({ appointmentId: id, seq: 0, event: 'submitted', actorAccountId: me.id, actingUnitCode });
        await writeAudit(tx, {
          key: `appointment:${id}:0`, actorAccountId: me.id, actor: `account:${me.id}`, action: 'appointment.submitted',
          subjectType: 'appointment', subjectId: id, unitCode: code,
          after: { status: 'pending_approval', accountId: appointee.id, termEnd: data.termEnd ?? null, actingUnitCode, letterSha256: sha256 },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('An appointment of this person at this unit is already awaiting approval.');
      throw error;
    }
    await startOrTakeBack(request.log, 'appointment', () => startAppointment(app.deps.workflows, { appointmentId: id, unitCode: code, actingUnitCode, termEnd: data.termEnd ?? null }), async () => {
      await db.transaction(async (tx) => {
        await tx.delete(appointmentEvents).where(eq(appointmentEvents.appointmentId, id));
        await tx.delete(adminAppointments).where(eq(adminAppointments.id, id));
      });
    });
    return reply.status(202).send({ id, status: 'pending_approval' });
  });

  app.get<{ Params: { id: string } }>('/admin-appointments/:id', {
    preValidation: app.requireAccount,
    schema: { tags: ['appointments'], security: [{ bearer: [] }], params: uuidParam('id') },
  }, async (request) => {
    const row = await find(request.params.id);
    if (!(await mayView(request.account!, row))) throw forbidden('Only the appointee, the submitter and the admins concerned may see this appointment.');
    return view(row);
  });

  app.get<{ Params: { id: string } }>('/admin-appointments/:id/letter', {
    preValidation: app.requireAccount,
    schema: { tags: ['appointments'], security: [{ bearer: [] }], params: uuidParam('id') },
  }, async (request, reply) => {
    const row = await find(request.params.id);
    if (!(await mayView(request.account!, row))) throw forbidden('Only the appointee, the submitter and the admins concerned may see this letter.');
    return reply.type('application/pdf').header('content-disposition', `attachment; filename="${row.letterFileName.replace(/[^\w.\- ]/g, '_')}"`)
      .header('x-content-type-options', 'nosniff').send(documentStore.open(row.letterSha256));
  });

  app.post<{ Params: { id: string }; Body: { decision: 'approve' | 'reject'; reason?: string } }>('/admin-appointments/:id/decision', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['appointments'], security: [{ bearer: [] }], params: uuidParam('id'),
      body: {
        type: 'object', required: ['decision'], additionalProperties: false,
        properties: { decision: { type: 'string', enum: ['approve', 'reject'] }, reason: { type: 'string', minLength: 1, maxLength: 2000 } },
      },
    },
  }, async (request) => {
    const me = request.account!;
    const row = await find(request.params.id);
    if (!(await app.mayActFor(me, row.actingUnitCode))) {
      throw forbidden(`This appointment awaits the admins of ${row.actingUnitCode}; you are not one of them or above them.`);
    }
    if (me.id === row.accountId || me.id === row.submittedBy) throw forbidden('Nobody approves an appointment of their own.');
    const { decision, reason } = request.body;
    if (decision === 'reject' && !reason?.trim()) throw invalid('reason', 'reason is required when rejecting');
    const noteId = reason?.trim() ? randomUUID() : null;
    if (noteId) await db.insert(notes).values({ id: noteId, text: reason!.trim() });
    const payload: AppointmentDecision = { decision, actorAccountId: me.id, noteId };
    try {
      const state = await updateWorkflow(request.log, 'appointment', () => temporal.workflow.getHandle(appointmentWorkflowId(row.id)).executeUpdate(decideAppointment, { args: [payload] }));
      return { status: state.status };
    } catch (error) {
      if (noteId) await db.delete(notes).where(eq(notes.id, noteId));
      throw error;
    }
  });

  app.post<{ Params: { id: string }; Body: { reason: string } }>('/admin-appointments/:id/revoke', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['appointments'], security: [{ bearer: [] }], params: uuidParam('id'),
      body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
      description: 'Ends the role at once. Admins above the unit (or DLA central) may revoke; refused if it would leave DLA central without an active admin.',
    },
  }, async (request) => {
    const me = request.account!;
    const row = await find(request.params.id);
    const [unit] = await db.select({ parentCode: orgUnits.parentCode }).from(orgUnits).where(eq(orgUnits.code, row.unitCode));
    const above = unit?.parentCode ? await app.mayActFor(me, unit.parentCode) : me.central;
    if (!above) throw forbidden('Only the admins above the unit may revoke its admin.');
    if (me.id === row.accountId) throw forbidden('Nobody revokes their own appointment here; ask the admins above your unit.');
    if (row.status !== 'approved') throw conflict(`The appointment is ${row.status}.`);
    if (!unit?.parentCode && await wouldLeaveCentralWithoutAdmin(db, row.accountId)) {
      throw conflict('This is the last active DLA central admin: appoint another before revoking this one.');
    }
    const noteId = randomUUID();
    await db.insert(notes).values({ id: noteId, text: request.body.reason.trim() });
    try {
      const state = await updateWorkflow(request.log, 'appointment', () => temporal.workflow.getHandle(appointmentWorkflowId(row.id))
        .executeUpdate(revokeAppointment, { args: [{ actorAccountId: me.id, noteId }] }));
      return { status: state.status };
    } catch (error) {
      await db.delete(notes).where(eq(notes.id, noteId));
      throw error;
    }
  });

}
