// Console pages of SSO admin appointments: what awaits the admin's decision, one appointment with its
// letter shown in the page, approval or rejection, and revocation. The same services as the JSON API.
import type { FastifyInstance } from 'fastify';
import { secondFactorConfirmed } from '../recent-second-factor.ts';
import { page, type Scope } from '../scope.ts';
import {
  decideAppointment,
  decisionNeedsRecentSecondFactor,
  listAppointments,
  openLetter,
  revokeAppointment,
  viewAppointment,
} from '../../services/appointments.ts';

const PAGE = 50;

const STATUS_NAMES: Record<string, string> = {
  pending_approval: 'รออนุมัติ / awaiting approval',
  approved: 'อนุมัติแล้ว / approved',
  rejected: 'ไม่อนุมัติ / rejected',
  expired: 'หมดอายุ / expired',
  revoked: 'เพิกถอนแล้ว / revoked',
  ended: 'ครบวาระ / ended',
};

const EVENT_NAMES: Record<string, string> = {
  submitted: 'ยื่นหนังสือ / submitted',
  approved: 'อนุมัติ / approved',
  rejected: 'ไม่อนุมัติ / rejected',
  escalated: 'ส่งต่อขึ้น / escalated',
  expired: 'หมดอายุ / expired',
  revoked: 'เพิกถอน / revoked',
  ended: 'ครบวาระ / term ended',
};

/** A keyset position in the list, as the `after` of the next page's link. */
const encodeAfter = (last: { submittedAt: string; id: string }) =>
  Buffer.from(JSON.stringify({ submittedAt: last.submittedAt, id: last.id })).toString('base64url');
function decodeAfter(value: unknown): { submittedAt: string; id: string } | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A file name as a Content-Disposition parameter: nothing that could break out of the quotes. */
const safeFileName = (name: string) => name.replace(/[^\w.\- ]/g, '_');

export default async function appointmentPages(app: FastifyInstance) {
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });

  app.get<{ Querystring: { after?: string } }>('/appointments', page('admin'), async (request, reply) => {
    const after = decodeAfter(request.query.after);
    try {
      const rows = await listAppointments(app.deps, request.admin!, { limit: PAGE, after });
      const items = rows.slice(0, PAGE);
      return reply.consolePage(200, 'admin-appointment-list', {
        title: 'หนังสือมอบหมายที่รออนุมัติ / Appointments awaiting decision',
        items,
        next: rows.length > PAGE ? `/admin/appointments?after=${encodeAfter(items[items.length - 1]!)}` : null,
        first: after ? '/admin/appointments' : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin');
    }
  });

  app.get<{ Params: { id: string }; Querystring: { uploaded?: string; done?: string } }>('/appointments/:id', page('unit-admin'), async (request, reply) => {
    try {
      const view = await viewAppointment(app.deps, request.admin!, request.params.id);
      return reply.consolePage(200, 'admin-appointment', {
        title: `หนังสือมอบหมาย / Appointment: ${view.appointee.name} — ${view.unitNameTh}`,
        ...view,
        statusName: STATUS_NAMES[view.status] ?? view.status,
        pending: view.status === 'pending_approval',
        history: view.history.map((h) => ({ ...h, eventName: EVENT_NAMES[h.event] ?? h.event })),
        letterUrl: `/admin/appointments/${view.id}/letter`,
        uploaded: request.query.uploaded === '1',
        done: request.query.done && Object.hasOwn(STATUS_NAMES, request.query.done) ? STATUS_NAMES[request.query.done] : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/appointments');
    }
  });

  // Shown inside the appointment's page (same origin only): inline, never sniffed as anything but a PDF.
  app.get<{ Params: { id: string } }>('/appointments/:id/letter', page('unit-admin'), async (request, reply) => {
    try {
      const letter = await openLetter(app.deps, request.admin!, request.params.id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="${safeFileName(letter.fileName)}"`)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'SAMEORIGIN')
        .header('content-security-policy', "frame-ancestors 'self'")
        .header('cache-control', 'private, no-store')
        .send(letter.content);
    } catch (error) {
      return reply.consoleProblem(error, `/admin/appointments/${encodeURIComponent(request.params.id)}`);
    }
  });

  app.post<{ Params: { id: string }; Body: { decision?: string; reason?: string } }>(
    '/appointments/:id/decision',
    plainForm('approver'),
    async (request, reply) => {
      const back = `/admin/appointments/${encodeURIComponent(request.params.id)}`;
      // Approving designates an admin: one of the actions that needs a recent second factor (then the form again).
      if (decisionNeedsRecentSecondFactor(request.body?.decision) && !(await secondFactorConfirmed(app, request, reply, back))) return reply;
      try {
        const { decision, reason } = request.body ?? {};
        const result = await decideAppointment(
          app.deps,
          request.admin!,
          request.params.id,
          {
            decision: decision === 'reject' ? 'reject' : 'approve',
            reason: typeof reason === 'string' ? reason.slice(0, 2000) : undefined,
          },
          request.log,
        );
        return reply.redirect(`${back}?done=${result.status}`, 303);
      } catch (error) {
        return reply.consoleProblem(error, back);
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { reason?: string; confirm?: string } }>(
    '/appointments/:id/revoke',
    plainForm('approver'),
    async (request, reply) => {
      const back = `/admin/appointments/${encodeURIComponent(request.params.id)}`;
      try {
        const { reason, confirm } = request.body ?? {};
        if (confirm !== 'yes') {
          return reply.consoleNotConfirmed(back, 'ทำเครื่องหมายยืนยันการเพิกถอนก่อน / Tick the box to confirm the revocation.');
        }
        const result = await revokeAppointment(
          app.deps,
          request.admin!,
          request.params.id,
          { reason: typeof reason === 'string' ? reason.slice(0, 2000) : '' },
          request.log,
        );
        return reply.redirect(`${back}?done=${result.status}`, 303);
      } catch (error) {
        return reply.consoleProblem(error, back);
      }
    },
  );
}
