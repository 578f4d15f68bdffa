// The user manual (คู่มือการใช้งาน) as pages anyone can read, signed in or not (linked from the footer
// of every page): the contents, the part for staff, the part for SSO admins; and the printable sheet of
// a unit with QR codes to the sign-in page, the manual and the survey. No JavaScript: printing is the
// browser's own (print CSS in site.css), the QR codes are SVG drawn on the server.
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../lib/problem.ts';
import { manualDeadlines, unitSheet } from '../../services/manual.ts';
import { page } from '../scope.ts';

const MANUAL = 'คู่มือการใช้งานระบบยืนยันตัวตน (SSO) / User manual';

export default async function manualRoutes(app: FastifyInstance) {
  app.get('/manual', page('public'), async (_request, reply) => reply.page(200, 'manual', { title: MANUAL }));

  app.get('/manual/staff', page('public'), async (_request, reply) => reply.page(200, 'manual-staff', { title: 'คู่มือสำหรับผู้ใช้งาน / Manual for staff' }));

  app.get('/manual/admin', page('public'), async (_request, reply) =>
    reply.page(200, 'manual-admin', { title: 'คู่มือสำหรับผู้ดูแลระบบ SSO / Manual for SSO admins', deadlines: manualDeadlines(app.deps) }),
  );

  // The contents page asks for a unit code in a plain GET form; this sends it on to the unit's sheet.
  app.get<{ Querystring: { unit?: string } }>('/manual/sheet', page('public'), async (request, reply) => {
    const unit = String(request.query.unit ?? '').trim();
    return reply.redirect(unit ? `/manual/sheet/${encodeURIComponent(unit)}` : '/manual#sheet', 303);
  });

  app.get<{ Params: { unitCode: string } }>('/manual/sheet/:unitCode', page('public'), async (request, reply) => {
    try {
      const sheet = await unitSheet(app.deps, request.params.unitCode);
      return reply.page(200, 'manual-sheet', { title: `SSO สถ. · ${sheet.unit.nameTh}`, ...sheet });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return reply.page(error.status, 'message', { title: 'ไม่พบหน่วยงาน / Unit not found', error: true, back: '/manual#sheet', message: error.message });
    }
  });
}
