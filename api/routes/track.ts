// The applicant's tracking page (/track/:id, linked from every mail to the applicant), without
// JavaScript: the tracking code asked in a form, then the status and history; when information is
// asked, a form to answer (multipart, with documents) and, while the request is open, one to withdraw.
// The tracking code travels in each form (there is no sign-in); every form carries a CSRF token.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { OPEN_REGISTRATION_STATUSES } from '../../db/schema.ts';
import { Problem } from '../../lib/problem.ts';
import {
  accessChoices,
  provideRegistrationInfo,
  viewRegistration,
  withdrawRegistration,
  type RegistrationInfo,
  type RegistrationView,
} from '../../services/registrations.ts';
import { accessBoxes, accessFromForm, DOCUMENT_TYPES, historyForPage, readInfo, STATUS_LABELS } from '../registration-input.ts';
import { throttle } from '../throttle.ts';
import { multipartFields, partialForm, readMultipartRest } from '../multipart-form.ts';

const TITLE = 'ติดตามคำขอ / Track your request';
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;

/** What the applicant may change when asked: names stay as ThaiD gave them when verified through ThaiID. */
const TEXT_FIELDS = [
  { name: 'firstNameTh', label: 'ชื่อ (ภาษาไทย) / First name (Thai)', verified: true },
  { name: 'lastNameTh', label: 'นามสกุล (ภาษาไทย) / Last name (Thai)', verified: true },
  { name: 'firstNameEn', label: 'ชื่อ (ภาษาอังกฤษ) / First name (English)', verified: true },
  { name: 'lastNameEn', label: 'นามสกุล (ภาษาอังกฤษ) / Last name (English)', verified: true },
  { name: 'email', label: 'อีเมล / E-mail', verified: false, type: 'email' },
  { name: 'phone', label: 'โทรศัพท์ / Phone', verified: false, type: 'tel' },
  { name: 'position', label: 'ตำแหน่ง / Position', verified: false },
] as const;
type TextField = (typeof TEXT_FIELDS)[number]['name'];

type Form = Record<string, string[]>;
const first = (form: Form, name: string) => form[name]?.[0];

/** The answer as the API takes it (the service keeps only what changed); fields left empty are not sent. */
function answerOf(form: Form): RegistrationInfo {
  const data: Record<string, unknown> = {};
  for (const { name } of TEXT_FIELDS) {
    const value = first(form, name)?.trim();
    if (value) data[name] = value;
  }
  data.requestedAccess = accessFromForm(form.access);
  const note = first(form, 'note')?.trim();
  if (note) data.note = note;
  return readInfo(data);
}

export default async function trackRoutes(app: FastifyInstance) {
  const deps = app.deps;
  // Guessing tracking codes is slowed down like submissions are.
  const perAddress = throttle(app, 'track-address', deps.config.rateLimits.submissionsPerAddress, (r) => r.ip);

  const codeForm = (reply: FastifyReply, id: string, status = 200, error?: string) =>
    reply.page(status, 'track', { title: TITLE, id, csrf: app.csrfToken(reply), error });

  /** The status and history, with the forms the request allows; `typed` refills the answer after a refusal. */
  async function statusPage(
    reply: FastifyReply,
    id: string,
    trackingCode: string,
    extra: { status?: number; error?: string; notice?: string; typed?: Form } = {},
  ) {
    let view: RegistrationView;
    try {
      view = await viewRegistration(deps, { trackingCode }, id);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return codeForm(reply, id, error.status, error.message);
    }
    const typed = extra.typed;
    const verified = view.applicant.identityVerifiedBy === 'thaiid';
    const answering = view.status === 'info_requested' || (typed !== undefined && extra.error !== undefined);
    const lastAsked = [...view.history].reverse().find((h) => h.event === 'info_requested');
    return reply.page(extra.status ?? 200, 'track', {
      title: TITLE,
      id,
      csrf: app.csrfToken(reply),
      trackingCode,
      error: extra.error,
      notice: extra.notice,
      view: { ...view, statusLabel: STATUS_LABELS[view.status] ?? view.status, history: historyForPage(view.history) },
      asked: lastAsked?.note ?? null,
      answer: answering
        ? {
            fields: TEXT_FIELDS.map((f) => ({
              ...f,
              type: 'type' in f ? f.type : 'text',
              locked: verified && f.verified,
              value: typed && !(verified && f.verified) ? (first(typed, f.name) ?? '') : (view.applicant[f.name as TextField] ?? ''),
            })),
            access: accessBoxes(await accessChoices(deps), typed ? accessFromForm(typed.access) : view.applicant.requestedAccess),
            note: typed ? (first(typed, 'note') ?? '') : '',
          }
        : null,
      withdrawable: (OPEN_REGISTRATION_STATUSES as readonly string[]).includes(view.status),
    });
  }

  app.get<{ Params: { id: string } }>('/track/:id', { config: { scope: 'public' }, schema: { hide: true, params: idParam } }, async (request, reply) =>
    codeForm(reply, request.params.id),
  );

  app.post<{ Params: { id: string }; Body: { trackingCode?: string } }>(
    '/track/:id',
    {
      config: { scope: 'applicant' },
      schema: { hide: true, params: idParam },
      onRequest: perAddress,
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const code = String(request.body?.trackingCode ?? '').trim();
      if (!code) return codeForm(reply, request.params.id, 400, 'กรุณากรอกรหัสติดตามคำขอ / Enter the tracking code.');
      return statusPage(reply, request.params.id, code);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/track/:id/info',
    {
      config: { scope: 'applicant' },
      schema: { hide: true, params: idParam },
      onRequest: perAddress,
      preHandler: [multipartFields({ accept: { documents: DOCUMENT_TYPES } }), app.csrfProtection],
    },
    async (request, reply) => {
      const { id } = request.params;
      try {
        const { fields, documents } = await readMultipartRest(request);
        const code = first(fields, 'trackingCode')?.trim() ?? '';
        await provideRegistrationInfo(deps, code, id, answerOf(fields), documents, request.log);
        return await statusPage(reply, id, code, { notice: 'ส่งข้อมูลเพิ่มเติมแล้ว ผู้ดูแลระบบจะพิจารณาต่อ / Your answer was sent; the SSO admin will continue.' });
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        const problem = error;
        const form = partialForm(request).fields;
        const code = first(form, 'trackingCode')?.trim() ?? '';
        if (!code) return codeForm(reply, id, problem.status, problem.message);
        return statusPage(reply, id, code, { status: problem.status, error: problem.message, typed: form });
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { trackingCode?: string; confirm?: string } }>(
    '/track/:id/withdraw',
    {
      config: { scope: 'applicant' },
      schema: { hide: true, params: idParam },
      onRequest: perAddress,
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const { id } = request.params;
      const code = String(request.body?.trackingCode ?? '').trim();
      if (request.body?.confirm !== 'yes') {
        return statusPage(reply, id, code, { status: 400, error: 'กรุณายืนยันการถอนคำขอ / Tick the box to confirm the withdrawal.' });
      }
      try {
        await withdrawRegistration(deps, code, id, request.log);
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        return statusPage(reply, id, code, { status: error.status, error: error.message });
      }
      return statusPage(reply, id, code, { notice: 'ถอนคำขอแล้ว / The request was withdrawn.' });
    },
  );
}
