// Changing, forgetting and resetting a password (issue 13): the JSON API of the contract
// (Sign-in → Passwords) and the pages for each, on the same services (services/passwords.ts).
// A reset link carries its token in the query string, which the log writes as `token=_`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PASSWORD_RULE } from '../../lib/passwords.ts';
import { Problem } from '../../lib/problem.ts';
import { unlockAccount } from '../../services/accounts.ts';
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
import { throttle } from '../throttle.ts';
import { page } from '../scope.ts';

const secret = { type: 'string', minLength: 1, maxLength: 200 } as const;
const rule = { minLength: PASSWORD_RULE.minLength, maxLength: PASSWORD_RULE.maxLength };
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
}
