// Registration requests (คำขอลงทะเบียนผู้ใช้งาน), the API: each route parses, calls one operation of
// services/registrations.ts and shapes the answer.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { REGISTRATION_STATUSES, type RegistrationStatus } from '../../db/schema.ts';
import { invalid, unauthorized } from '../../lib/problem.ts';
import {
  decideRegistration,
  listRegistrations,
  openDocument,
  provideRegistrationInfo,
  submitRegistration,
  viewRegistration,
  withdrawRegistration,
  type RegistrationDecisionInput,
} from '../../services/registrations.ts';
import { DOCUMENT_TYPES, readInfo, readSubmission } from '../registration-input.ts';
import { problem } from '../responses.ts';
import { accessList, answer, listQuery, nullableText, nullableTime, pageOf, readCursor, text, time, toPage, unitCode, uuid, uuidParam } from '../schemas.ts';

const file = { type: 'string', format: 'binary' } as const;
const registrationStatus = { type: 'string', enum: [...REGISTRATION_STATUSES] } as const;
const statusOf = answer({ id: uuid, status: registrationStatus });
const noSuchRequest = problem('There is no such registration request.');
const requested = { type: 'array', items: answer({ system: text, role: text }) } as const;
const applicantOnly = problem('Send the tracking code in X-Tracking-Code (or it does not match).');
const view = {
  id: uuid,
  status: registrationStatus,
  unitCode: text,
  actingUnitCode: text,
  unitNameTh: text,
  actingUnitNameTh: text,
  submittedAt: time,
  decidedAt: nullableTime,
  history: {
    type: 'array',
    items: {
      type: 'object',
      required: ['at', 'event', 'actor', 'note'],
      properties: {
        at: time,
        event: text,
        actor: text,
        note: nullableText,
        actingUnitCode: { ...text, description: 'Where the request waits from this event on, when it moved.' },
      },
    },
  },
  applicant: answer({
    citizenId: { type: 'string', description: 'Masked: only the last digits show.' },
    firstNameTh: text,
    lastNameTh: text,
    firstNameEn: nullableText,
    lastNameEn: nullableText,
    email: text,
    phone: nullableText,
    position: nullableText,
    username: text,
    requestedAccess: requested,
    identityVerifiedBy: nullableText,
  }),
  documents: { type: 'array', items: answer({ id: uuid, fileName: text, mediaType: text, size: { type: 'integer' } }) },
} as const;
/** What an admin sees beside what the applicant sees. */
const adminView = {
  accountId: { type: ['string', 'null'], format: 'uuid' },
  personnelEvents: {
    type: 'array',
    items: answer({ eventId: text, type: text, effectiveDate: text, toUnitCode: nullableText, newPosition: nullableText, status: text }),
  },
} as const;
import { throttle } from '../throttle.ts';
import { readUpload } from '../uploads.ts';

const trackingCodeOf = (request: FastifyRequest) => {
  const code = request.headers['x-tracking-code'];
  return typeof code === 'string' && code.length > 0 ? code : undefined;
};

/** The applicant's operations need the tracking code. */
function requireTrackingCode(request: FastifyRequest): string {
  const code = trackingCodeOf(request);
  if (!code) throw unauthorized('Send the tracking code in X-Tracking-Code.');
  return code;
}

export default async function registrationRoutes(app: FastifyInstance) {
  const deps = app.deps;
  const viewer = (request: FastifyRequest) => ({ trackingCode: trackingCodeOf(request), actor: request.account });

  app.post(
    '/registrations',
    {
      config: { scope: 'public' },
      onRequest: throttle(app, 'register-address', deps.config.rateLimits.submissionsPerAddress, (r) => r.ip),
      schema: {
        tags: ['registration'],
        consumes: ['multipart/form-data'],
        description:
          'No sign-in needed. Multipart: `data` (JSON: citizenId, firstNameTh, lastNameTh, firstNameEn?, lastNameEn?, email, phone?, position, unitCode, username, password, requestedAccess[{system, role}]) and 1–5 files named `documents` (PDF, JPEG or PNG, ≤ 10 MB each).',
        response: {
          202: answer({ id: uuid, trackingCode: text, status: { type: 'string', const: 'pending_approval' } }),
          409: problem('The citizen ID already has an open request or an active account, or the username is taken.'),
        },
      },
    },
    async (request, reply) => {
      const upload = await readUpload(request, DOCUMENT_TYPES, 'documents');
      if (upload.data === undefined) throw invalid('data', 'data is required: the request as JSON');
      const submitted = await submitRegistration(deps, readSubmission(upload.data), upload.files, request.log);
      return reply.status(202).send(submitted);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/registrations/:id',
    {
      config: { scope: 'applicant-or-unit-admin' },
      schema: {
        tags: ['registration'],
        params: uuidParam('id'),
        description: 'The applicant (header X-Tracking-Code) or an admin who may act for the unit (who also sees `accountId` and `personnelEvents`).',
        response: {
          200: { type: 'object', required: Object.keys(view), properties: { ...view, ...adminView } },
          403: problem('Neither the tracking code nor an admin who may act for the unit.'),
          404: noSuchRequest,
        },
      },
    },
    async (request) => {
      const { viewer: _seenBy, ...view } = await viewRegistration(deps, viewer(request), request.params.id);
      return view;
    },
  );

  app.get<{ Params: { id: string; documentId: string } }>(
    '/registrations/:id/documents/:documentId',
    {
      config: { scope: 'applicant-or-unit-admin' },
      schema: {
        tags: ['registration'],
        params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, documentId: { type: 'string', format: 'uuid' } } },
        response: {
          200: {
            description: 'The document as uploaded (PDF, JPEG or PNG).',
            content: { 'application/pdf': { schema: file }, 'image/jpeg': { schema: file }, 'image/png': { schema: file } },
          },
          403: problem('Neither the tracking code nor an admin who may act for the unit.'),
          404: problem('There is no such registration request or document.'),
        },
      },
    },
    async (request, reply) => {
      const doc = await openDocument(deps, viewer(request), request.params.id, request.params.documentId);
      const safeName = doc.fileName.replace(/[^\w.\- ]/g, '_');
      return reply
        .type(doc.mediaType)
        .header('content-disposition', `attachment; filename="${safeName}"`)
        .header('x-content-type-options', 'nosniff')
        .send(doc.content);
    },
  );

  app.get<{ Querystring: { status?: RegistrationStatus; unitCode?: string; search?: string; limit: number; cursor?: string } }>(
    '/registrations',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['registration'],
        security: [{ bearer: [] }],
        description:
          "An admin's inbox, oldest first: requests waiting at the units they administer and below (escalated ones included). Without `status`, the open ones. `search`: part of a name or the username.",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: [...REGISTRATION_STATUSES] }, unitCode, search: { type: 'string', maxLength: 100 }, ...listQuery },
        },
        response: {
          200: pageOf(
            answer({
              id: uuid,
              status: registrationStatus,
              unitCode: text,
              unitNameTh: text,
              actingUnitCode: text,
              submittedAt: time,
              decidedAt: nullableTime,
              firstNameTh: text,
              lastNameTh: text,
              position: nullableText,
              username: text,
              requestedAccess: requested,
            }),
          ),
        },
      },
    },
    async (request) => {
      const { status, unitCode: unitFilter, search, limit, cursor } = request.query;
      const rows = await listRegistrations(deps, request.account!, {
        status,
        unitCode: unitFilter,
        search,
        limit,
        after: readCursor<{ t: string; id: string }>(cursor, { t: 'time', id: 'uuid' }),
      });
      return toPage(
        rows,
        limit,
        (r) => r,
        (last) => ({ t: last.submittedAt, id: last.id }),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: RegistrationDecisionInput }>(
    '/registrations/:id/decision',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['registration'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        body: {
          type: 'object',
          required: ['decision'],
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: ['approve', 'reject', 'request_info'] },
            reason: { type: 'string', minLength: 1, maxLength: 2000 },
            access: accessList,
          },
        },
        response: { 200: answer({ status: registrationStatus }), 404: noSuchRequest, 409: problem('The request no longer awaits this decision.') },
      },
    },
    async (request) => decideRegistration(deps, request.account!, request.params.id, request.body, request.log),
  );

  app.post<{ Params: { id: string } }>(
    '/registrations/:id/info',
    {
      config: { scope: 'applicant' },
      schema: {
        tags: ['registration'],
        params: uuidParam('id'),
        consumes: ['multipart/form-data'],
        description:
          'The applicant (X-Tracking-Code) answers a request for information: multipart like the submission, with only what changed (and optionally `note`), and up to 5 more `documents`. Names verified through ThaiID cannot be changed.',
        response: { 202: statusOf, 403: applicantOnly, 404: noSuchRequest, 409: problem('The request does not await information.') },
      },
    },
    async (request, reply) => {
      const code = requireTrackingCode(request);
      const upload = await readUpload(request, DOCUMENT_TYPES, 'documents');
      const data = upload.data === undefined ? {} : readInfo(upload.data);
      return reply.status(202).send(await provideRegistrationInfo(deps, code, request.params.id, data, upload.files, request.log));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/registrations/:id/withdraw',
    {
      config: { scope: 'applicant' },
      schema: {
        tags: ['registration'],
        params: uuidParam('id'),
        description: 'The applicant (X-Tracking-Code) withdraws the request.',
        response: { 200: statusOf, 403: applicantOnly, 404: noSuchRequest, 409: problem('The request is decided already.') },
      },
    },
    async (request) => withdrawRegistration(deps, requireTrackingCode(request), request.params.id, request.log),
  );
}
