// The pages a person sees: the portal of connected systems (ระบบที่เชื่อมโยง), sign-in with a
// password or ThaiID, sign-out, and the registration form (prefilled and locked after ThaiID).
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accounts, identityVerifications, orgUnits, systems } from '../../db/schema.ts';
import { endSignIns } from '../../db/sso-sessions.ts';
import { maskCitizenId } from '../../lib/citizen-id.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { verifiedFields, type VerifiedClaims } from '../../lib/sso/thaiid.ts';
import { deliverSsoLogouts } from '../../lib/sso/backchannel-logout.ts';
import { safeReturnPath } from '../plugins/browser-session.ts';
import { throttle } from '../throttle.ts';
import { recordSurveyResponse, SURVEY_QUESTIONS, systemsOpenTo } from './portal.ts';

type LoginForm = { _csrf?: string; username?: string; password?: string; return?: string };

export default async function pageRoutes(app: FastifyInstance) {
  const { db, config, cipher, sso } = app.deps;
  const loginPage = (reply: FastifyReply, returnTo: string, status = 200, extra: Record<string, unknown> = {}) => reply.page(status, 'login', {
    title: 'เข้าสู่ระบบ / Sign in', action: `/login?return=${encodeURIComponent(returnTo)}`, csrf: app.csrfToken(reply),
    thaiidUrl: `/auth/thaiid?return=${encodeURIComponent(returnTo)}`, ...extra,
  });

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect('/login', 303);
    const [person] = await db.select({ firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh, unitNameTh: orgUnits.nameTh })
      .from(accounts).leftJoin(orgUnits, eq(orgUnits.code, accounts.unitCode)).where(eq(accounts.id, me.id));
    return reply.page(200, 'portal', {
      title: 'ระบบที่เชื่อมโยง / Connected systems', name: `${person!.firstNameTh} ${person!.lastNameTh}`, username: me.username,
      unit: person!.unitNameTh ?? me.unitCode ?? '', systems: await systemsOpenTo(db, me.id), csrf: app.csrfToken(reply),
    });
  });

  app.get<{ Querystring: { return?: string } }>('/login', { schema: { hide: true } }, async (request, reply) =>
    loginPage(reply, safeReturnPath(request.query.return)));

  app.post<{ Querystring: { return?: string }; Body: LoginForm }>('/login', {
    schema: { hide: true },
    onRequest: throttle(app, 'login-address', config.rateLimits.loginPerAddress, (r) => r.ip),
    preHandler: [app.csrfProtection, throttle(app, 'login-username', config.rateLimits.loginPerUsername,
      (r: FastifyRequest) => String((r.body as LoginForm | undefined)?.username ?? '').toLowerCase())],
  }, async (request, reply) => {
    const returnTo = safeReturnPath(request.query.return);
    const username = String(request.body?.username ?? '').trim();
    const account = await app.checkPassword(username, String(request.body?.password ?? ''));
    if (!account) return loginPage(reply, returnTo, 401, { username, error: 'ชื่อผู้ใช้งานหรือรหัสผ่านไม่ถูกต้อง / The username or password is wrong.' });
    if (account.status !== 'active') return reply.cannotSignIn(account.status);
    await app.startBrowserSession(reply, account.id);
    return reply.redirect(returnTo, 303);
  });

  // Signing out of the portal signs the person out of every connected system too.
  app.post<{ Body: { _csrf?: string } }>('/logout', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await app.browserAccount(request);
    await app.endBrowserSession(request, reply);
    if (me) {
      const queued = await db.transaction(async (tx) => endSignIns(tx, me.id, 'signed out of the portal'));
      if (queued > 0) await deliverSsoLogouts(db, sso.logoutSigner, { accountId: me.id });
    }
    return reply.page(200, 'message', { title: 'ออกจากระบบแล้ว / Signed out', message: 'ออกจากระบบทุกระบบเรียบร้อยแล้ว / You are signed out of every system.', back: '/login' });
  });

  // The satisfaction survey for the signed-in person (the API's questions and rule: one answer a round).
  app.get('/survey', { schema: { hide: true } }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/survey')}`, 303);
    return reply.page(200, 'survey', { title: 'แบบประเมินความพึงพอใจ / Satisfaction survey', round: config.surveyRound, questions: SURVEY_QUESTIONS, scale: [1, 2, 3, 4, 5], csrf: app.csrfToken(reply) });
  });

  app.post<{ Body: Record<string, string> }>('/survey', { schema: { hide: true }, preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/survey')}`, 303);
    const body = request.body ?? {};
    const scores = Object.fromEntries(SURVEY_QUESTIONS.map((q) => [q.id, Number(body[q.id])]));
    const missing = SURVEY_QUESTIONS.filter((q) => !Number.isInteger(scores[q.id]) || scores[q.id]! < 1 || scores[q.id]! > 5);
    if (missing.length > 0) {
      return reply.page(400, 'message', { title: 'แบบประเมินความพึงพอใจ / Satisfaction survey', error: true, back: '/survey',
        message: `กรุณาให้คะแนน 1–5 ทุกข้อ / Please score every question from 1 to 5 (${missing.map((q) => q.textEn).join('; ')}).` });
    }
    const comment = typeof body.comment === 'string' ? body.comment.slice(0, 2000) : undefined;
    await recordSurveyResponse(db, config.surveyRound, me, { scores, ...(comment ? { comment } : {}) });
    return reply.page(201, 'message', { title: 'แบบประเมินความพึงพอใจ / Satisfaction survey', message: 'ขอบคุณสำหรับความคิดเห็น / Thank you for your answers.' });
  });

  // The applicant follows their request with the tracking code from the mail (the page asks the API).
  app.get<{ Params: { id: string } }>('/track/:id', {
    schema: { hide: true, params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } },
  }, async (request, reply) => reply.page(200, 'track', { title: 'ติดตามคำขอ / Track your request', id: request.params.id }));

  app.get<{ Querystring: { verification?: string } }>('/register', { schema: { hide: true } }, async (request, reply) => {
    let verified: ReturnType<typeof verifiedFields> | undefined;
    if (request.query.verification) {
      const [row] = await db.select().from(identityVerifications).where(and(eq(identityVerifications.tokenHash, sha256Hex(request.query.verification)),
        isNull(identityVerifications.usedAt), gt(identityVerifications.expiresAt, new Date())));
      if (!row) return reply.page(400, 'message', { title: 'ลงทะเบียน / Register', error: true, back: '/login', message: 'การยืนยันตัวตนด้วย ThaiID หมดอายุแล้ว กรุณาเข้าสู่ระบบด้วย ThaiID ใหม่ / The ThaiID verification expired; sign in with ThaiID again.' });
      verified = verifiedFields(JSON.parse(cipher.decrypt(row.claimsEnc)) as VerifiedClaims);
    }
    const catalogue = await db.select().from(systems).orderBy(asc(systems.code));
    const units = await db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).orderBy(asc(orgUnits.code)).limit(10_000);
    return reply.page(200, 'register', {
      title: 'ลงทะเบียนขอใช้งาน / Register', verification: request.query.verification ?? '', verified,
      maskedCitizenId: verified ? maskCitizenId(verified.citizenId) : '',
      access: catalogue.flatMap((s) => s.roles.map((role) => ({ value: `${s.code}:${role}`, label: `${s.nameTh} · ${role}` }))), units,
    });
  });
}
