// The console's registration pages: the inbox (filters, oldest first, 50 a page) and a request with
// its evidence shown in the page and the three decisions as forms. The same operations as the API
// (services/registrations.ts); a refusal is shown on the page with what the admin typed kept.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { REGISTRATION_STATUSES, type RegistrationStatus } from '../../db/schema.ts';
import { Problem } from '../../lib/problem.ts';
import {
  accessChoices,
  decideRegistration,
  listRegistrations,
  openDocument,
  viewRegistration,
  type RegistrationDecisionInput,
} from '../../services/registrations.ts';
import { accessBoxes, accessFromForm, historyForPage, STATUS_LABELS } from '../registration-input.ts';
import { readCursor, toPage } from '../schemas.ts';
import { page } from '../scope.ts';

const PAGE_SIZE = 50;
const DECISIONS = ['approve', 'reject', 'request_info'] as const;
type Decision = (typeof DECISIONS)[number];
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;

interface ListQuery {
  status?: string;
  unitCode?: string;
  search?: string;
  cursor?: string;
}
interface DecisionForm {
  _csrf?: string;
  decision?: string;
  reason?: string;
  note?: string;
  access?: string | string[];
}

const DONE: Record<string, string> = {
  approved: 'อนุมัติแล้ว บัญชีผู้ใช้ถูกสร้างและแจ้งผู้ขอทางอีเมล / Approved: the account exists and the applicant is mailed.',
  rejected: 'ไม่อนุมัติแล้ว แจ้งเหตุผลแก่ผู้ขอทางอีเมล / Rejected: the applicant is mailed the reason.',
  info_requested: 'ขอข้อมูลเพิ่มเติมแล้ว ผู้ขอได้รับอีเมลพร้อมลิงก์ตอบกลับ / Information requested: the applicant is mailed a link to answer.',
};

export default async function registrationPages(app: FastifyInstance) {
  const deps = app.deps;

  app.get<{ Querystring: ListQuery }>('/registrations', page('admin'), async (request, reply) => {
    const { status: rawStatus, unitCode, search, cursor } = request.query;
    const status = (REGISTRATION_STATUSES as readonly string[]).includes(rawStatus ?? '') ? (rawStatus as RegistrationStatus) : undefined;
    const filters = { status: status ?? '', unitCode: unitCode?.trim() ?? '', search: search?.trim() ?? '' };
    try {
      const rows = await listRegistrations(deps, request.admin!, {
        status,
        unitCode: filters.unitCode || undefined,
        search: filters.search || undefined,
        limit: PAGE_SIZE,
        after: readCursor<{ t: string; id: string }>(cursor, { t: 'time', id: 'uuid' }),
      });
      const page = toPage(
        rows,
        PAGE_SIZE,
        (r) => ({ ...r, statusLabel: STATUS_LABELS[r.status] ?? r.status }),
        (last) => ({ t: last.submittedAt, id: last.id }),
      );
      const next = page.nextCursor ? `/admin/registrations?${new URLSearchParams({ ...filters, cursor: page.nextCursor })}` : null;
      return reply.consolePage(200, 'admin-registration-list', {
        title: 'คำขอลงทะเบียน / Registration requests',
        items: page.items,
        next,
        first: cursor ? `/admin/registrations?${new URLSearchParams(filters)}` : null,
        filters,
        statuses: REGISTRATION_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s], selected: s === status })),
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/registrations');
    }
  });

  /** The request's page; after a refused decision, the refusal and the form as the admin filled it. */
  async function requestPage(
    reply: FastifyReply,
    id: string,
    extra: { status?: number; error?: string; notice?: string; typed?: DecisionForm & { decision: Decision } } = {},
  ) {
    let view;
    try {
      view = await viewRegistration(deps, { actor: reply.request.admin }, id);
    } catch (error) {
      return reply.consoleProblem(error, '/admin/registrations');
    }
    const typed = extra.typed;
    const granted = typed?.decision === 'approve' ? accessFromForm(typed.access) : view.applicant.requestedAccess;
    return reply.consolePage(extra.status ?? 200, 'admin-registration-detail', {
      title: `คำขอลงทะเบียน: ${view.applicant.firstNameTh} ${view.applicant.lastNameTh} / Registration request`,
      view: {
        ...view,
        statusLabel: STATUS_LABELS[view.status] ?? view.status,
        history: historyForPage(view.history),
        documents: view.documents.map((d) => ({ ...d, url: `/admin/registrations/${view.id}/documents/${d.id}`, pdf: d.mediaType === 'application/pdf' })),
      },
      verifiedByThaiId: view.applicant.identityVerifiedBy === 'thaiid',
      requested: view.applicant.requestedAccess,
      // A decision only while the request awaits one; kept on the page after a refusal (nothing typed is lost).
      deciding: view.status === 'pending_approval' || typed !== undefined,
      access: accessBoxes(await accessChoices(deps), granted),
      reason: typed?.decision === 'reject' ? (typed.reason ?? '') : '',
      note: typed?.decision === 'request_info' ? (typed.note ?? '') : '',
      error: extra.error,
      notice: extra.notice,
    });
  }

  app.get<{ Params: { id: string }; Querystring: { done?: string } }>(
    '/registrations/:id',
    { config: { scope: 'unit-admin' }, schema: { hide: true, params: idParam } },
    async (request, reply) => requestPage(reply, request.params.id, { notice: request.query.done ? DONE[request.query.done] : undefined }),
  );

  // Evidence shown inside the page: the stored media type (judged by content at upload), never sniffed.
  app.get<{ Params: { id: string; documentId: string } }>(
    '/registrations/:id/documents/:documentId',
    {
      config: { scope: 'unit-admin' },
      schema: {
        hide: true,
        params: {
          type: 'object',
          required: ['id', 'documentId'],
          properties: { id: { type: 'string', format: 'uuid' }, documentId: { type: 'string', format: 'uuid' } },
        },
      },
    },
    async (request, reply) => {
      try {
        const doc = await openDocument(deps, { actor: request.admin }, request.params.id, request.params.documentId);
        const safeName = doc.fileName.replace(/[^\w.\- ]/g, '_');
        return reply
          .type(doc.mediaType)
          .header('content-disposition', `inline; filename="${safeName}"`)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'private, no-store')
          .header('content-security-policy', "frame-ancestors 'self'")
          .send(doc.content);
      } catch (error) {
        return reply.consoleProblem(error, `/admin/registrations/${request.params.id}`);
      }
    },
  );

  app.post<{ Params: { id: string }; Body: DecisionForm }>(
    '/registrations/:id/decision',
    {
      config: { scope: 'unit-admin' },
      schema: { hide: true, params: idParam },
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const { id } = request.params;
      const body = request.body ?? {};
      const decision = DECISIONS.find((d) => d === body.decision);
      if (!decision) return requestPage(reply, id, { status: 400, error: 'เลือกการตัดสิน / Choose a decision.' });
      const input: RegistrationDecisionInput =
        decision === 'approve'
          ? { decision, access: accessFromForm(body.access) }
          : { decision, reason: (decision === 'reject' ? body.reason : body.note)?.trim() || undefined };
      try {
        const { status } = await decideRegistration(deps, request.admin!, id, input, request.log);
        return reply.redirect(`/admin/registrations/${id}?done=${status}`, 303);
      } catch (error) {
        if (!(error instanceof Problem) || error.status === 403 || error.status === 404) return reply.consoleProblem(error, `/admin/registrations/${id}`);
        const message =
          error.status === 409
            ? `มีการดำเนินการกับคำขอนี้ไปแล้ว ข้อมูลที่ท่านกรอกยังอยู่ด้านล่าง / This request changed meanwhile (what you typed is kept below): ${error.message}`
            : error.status === 400 && error.errors?.some((e) => e.path === 'reason')
              ? decision === 'reject'
                ? 'กรุณาระบุเหตุผลที่ไม่อนุมัติ / Give the reason for rejecting.'
                : 'กรุณาระบุข้อมูลที่ต้องการเพิ่มเติม / Say what information is needed.'
              : error.message;
        return requestPage(reply, id, { status: error.status, error: message, typed: { ...body, decision } });
      }
    },
  );
}
