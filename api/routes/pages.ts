// The pages a person sees: the portal of connected systems (ระบบที่เชื่อมโยง), sign-in with a
// password or ThaiID, sign-out, the survey, and the registration form (prefilled and locked after ThaiID).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Problem, type FieldError } from '../../lib/problem.ts';
import { findUnitsToRegister, portalOf, registrationForm } from '../../services/portal.ts';
import { submitRegistration, type RegistrationSubmission } from '../../services/registrations.ts';
import { loadActor } from '../../services/actor.ts';
import { beginTotpEnrolment, isEnrolled, markSecondFactor } from '../../services/mfa.ts';
import { confirmEnrolment, signInAfterEnrolment, signInWithSecondFactor, signOutEverywhere, verifySecondFactor } from '../../services/sign-in.ts';
import QRCode from 'qrcode';
import { currentSurvey, recordSurveyResponse, SURVEY_SCALE } from '../../services/survey.ts';
import { multipartFields, partialForm, readMultipartRest } from '../multipart-form.ts';
import { safeReturnPath, SESSION_COOKIE, type PendingSignIn } from '../plugins/browser-session.ts';
import { accessFromForm, DOCUMENT_TYPES, readSubmission } from '../registration-input.ts';
import { loginThrottles, throttle } from '../throttle.ts';
import { page } from '../scope.ts';

const SURVEY_TITLE = 'แบบประเมินความพึงพอใจ / Satisfaction survey';
const REGISTER_TITLE = 'ลงทะเบียนขอใช้งาน / Register';
const SECOND_FACTOR_TITLE = 'ยืนยันตัวตนขั้นที่สอง / Second factor';
const ENROL_TITLE = 'ตั้งค่าการยืนยันตัวตนสองขั้นตอน / Set up the second factor';
const CONFIRM_TITLE = 'ยืนยันตัวตนอีกครั้ง / Confirm it is you';

/** The secret in groups of four, easier to type into an authenticator app by hand. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

/** The registration form's text fields, as the submission names them (the password is never shown again). */
const REGISTER_FIELDS = ['identityVerification', 'citizenId', 'firstNameTh', 'lastNameTh', 'email', 'position', 'unitCode', 'username', 'password'] as const;
type Typed = Record<string, string[]>;

/** The form as the API's `data` takes it: empty fields left out (the schema says which are required). */
function submissionOf(typed: Typed): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const name of REGISTER_FIELDS) {
    const value = typed[name]?.[0];
    const kept = name === 'password' ? value : value?.trim();
    if (kept) data[name] = kept;
  }
  data.requestedAccess = accessFromForm(typed.access);
  return data;
}

/** A refusal's messages by the form field they are about (`data.email` → email); the rest under `form`. */
function errorsByField(problem: Problem): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const e of problem.errors ?? []) {
    const name = e.path.replace(/^data\.?/, '').split('.')[0] || 'form';
    const key = name === 'requestedAccess' ? 'access' : (REGISTER_FIELDS as readonly string[]).includes(name) || name === 'documents' ? name : 'form';
    byField[key] = byField[key] ? `${byField[key]}; ${e.message}` : e.message;
  }
  if (Object.keys(byField).length === 0) byField.form = problem.message;
  return byField;
}

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

  app.get('/', page('signed-in'), async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect('/login', 303);
    return reply.page(200, 'portal', { title: 'ระบบที่เชื่อมโยง / Connected systems', ...(await portalOf(app.deps, me)), csrf: app.csrfToken(reply) });
  });

  app.get<{ Querystring: { return?: string } }>('/login', page('public'), async (request, reply) => loginPage(reply, safeReturnPath(request.query.return)));

  app.post<{ Querystring: { return?: string }; Body: { _csrf?: string; username?: string; password?: string } }>(
    '/login',
    {
      config: { scope: 'credentials' },
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

  // The second step of an admin's password sign-in (the password held: a signed cookie says whose).
  const secondFactorPage = async (reply: FastifyReply, pending: PendingSignIn, returnTo: string, status = 200, error?: string) => {
    const { accountId } = pending;
    const back = `?return=${encodeURIComponent(returnTo)}`;
    if (await isEnrolled(app.deps.db, accountId)) {
      return reply.page(status, 'login-second-factor', {
        title: SECOND_FACTOR_TITLE,
        action: `/login/second-factor${back}`,
        csrf: app.csrfToken(reply),
        error,
      });
    }
    const actor = await loadActor(app.deps.db, accountId);
    if (!actor) return reply.redirect('/login', 303);
    // First sign-in of an admin: enrol a TOTP (the secret as text and as a QR code, drawn here: no script).
    const { secret, otpauthUri, startedAt } = await beginTotpEnrolment(app.deps, actor, { keep: pending.enrolmentStartedAt });
    // This browser may confirm this secret only.
    if (startedAt !== pending.enrolmentStartedAt) app.keepPendingSignIn(reply, { ...pending, enrolmentStartedAt: startedAt });
    const qrSvg = (await QRCode.toString(otpauthUri, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' })).replace(
      '<svg ',
      '<svg role="img" aria-label="คิวอาร์โค้ดสำหรับแอปยืนยันตัวตน / QR code for the authenticator app" class="qr" ',
    );
    return reply.page(status, 'login-enrol', {
      title: ENROL_TITLE,
      action: `/login/second-factor/enrol${back}`,
      csrf: app.csrfToken(reply),
      secret: grouped(secret),
      qrSvg,
      error,
    });
  };
  const refusedStep = (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof Problem)) throw error;
    if (error.status === 401) return error.message;
    reply.signInRefused(error);
    return null;
  };

  app.get<{ Querystring: { return?: string } }>('/login/second-factor', page('credentials'), async (request, reply) => {
    const returnTo = safeReturnPath(request.query.return);
    const pending = app.pendingSignIn(request);
    if (!pending) return reply.redirect(`/login?return=${encodeURIComponent(returnTo)}`, 303);
    return secondFactorPage(reply, pending, returnTo);
  });

  app.post<{ Querystring: { return?: string }; Body: { _csrf?: string; otp?: string } }>(
    '/login/second-factor',
    { ...page('credentials'), onRequest: throttles.perAddress, preHandler: app.csrfProtection },
    async (request, reply) => {
      const returnTo = safeReturnPath(request.query.return);
      const pending = app.pendingSignIn(request);
      if (!pending) return reply.redirect(`/login?return=${encodeURIComponent(returnTo)}`, 303);
      try {
        const signedIn = await signInWithSecondFactor(app.deps, pending.accountId, String(request.body?.otp ?? '').slice(0, 40), { system: pending.system });
        app.endPendingSignIn(reply);
        app.keepBrowserSession(reply, signedIn);
        return reply.redirect(returnTo, 303);
      } catch (error) {
        const message = refusedStep(reply, error);
        return message === null ? reply : secondFactorPage(reply, pending, returnTo, 401, message);
      }
    },
  );

  // Enrolment confirmed with the first code: signed in, and the recovery codes shown this once.
  app.post<{ Querystring: { return?: string }; Body: { _csrf?: string; otp?: string } }>(
    '/login/second-factor/enrol',
    { ...page('credentials'), onRequest: throttles.perAddress, preHandler: app.csrfProtection },
    async (request, reply) => {
      const returnTo = safeReturnPath(request.query.return);
      const pending = app.pendingSignIn(request);
      if (!pending) return reply.redirect(`/login?return=${encodeURIComponent(returnTo)}`, 303);
      const actor = await loadActor(app.deps.db, pending.accountId);
      if (!actor) return reply.redirect('/login', 303);
      try {
        const recoveryCodes = await confirmEnrolment(app.deps, actor, String(request.body?.otp ?? '').slice(0, 40), {
          startedAt: pending.enrolmentStartedAt ?? -1,
        });
        const signedIn = await signInAfterEnrolment(app.deps, actor.id, { system: pending.system });
        app.endPendingSignIn(reply);
        app.keepBrowserSession(reply, signedIn);
        return reply.page(200, 'login-recovery-codes', { title: ENROL_TITLE, recoveryCodes, next: returnTo });
      } catch (error) {
        const message = refusedStep(reply, error);
        return message === null ? reply : secondFactorPage(reply, pending, returnTo, 401, message);
      }
    },
  );

  // Re-confirmation before the most sensitive actions (designating admins, changing systems): the code again, or ThaiID.
  const confirmPage = (reply: FastifyReply, returnTo: string, status = 200, error?: string) =>
    reply.page(status, 'login-confirm', {
      title: CONFIRM_TITLE,
      action: `/login/confirm?return=${encodeURIComponent(returnTo)}`,
      csrf: app.csrfToken(reply),
      thaiidUrl: `/auth/thaiid?return=${encodeURIComponent(returnTo)}`,
      back: returnTo,
      error,
    });

  app.get<{ Querystring: { return?: string } }>('/login/confirm', page('signed-in'), async (request, reply) => {
    const returnTo = safeReturnPath(request.query.return);
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent(returnTo)}`, 303);
    return confirmPage(reply, returnTo);
  });

  app.post<{ Querystring: { return?: string }; Body: { _csrf?: string; otp?: string } }>(
    '/login/confirm',
    { ...page('signed-in'), onRequest: throttles.perAddress, preHandler: app.csrfProtection },
    async (request, reply) => {
      const returnTo = safeReturnPath(request.query.return);
      const me = await app.browserAccount(request);
      if (!me) return reply.redirect(`/login?return=${encodeURIComponent(returnTo)}`, 303);
      try {
        await verifySecondFactor(app.deps, me, String(request.body?.otp ?? '').slice(0, 40));
      } catch (error) {
        const message = refusedStep(reply, error);
        return message === null ? reply : confirmPage(reply, returnTo, 401, message);
      }
      await markSecondFactor(app.deps.db, request.cookies[SESSION_COOKIE]!);
      return reply.redirect(returnTo, 303);
    },
  );

  // Signing out of the portal signs the person out of every connected system too.
  app.post<{ Body: { _csrf?: string } }>('/logout', { ...page('public'), preHandler: app.csrfProtection }, async (request, reply) => {
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
  app.get('/survey', page('signed-in'), async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/survey')}`, 303);
    return reply.page(200, 'survey', { title: SURVEY_TITLE, ...currentSurvey(app.deps), scale: SURVEY_SCALE, csrf: app.csrfToken(reply) });
  });

  app.post<{ Body: Record<string, string> }>('/survey', { ...page('signed-in'), preHandler: app.csrfProtection }, async (request, reply) => {
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

  /** /register with these parameters (the ThaiD verification carried from step to step). */
  const registerLink = (verification: string | undefined, params: Record<string, string | number | undefined>) => {
    const query = new URLSearchParams();
    if (verification) query.set('verification', verification);
    for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(name, String(value));
    return `/register${query.size > 0 ? `?${query}` : ''}`;
  };

  /**
   * The first step: the unit, found by searching its name (a GET form, a page of matches at a time)
   * rather than chosen from a list of every unit; each match links to the form with that unit.
   */
  async function unitStep(reply: FastifyReply, verification: string | undefined, query: string, pageNumber: number, status = 200, error?: string) {
    const found = await findUnitsToRegister(app.deps, query, pageNumber);
    return reply.page(status, 'register-unit', {
      title: REGISTER_TITLE,
      verification: verification ?? '',
      query,
      error,
      searched: query.trim() !== '',
      units: found.items.map((u) => ({ ...u, href: registerLink(verification, { unit: u.code }) })),
      page: pageNumber,
      previous: pageNumber > 1 ? registerLink(verification, { q: query, page: pageNumber - 1 }) : null,
      next: found.more ? registerLink(verification, { q: query, page: pageNumber + 1 }) : null,
      paged: pageNumber > 1 || found.more,
    });
  }

  /** The registration form; after a refusal, with what was typed (not the password, not the files) and each field's error. */
  async function registerPage(
    reply: FastifyReply,
    verification: string | undefined,
    unitCode: string,
    refused?: { status: number; typed: Typed; errors: Record<string, string> },
  ) {
    try {
      const form = await registrationForm(app.deps, verification, unitCode);
      if (!form.unit && !refused) return await unitStep(reply, verification, '', 1, 404, `ไม่พบหน่วยงาน ${unitCode} / There is no unit ${unitCode}.`);
      const typed = refused?.typed ?? {};
      const value = (name: string) => (name === 'password' ? '' : (typed[name]?.[0] ?? ''));
      const ticked = accessFromForm(typed.access).map((a) => `${a.system}:${a.role}`);
      return reply.page(refused?.status ?? 200, 'register', {
        title: REGISTER_TITLE,
        ...form,
        unit: form.unit ?? { code: unitCode, nameTh: '' },
        changeUnit: registerLink(form.verification, {}),
        csrf: app.csrfToken(reply),
        action: registerLink(form.verification, {}),
        refused: refused !== undefined,
        errors: refused?.errors ?? {},
        typed: Object.fromEntries(REGISTER_FIELDS.map((name) => [name, value(name)])),
        access: form.access.map((a, i) => ({ ...a, id: `access-${i}`, checked: ticked.includes(a.value) })),
      });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return reply.page(error.status, 'message', { title: 'ลงทะเบียน / Register', error: true, back: '/login', message: error.message });
    }
  }

  app.get<{ Querystring: { verification?: string; unit?: string; q?: string; page?: string } }>('/register', page('public'), async (request, reply) => {
    const { verification, unit, q, page: pageNumber } = request.query;
    if (typeof unit === 'string' && unit && !q) return registerPage(reply, verification, unit);
    return unitStep(reply, verification, typeof q === 'string' ? q : '', Math.min(1000, Math.max(1, Number.parseInt(String(pageNumber ?? '1'), 10) || 1)));
  });

  // The form itself, without JavaScript: the same operation as POST /api/v1/registrations, answered with a page.
  app.post(
    '/register',
    {
      config: { scope: 'public' },
      schema: { hide: true },
      // The same count per address as the API's submissions (one store, one name).
      onRequest: throttle(app, 'register-address', app.deps.config.rateLimits.submissionsPerAddress, (r) => r.ip),
      preHandler: [multipartFields({ accept: { documents: DOCUMENT_TYPES }, maxFields: 60 }), app.csrfProtection],
    },
    async (request, reply) => {
      let typed: Typed = {};
      try {
        const form = await readMultipartRest(request);
        typed = form.fields;
        const data = submissionOf(typed);
        const errors: FieldError[] = [];
        let submission: RegistrationSubmission | undefined;
        try {
          submission = readSubmission(data);
        } catch (error) {
          if (!(error instanceof Problem)) throw error;
          errors.push(...(error.errors ?? [{ path: 'form', message: error.message }]));
        }
        if (form.documents.length === 0) errors.push({ path: 'documents', message: 'แนบเอกสารอย่างน้อย 1 ไฟล์ / Attach at least one document.' });
        if (errors.length > 0 || !submission) throw new Problem(400, 'Bad Request', errors.map((e) => e.message).join('; '), errors);
        const submitted = await submitRegistration(app.deps, submission, form.documents, request.log);
        return reply.page(201, 'register-submitted', {
          title: REGISTER_TITLE,
          ...submitted,
          csrf: app.csrfToken(reply),
        });
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        if (Object.keys(typed).length === 0) typed = partialForm(request).fields;
        const verification = typed.identityVerification?.[0] || undefined;
        return registerPage(reply, verification, typed.unitCode?.[0] ?? '', { status: error.status, typed, errors: errorsByField(error) });
      }
    },
  );
}
