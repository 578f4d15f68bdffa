// The pages a person sees: the portal of connected systems (ระบบที่เชื่อมโยง), sign-in with a
// password or ThaiID, sign-out, the survey, and the registration form (prefilled and locked after ThaiID).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Problem } from '../../lib/problem.ts';
import { portalOf, registrationForm } from '../../services/portal.ts';
import { signOutEverywhere } from '../../services/sign-in.ts';
import { currentSurvey, recordSurveyResponse, SURVEY_SCALE } from '../../services/survey.ts';
import { safeReturnPath } from '../plugins/browser-session.ts';
import { loginThrottles } from '../throttle.ts';

const SURVEY_TITLE = 'แบบประเมินความพึงพอใจ / Satisfaction survey';

export default async function pageRoutes(app: FastifyInstance) {
  const throttles = loginThrottles(app);
  const loginPage = (reply: FastifyReply, returnTo: string, status = 200, extra: Record<string, unknown> = {}) =>
    reply.page(status, 'login', {
      title: 'เข้าสู่ระบบ / Sign in',
      action: `/login?return=${encodeURIComponent(returnTo)}`,
      csrf: app.csrfToken(reply),
      thaiidUrl: `/auth/thaiid?return=${encodeURIComponent(returnTo)}`,
      ...extra,
    });

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect('/login', 303);
    return reply.page(200, 'portal', { title: 'ระบบที่เชื่อมโยง / Connected systems', ...(await portalOf(app.deps, me)), csrf: app.csrfToken(reply) });
  });

  app.get<{ Querystring: { return?: string } }>('/login', { schema: { hide: true } }, async (request, reply) =>
    loginPage(reply, safeReturnPath(request.query.return)),
  );

  app.post<{ Querystring: { return?: string }; Body: { _csrf?: string; username?: string; password?: string } }>(
    '/login',
    {
      schema: { hide: true },
      onRequest: throttles.perAddress,
      preHandler: [app.csrfProtection, throttles.perUsername],
    },
    async (request, reply) => {
      const returnTo = safeReturnPath(request.query.return);
      const signedIn = await app.signInFromForm(request, reply, (status, extra) => loginPage(reply, returnTo, status, extra));
      return signedIn ? reply.redirect(returnTo, 303) : reply;
    },
  );

  // Signing out of the portal signs the person out of every connected system too.
  app.post<{ Body: { _csrf?: string } }>('/logout', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await app.browserAccount(request);
    await app.endBrowserSession(request, reply);
    if (me) await signOutEverywhere(app.deps, me.id, 'signed out of the portal');
    return reply.page(200, 'message', {
      title: 'ออกจากระบบแล้ว / Signed out',
      message: 'ออกจากระบบทุกระบบเรียบร้อยแล้ว / You are signed out of every system.',
      back: '/login',
    });
  });

  // The satisfaction survey for the signed-in person (the API's questions and rule: one answer a round).
  app.get('/survey', { schema: { hide: true } }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/survey')}`, 303);
    return reply.page(200, 'survey', { title: SURVEY_TITLE, ...currentSurvey(app.deps), scale: SURVEY_SCALE, csrf: app.csrfToken(reply) });
  });

  app.post<{ Body: Record<string, string> }>('/survey', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/survey')}`, 303);
    const { comment, ...answers } = request.body ?? {};
    const scores = Object.fromEntries(Object.entries(answers).map(([id, value]) => [id, Number(value)]));
    try {
      await recordSurveyResponse(app.deps, me, { scores, comment: typeof comment === 'string' ? comment.slice(0, 2000) : undefined });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return reply.page(error.status, 'message', { title: SURVEY_TITLE, error: true, back: '/survey', message: error.message });
    }
    return reply.page(201, 'message', { title: SURVEY_TITLE, message: 'ขอบคุณสำหรับความคิดเห็น / Thank you for your answers.' });
  });

  app.get<{ Querystring: { verification?: string } }>('/register', { schema: { hide: true } }, async (request, reply) => {
    try {
      return reply.page(200, 'register', { title: 'ลงทะเบียนขอใช้งาน / Register', ...(await registrationForm(app.deps, request.query.verification)) });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return reply.page(error.status, 'message', { title: 'ลงทะเบียน / Register', error: true, back: '/login', message: error.message });
    }
  });
}
