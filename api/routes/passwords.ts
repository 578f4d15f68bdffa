// Changing, forgetting and resetting a password (issue 13): the JSON API of the contract
// (Sign-in → Passwords) and the pages for each, on the same services (services/passwords.ts); and
// the page where a signed-in person renews their own second factor (services/mfa.ts).
// A reset link carries its token in the query string, which the log writes as `token=_`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { PASSWORD_RULE } from '../../lib/passwords.ts';
import { Problem } from '../../lib/problem.ts';
import { unlockAccount } from '../../services/accounts.ts';
import { beginTotpEnrolment, markSecondFactor, renewRecoveryCodes, restartTotpEnrolment, secondFactorIsRecent, secondFactorState } from '../../services/mfa.ts';
import { confirmEnrolment } from '../../services/sign-in.ts';
import {
  BAD_RESET_LINK,
  sendPasswordResetLink,
  changePassword,
  passwordResetTarget,
  requestPasswordReset,
  RESET_REQUESTED,
  resetPassword,
} from '../../services/passwords.ts';
import { SESSION_COOKIE } from '../plugins/browser-session.ts';
import { problem } from '../responses.ts';
import { throttle } from '../throttle.ts';
import { page } from '../scope.ts';

const secret = { type: 'string', minLength: 1, maxLength: 200 } as const;
const rule = { minLength: PASSWORD_RULE.minLength, maxLength: PASSWORD_RULE.maxLength };
// What the API's password operations answer (CONTRACT.md, Sign-in → Passwords), for the OpenAPI document.
const noContent = (description: string) => ({ type: 'null', description }) as const;
const statusAnswer = (status: string, extra: Record<string, unknown> = {}) =>
  ({ type: 'object', required: ['status', ...Object.keys(extra)], properties: { status: { type: 'string', const: status }, ...extra } }) as const;
const noSuchAccount = problem('There is no such account.');
const notAnAdminOver = problem("Not an SSO admin over the account's unit, or the admin's own account (ask an admin above).");
const responses = {
  change: {
    204: noContent('Changed; every other sign-in of the person ended.'),
    400: problem('A field is invalid, the current password is wrong (`errors` names `currentPassword`), or the new one is weak (`newPassword`).'),
  },
  requestReset: { 202: statusAnswer('accepted', { message: { type: 'string' } }) },
  confirmReset: {
    204: noContent('Set; every sign-in of the person ended.'),
    400: problem('A field is invalid, the token is used, expired or unknown (`errors` names `token`), or the new password is weak (`newPassword`).'),
  },
  sendLink: { 202: statusAnswer('sent'), 403: notAnAdminOver, 404: noSuchAccount, 409: problem('The account is not active: reactivate it first.') },
  unlock: {
    200: {
      type: 'object',
      required: ['id', 'changed'],
      properties: { id: { type: 'string', format: 'uuid' }, changed: { type: 'boolean', description: 'false: the account was not locked.' } },
    },
    403: notAnAdminOver,
    404: noSuchAccount,
  },
} as const;

const MISMATCH = 'รหัสผ่านใหม่ทั้งสองช่องไม่ตรงกัน / The two new passwords differ.';

const TITLES = {
  forgot: 'ลืมรหัสผ่าน / Forgot password',
  reset: 'ตั้งรหัสผ่านใหม่ / Set a new password',
  change: 'เปลี่ยนรหัสผ่าน / Change password',
};

const field = (value: unknown, max = 254) => (typeof value === 'string' ? value.slice(0, max) : '');

export default async function passwordRoutes(app: FastifyInstance) {
  const { passwordResetsPerAddress, loginPerAddress } = app.deps.config.rateLimits;
  // Asking for links (each may send a mail) is held to a few a minute; setting a password from a
  // link (256 random bits, nothing to guess) only as often as signing in.
  const perAddress = throttle(app, 'password-reset-address', passwordResetsPerAddress, (r) => r.ip);
  const settingPerAddress = throttle(app, 'password-set-address', loginPerAddress, (r) => r.ip);

  // The JSON API.
  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/api/v1/me/password',
    {
      config: { scope: 'signed-in' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['sign-in'],
        response: responses.change,
        security: [{ bearer: [] }],
        description:
          'Changes the signed-in person’s password; every other sign-in of theirs ends (this token stays). 400 for a wrong current password or a weak new one.',
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: { currentPassword: secret, newPassword: secret },
        },
      },
    },
    async (request, reply) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      await changePassword(app.deps, request.account!.id, token, request.body, request.log);
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { username: string } }>(
    '/api/v1/auth/password-reset',
    {
      config: { scope: 'credentials' },
      onRequest: perAddress,
      schema: {
        tags: ['sign-in'],
        response: responses.requestReset,
        description:
          'Mails a single-use link (valid PASSWORD_RESET_TTL, 30 minutes) to the account’s address when the username (or e-mail) has an active account; 202 whatever it is.',
        body: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 254 } },
        },
      },
    },
    async (request, reply) => {
      await requestPasswordReset(app.deps, { login: request.body.username }, request.log);
      return reply.status(202).send({ status: 'accepted', message: RESET_REQUESTED });
    },
  );

  app.post<{ Body: { token: string; newPassword: string } }>(
    '/api/v1/auth/password-reset/confirm',
    {
      config: { scope: 'credentials' },
      onRequest: settingPerAddress,
      schema: {
        tags: ['sign-in'],
        response: responses.confirmReset,
        description: 'Sets a new password from a reset link’s token: 204, or 400 for a used, expired or unknown token or a weak password.',
        body: { type: 'object', required: ['token', 'newPassword'], additionalProperties: false, properties: { token: secret, newPassword: secret } },
      },
    },
    async (request, reply) => {
      await resetPassword(app.deps, request.body, request.log);
      return reply.status(204).send();
    },
  );

  // The helpdesk's two tasks for an SSO admin over the account's unit (the console's account page has them too).
  const reasonBody = {
    type: 'object',
    required: ['reason'],
    additionalProperties: false,
    properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
  } as const;
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/v1/accounts/:id/password-reset',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        response: responses.sendLink,
        security: [{ bearer: [] }],
        description:
          'Mails the person a single-use link to set a new password (an SSO admin over the account’s unit; audited). 202; 409 when the account is not active.',
        params: idParams,
        body: reasonBody,
      },
    },
    async (request, reply) => {
      await sendPasswordResetLink(app.deps, request.account!, request.params.id, request.body, request.log);
      return reply.status(202).send({ status: 'sent' });
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/v1/accounts/:id/unlock',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        response: responses.unlock,
        security: [{ bearer: [] }],
        description: 'Lifts the lock that failed sign-ins put on the account (an SSO admin over its unit; audited). `changed` is false when it was not locked.',
        params: idParams,
        body: reasonBody,
      },
    },
    async (request) => unlockAccount(app.deps, request.account!, request.params.id, request.body),
  );

  // The pages: plain forms with CSRF, no script needed.
  const forgotPage = (reply: FastifyReply, status: number, extra: Record<string, unknown> = {}) =>
    reply.page(status, 'password-forgot', {
      title: TITLES.forgot,
      csrf: app.csrfToken(reply),
      thaiidUrl: '/auth/thaiid?return=%2Fpassword%2Fchange',
      ...extra,
    });

  app.get('/password/forgot', page('public'), async (_request, reply) => forgotPage(reply, 200));

  app.post<{ Body: { login?: string } }>(
    '/password/forgot',
    { ...page('credentials'), onRequest: perAddress, preHandler: app.csrfProtection },
    async (request, reply) => {
      const login = field(request.body?.login).trim();
      if (!login) return forgotPage(reply, 400, { error: 'กรอกชื่อผู้ใช้งานหรืออีเมล / Give a username or e-mail address.' });
      await requestPasswordReset(app.deps, { login }, request.log);
      return reply.page(202, 'message', { title: TITLES.forgot, message: RESET_REQUESTED, back: '/login' });
    },
  );

  const resetPage = (reply: FastifyReply, status: number, data: { token: string; username: string; error?: string }) =>
    reply.page(status, 'password-reset', { title: TITLES.reset, csrf: app.csrfToken(reply), ...rule, ...data });
  const badLink = (reply: FastifyReply) => reply.page(400, 'message', { title: TITLES.reset, error: true, message: BAD_RESET_LINK, back: '/password/forgot' });

  app.get<{ Querystring: { token?: string } }>('/password/reset', page('credentials'), async (request, reply) => {
    const token = field(request.query.token, 200);
    const target = await passwordResetTarget(app.deps, token);
    return target ? resetPage(reply, 200, { token, username: target.username }) : badLink(reply);
  });

  app.post<{ Body: Record<string, unknown> }>(
    '/password/reset',
    { ...page('credentials'), onRequest: settingPerAddress, preHandler: app.csrfProtection },
    async (request, reply) => {
      const body = request.body ?? {};
      const token = field(body.token, 200);
      const newPassword = field(body.newPassword, 200);
      const target = await passwordResetTarget(app.deps, token);
      if (!target) return badLink(reply);
      if (newPassword !== field(body.confirmPassword, 200)) return resetPage(reply, 400, { token, username: target.username, error: MISMATCH });
      try {
        await resetPassword(app.deps, { token, newPassword }, request.log);
      } catch (error) {
        if (!(error instanceof Problem) || error.status !== 400) throw error;
        if (error.errors?.[0]?.path === 'token') return badLink(reply);
        return resetPage(reply, 400, { token, username: target.username, error: error.message });
      }
      return reply.page(200, 'message', {
        title: TITLES.reset,
        message: 'ตั้งรหัสผ่านใหม่แล้ว เข้าสู่ระบบด้วยรหัสผ่านใหม่ได้เลย / Your new password is set: sign in with it.',
        back: '/login',
      });
    },
  );

  const changePage = (reply: FastifyReply, status: number, username: string, error?: string) =>
    reply.page(status, 'password-change', { title: TITLES.change, csrf: app.csrfToken(reply), username, error, ...rule });

  app.get('/password/change', page('signed-in'), async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/password/change')}`, 303);
    return changePage(reply, 200, me.username);
  });

  app.post<{ Body: Record<string, unknown> }>('/password/change', { ...page('signed-in'), preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await app.browserAccount(request);
    if (!me) return reply.redirect(`/login?return=${encodeURIComponent('/password/change')}`, 303);
    const body = request.body ?? {};
    const newPassword = field(body.newPassword, 200);
    if (newPassword !== field(body.confirmPassword, 200)) return changePage(reply, 400, me.username, MISMATCH);
    try {
      await changePassword(app.deps, me.id, request.cookies[SESSION_COOKIE], { currentPassword: field(body.currentPassword, 200), newPassword }, request.log);
    } catch (error) {
      if (!(error instanceof Problem) || error.status !== 400) throw error;
      return changePage(reply, 400, me.username, error.message);
    }
    return reply.page(200, 'message', {
      title: TITLES.change,
      message: 'เปลี่ยนรหัสผ่านแล้ว การเข้าสู่ระบบอื่นทั้งหมดของท่านสิ้นสุดลง / Your password is changed; every other sign-in of yours ended.',
      back: '/',
    });
  });

  // The person's own second factor: new recovery codes, or a new authenticator (a lost or replaced
  // phone). Only for a sign-in that showed a second factor recently — a code, or ThaiID, which is how
  // an admin who lost both phone and codes gets back in without the helpdesk.
  const SECOND_FACTOR = '/second-factor';
  const SECOND_FACTOR_TITLE = 'การยืนยันตัวตนสองขั้นตอนของท่าน / Your second factor';
  /** The signed-in person with a recent second factor; otherwise the answer (sign in, or confirm and come back) is sent and null. */
  const recentlyConfirmed = async (request: FastifyRequest, reply: FastifyReply) => {
    const me = await app.browserAccount(request);
    if (!me) void reply.redirect(`/login?return=${encodeURIComponent(SECOND_FACTOR)}`, 303);
    else if (!secondFactorIsRecent(app.deps, me.secondFactorAt)) void reply.redirect(`/login/confirm?return=${encodeURIComponent(SECOND_FACTOR)}`, 303);
    else return me;
    return null;
  };
  // The page carries when its secret was started: its form confirms that secret only, and a wrong code shows it
  // again only while it is still the one waiting (one started over the API with the password alone never shows).
  const enrolPage = async (reply: FastifyReply, enrolment: { secret: string; otpauthUri: string; startedAt: number }, status = 200, error?: string) =>
    reply.page(status, 'login-enrol', {
      title: SECOND_FACTOR_TITLE,
      action: `${SECOND_FACTOR}/authenticator/confirm`,
      csrf: app.csrfToken(reply),
      started: enrolment.startedAt,
      secret: enrolment.secret.replace(/(.{4})(?=.)/g, '$1 '),
      qrSvg: (await QRCode.toString(enrolment.otpauthUri, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' })).replace(
        '<svg ',
        '<svg role="img" aria-label="คิวอาร์โค้ดสำหรับแอปยืนยันตัวตน / QR code for the authenticator app" class="qr" ',
      ),
      restart: SECOND_FACTOR,
      error,
    });
  const codesPage = (reply: FastifyReply, recoveryCodes: string[]) =>
    reply.page(200, 'login-recovery-codes', { title: SECOND_FACTOR_TITLE, recoveryCodes, next: SECOND_FACTOR });

  app.get(SECOND_FACTOR, page('signed-in'), async (request, reply) => {
    const me = await recentlyConfirmed(request, reply);
    if (!me) return reply;
    const state = await secondFactorState(app.deps.db, me.id);
    return reply.page(200, 'second-factor', { title: SECOND_FACTOR_TITLE, csrf: app.csrfToken(reply), username: me.username, ...state });
  });

  app.post(`${SECOND_FACTOR}/recovery-codes`, { ...page('signed-in'), preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await recentlyConfirmed(request, reply);
    if (!me) return reply;
    try {
      return codesPage(reply, await renewRecoveryCodes(app.deps, me));
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      return reply.page(error.status, 'message', { title: SECOND_FACTOR_TITLE, error: true, back: SECOND_FACTOR, message: error.message });
    }
  });

  app.post(`${SECOND_FACTOR}/authenticator`, { ...page('signed-in'), preHandler: app.csrfProtection }, async (request, reply) => {
    const me = await recentlyConfirmed(request, reply);
    if (!me) return reply;
    return enrolPage(reply, await restartTotpEnrolment(app.deps, me));
  });

  // The new authenticator's first code: its recovery codes, shown once.
  app.post<{ Body: { otp?: string; started?: string } }>(
    `${SECOND_FACTOR}/authenticator/confirm`,
    { ...page('signed-in'), preHandler: app.csrfProtection },
    async (request, reply) => {
      const me = await app.browserAccount(request);
      if (!me) return reply.redirect(`/login?return=${encodeURIComponent(SECOND_FACTOR)}`, 303);
      const started = Number(field(request.body?.started, 20)) || -1;
      try {
        const recoveryCodes = await confirmEnrolment(app.deps, me, field(request.body?.otp, 40), { startedAt: started });
        await markSecondFactor(app.deps.db, request.cookies[SESSION_COOKIE]!);
        return codesPage(reply, recoveryCodes);
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        // A wrong code: the same secret again (the app may have scanned it); enrolled meanwhile: back to the page.
        if (error.status !== 401) return reply.redirect(SECOND_FACTOR, 303);
        return enrolPage(reply, await beginTotpEnrolment(app.deps, me, { keep: started }), 401, error.message);
      }
    },
  );
}
