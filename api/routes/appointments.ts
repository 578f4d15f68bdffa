// SSO admin appointments (หนังสือมอบหมาย): a unit uploads the letter naming its admin; the admins one
// level up approve (services/appointments.ts).
import type { FastifyInstance } from 'fastify';
import { invalid } from '../../lib/problem.ts';
import {
  decideAppointment,
  decisionNeedsRecentSecondFactor,
  listAppointments,
  openLetter,
  revokeAppointment,
  uploadAppointmentLetter,
  viewAppointment,
} from '../../services/appointments.ts';
import { APPOINTMENT_STATUSES, type AppointmentStatus } from '../../db/schema.ts';
import { problem } from '../responses.ts';
import { answer, listQuery, nullableText, pageOf, readCursor, text, time, nullableTime, toPage, unitCode, uuid, uuidParam } from '../schemas.ts';
import { readUpload, validator } from '../uploads.ts';

const appointmentStatus = { type: 'string', enum: [...APPOINTMENT_STATUSES] } as const;
const noSuchAppointment = problem('There is no such appointment.');
const decided = { 200: answer({ status: appointmentStatus }), 404: noSuchAppointment, 409: problem('The appointment no longer awaits this.') } as const;

interface AppointmentData {
  accountId: string;
  termEnd?: string;
}
const readAppointment = validator<AppointmentData>({
  type: 'object',
  required: ['accountId'],
  additionalProperties: false,
  properties: { accountId: { type: 'string', format: 'uuid' }, termEnd: { type: 'string', format: 'date', christianEra: true } },
});

/** A file name as a Content-Disposition parameter: nothing that could break out of the quotes. */
const safeFileName = (name: string) => name.replace(/[^\w.\- ]/g, '_');

export default async function appointmentRoutes(app: FastifyInstance) {
  app.post<{ Params: { code: string } }>(
    '/org-units/:code/admin-appointments',
    {
      config: { scope: 'unit-member-or-admin-above' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        consumes: ['multipart/form-data'],
        params: { type: 'object', properties: { code: unitCode } },
        description: 'An account of the unit, or an admin above it, uploads the letter (one PDF named `letter`) with `data` = { accountId, termEnd? }.',
        response: {
          202: answer({ id: uuid, status: { type: 'string', const: 'pending_approval' } }),
          404: problem('There is no such unit or account.'),
          409: problem('The account already has an appointment for this unit, pending or in force.'),
        },
      },
    },
    async (request, reply) => {
      const upload = await readUpload(request, ['application/pdf'], 'letter');
      if (upload.data === undefined) throw invalid('data', 'data is required: { accountId, termEnd? }');
      const data = readAppointment(upload.data);
      if (upload.files.length !== 1) throw invalid('letter', 'attach exactly one appointment letter (PDF) named "letter"');
      const letter = upload.files[0]!;
      const created = await uploadAppointmentLetter(
        app.deps,
        request.account!,
        request.params.code,
        {
          accountId: data.accountId,
          termEnd: data.termEnd,
          letter: { fileName: letter.fileName, document: letter.document },
        },
        request.log,
      );
      return reply.status(202).send(created);
    },
  );

  app.get<{ Querystring: { status?: AppointmentStatus; limit: number; cursor?: string } }>(
    '/admin-appointments',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        description: 'Appointments whose approving unit you administer (or lies below yours), newest first; by default those awaiting a decision.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['pending_approval', 'approved', 'rejected', 'expired', 'revoked', 'ended'] }, ...listQuery },
        },
        response: {
          200: pageOf(
            answer({
              id: uuid,
              unitCode: text,
              unitNameTh: text,
              accountId: uuid,
              appointeeName: text,
              status: appointmentStatus,
              termEnd: nullableText,
              actingUnitCode: text,
              submittedAt: time,
            }),
          ),
        },
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      const rows = await listAppointments(app.deps, request.account!, {
        status,
        limit,
        after: readCursor<{ submittedAt: string; id: string }>(cursor, { submittedAt: 'time', id: 'uuid' }),
      });
      return toPage(
        rows,
        limit,
        (r) => r,
        (last) => ({ submittedAt: last.submittedAt, id: last.id }),
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin-appointments/:id',
    {
      config: { scope: 'self-or-unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        response: {
          200: answer({
            id: uuid,
            unitCode: text,
            accountId: uuid,
            submittedBy: uuid,
            status: appointmentStatus,
            termEnd: nullableText,
            actingUnitCode: text,
            submittedAt: time,
            decidedAt: nullableTime,
            endedAt: nullableTime,
            letter: answer({ fileName: text, size: { type: 'integer' }, url: text }),
            appointee: answer({ username: text, name: text }),
            unitNameTh: text,
            actingUnitNameTh: text,
            mayDecide: { type: 'boolean' },
            mayRevoke: { type: 'boolean' },
            history: { type: 'array', items: answer({ at: time, event: text, actor: text, note: nullableText }) },
          }),
          404: noSuchAppointment,
        },
      },
    },
    async (request) => viewAppointment(app.deps, request.account!, request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/admin-appointments/:id/letter',
    {
      config: { scope: 'self-or-unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        response: {
          200: { description: 'The letter (PDF).', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } },
          404: noSuchAppointment,
        },
      },
    },
    async (request, reply) => {
      const letter = await openLetter(app.deps, request.account!, request.params.id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="${safeFileName(letter.fileName)}"`)
        .header('x-content-type-options', 'nosniff')
        .send(letter.content);
    },
  );

  app.post<{ Params: { id: string }; Body: { decision: 'approve' | 'reject'; reason?: string } }>(
    '/admin-appointments/:id/decision',
    {
      config: { scope: 'approver' },
      preValidation: app.requireAdmin,
      // After the body is read: an approval asks for the second factor again (401 `mfa: required`), as designating admins does.
      preHandler: async (request) => {
        if (decisionNeedsRecentSecondFactor(request.body.decision)) await app.requireRecentSecondFactor(request);
      },
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        body: {
          type: 'object',
          required: ['decision'],
          additionalProperties: false,
          properties: { decision: { type: 'string', enum: ['approve', 'reject'] }, reason: { type: 'string', minLength: 1, maxLength: 2000 } },
        },
        response: decided,
      },
    },
    async (request) => decideAppointment(app.deps, request.account!, request.params.id, request.body, request.log),
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/admin-appointments/:id/revoke',
    {
      config: { scope: 'approver' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['appointments'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } },
        description: 'Ends the role at once. Admins above the unit (or DLA central) may revoke; refused if it would leave DLA central without an active admin.',
        response: decided,
      },
    },
    async (request) => revokeAppointment(app.deps, request.account!, request.params.id, request.body, request.log),
  );
}
