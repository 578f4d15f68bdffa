// The admin console at /admin: pages for SSO admins (and DLA central) on the same services as the
// JSON API. Every page needs the browser's sign-in; anyone who administers nothing gets a 403 page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '../../lib/problem.ts';
import { renderPage } from '../../lib/pages.ts';
import type { Actor } from '../../services/actor.ts';
import { whatWaits } from '../../services/inbox.ts';
import { page } from '../scope.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in admin of a console page. */
    admin: Actor | null;
  }
  interface FastifyReply {
    /** A console page: templates/pages/<name>.hbs in the console layout, with `csrf`, `admin` and the menu. */
    consolePage(status: number, name: string, data: Record<string, unknown> & { title: string }): FastifyReply;
    /** A refused action as a page: the problem's message and status, with a way back. */
    consoleProblem(error: unknown, back: string): FastifyReply;
    /** A destructive action sent without its confirmation box ticked: nothing done, 400, a way back. */
    consoleNotConfirmed(back: string, message: string): FastifyReply;
  }
}

const MENU = [
  { href: '/admin', label: 'งานที่รอ / Waiting' },
  { href: '/admin/registrations', label: 'คำขอลงทะเบียน / Registrations' },
  { href: '/admin/appointments', label: 'ผู้ดูแลระบบ / Appointments' },
  { href: '/admin/reviews', label: 'ทบทวนสิทธิ์ / Reviews' },
  { href: '/admin/accounts', label: 'บัญชีผู้ใช้ / Accounts' },
  { href: '/admin/units', label: 'หน่วยงาน / Units' },
  { href: '/admin/compliance', label: 'หน่วยงานไม่มีผู้ดูแล / Without admin' },
  { href: '/admin/campaigns', label: 'รอบทบทวนสิทธิ์ / Access reviews' },
  { href: '/admin/personnel', label: 'ความเปลี่ยนแปลงบุคลากร / Personnel changes' },
  { href: '/admin/audit', label: 'บันทึกการตรวจสอบ / Audit' },
  { href: '/admin/survey', label: 'ผลแบบสำรวจ / Survey results' },
  { href: '/admin/dashboard', label: 'ภาพรวมการใช้งาน / Rollout' },
  { href: '/', label: 'พอร์ทัล / Portal' },
];

/** The menu with the current section marked (the longest matching prefix). */
function menuFor(url: string) {
  const path = url.split('?')[0]!;
  const current = MENU.filter((m) => m.href !== '/' && (path === m.href || path.startsWith(`${m.href}/`))).sort((a, b) => b.href.length - a.href.length)[0];
  return MENU.map((m) => ({ ...m, current: m === current }));
}

/** Every console route: signed in (else to the sign-in page and back), and an admin (else 403). */
async function requireConsoleAdmin(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  const me = await this.browserAccount(request);
  if (!me) return reply.redirect(`/login?return=${encodeURIComponent(request.url)}`, 303);
  if (!me.central && me.adminUnits.length === 0) {
    return reply.page(403, 'message', {
      title: 'ไม่มีสิทธิ์ / Forbidden',
      error: true,
      back: '/',
      message: 'คอนโซลนี้สำหรับผู้ดูแลระบบ SSO ของหน่วยงานเท่านั้น / The console is for the SSO admins of units only.',
    });
  }
  request.admin = me;
}

export default fp(async function consolePages(app: FastifyInstance) {
  app.decorateRequest('admin', null);
  app.decorateReply('consolePage', function consolePage(this: FastifyReply, status: number, name: string, data: Record<string, unknown> & { title: string }) {
    const html = renderPage(name, { ...data, csrf: this.generateCsrf(), admin: this.request.admin, nav: menuFor(this.request.url) }, 'console-layout');
    return this.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.decorateReply('consoleProblem', function consoleProblem(this: FastifyReply, error: unknown, back: string) {
    if (!(error instanceof Problem)) throw error;
    return this.consolePage(error.status, 'message', {
      title: error.status === 403 ? 'ไม่มีสิทธิ์ / Forbidden' : 'ทำรายการไม่ได้ / Not done',
      error: true,
      message: error.message,
      back,
    });
  });
  app.decorateReply('consoleNotConfirmed', function consoleNotConfirmed(this: FastifyReply, back: string, message: string) {
    return this.consolePage(400, 'message', { title: 'ยังไม่ได้ยืนยัน / Not confirmed', error: true, back, message });
  });

  await app.register(
    async (admin) => {
      admin.addHook('preHandler', requireConsoleAdmin);
      admin.get('/', page('admin'), async (request, reply) =>
        reply.consolePage(200, 'console-home', {
          title: 'งานที่รอท่าน / What waits for you',
          ...(await whatWaits(app.deps, request.admin!)),
        }),
      );
      // Each flow's pages (one line each: `await admin.register(import('./<flow>.ts'));`).
      // flow pages:
      await admin.register(import('./registrations.ts'));
      await admin.register(import('./appointments.ts'));
      await admin.register(import('./units.ts'));
      await admin.register(import('./accounts.ts'));
      await admin.register(import('./reviews.ts'));
      await admin.register(import('./campaigns.ts'));
      await admin.register(import('./personnel.ts'));
      await admin.register(import('./audit.ts'));
      await admin.register(import('./survey.ts'));
      await admin.register(import('./dashboard.ts'));
    },
    { prefix: '/admin' },
  );
});
