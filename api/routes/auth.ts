// Sign-in with username and password. Unknown user and wrong password get the same answer;
// attempts are throttled per address and per username.
import type { FastifyInstance } from 'fastify';
import { rolesOf } from '../../services/actor.ts';
import { beginTotpEnrolment, markSecondFactor } from '../../services/mfa.ts';
import { resetSecondFactor } from '../../services/second-factor-reset.ts';
import { checkPasswordStep, confirmEnrolment, revokeToken, signInWithPassword, verifySecondFactor } from '../../services/sign-in.ts';
import { problem } from '../responses.ts';
import { loginThrottles } from '../throttle.ts';

interface LoginBody {
  username: string;
  password: string;
  otp?: string;
}

const username = { type: 'string', minLength: 1, maxLength: 100 } as const;
const password = { type: 'string', minLength: 1, maxLength: 200 } as const;
const otp = { type: 'string', minLength: 1, maxLength: 40, description: 'A TOTP code (6 digits) or an unused recovery code.' } as const;

// What these operations answer (CONTRACT.md, Sign-in → Second factor), for the OpenAPI document.
const string = { type: 'string' } as const;
const object = (properties: Record<string, unknown>) => ({ type: 'object', required: Object.keys(properties), properties }) as const;
const noContent = (description: string) => ({ type: 'null', description }) as const;
const wrongCredentials = 'The username or password is wrong (one answer for both; also while the username is locked after failed sign-ins, as `detail` says)';
const cannotSignIn = problem('The credentials are right but the account is suspended or disabled.');

const responses = {
  login: {
    200: object({
      token: { ...string, description: 'Send as `Authorization: Bearer <token>`.' },
      expiresAt: { ...string, format: 'date-time', description: "TOKEN_TTL; an admin's sign-in ADMIN_TOKEN_TTL." },
      account: object({ id: { ...string, format: 'uuid' }, username: string, roles: { type: 'array', items: string } }),
    }),
    401: problem(
      `${wrongCredentials}; or, for an SSO admin, \`mfa\`: \`required\` (no code, or a wrong or spent one) or \`enrolment_required\` (no second factor enrolled yet: POST /api/v1/auth/mfa/totp).`,
    ),
    423: cannotSignIn,
  },
  enrol: {
    200: object({
      secret: { ...string, description: 'The TOTP secret, base32: shown only until the enrolment is confirmed.' },
      otpauthUri: { ...string, description: 'The same as an `otpauth://totp/…` URI (SHA-1, 6 digits, 30 s), for a QR code.' },
    }),
    401: problem(`${wrongCredentials}.`),
    409: problem('A second factor is enrolled already: its secret is never shown again.'),
    423: cannotSignIn,
  },
  confirmEnrolment: {
    200: object({ recoveryCodes: { type: 'array', items: string, minItems: 10, maxItems: 10, description: 'Single-use, shown this once.' } }),
    401: problem(`${wrongCredentials}; or \`mfa: required\`: the code is wrong.`),
    409: problem('No enrolment was started (POST /api/v1/auth/mfa/totp), or it is confirmed already.'),
    423: cannotSignIn,
  },
  reconfirm: {
    204: noContent('Confirmed: for ADMIN_MFA_RECONFIRM_AFTER this sign-in may do what needs a recent second factor.'),
    401: problem('Not signed in; or `mfa: required`: the code is wrong or spent (or the username is locked after failed sign-ins).'),
  },
  reset: {
    200: object({
      id: { ...string, format: 'uuid' },
      changed: { type: 'boolean', description: 'false: the account had no second factor (nothing was done).' },
    }),
    401: problem(
      "Not signed in; or `mfa: required`: the admin's own second factor was not shown within ADMIN_MFA_RECONFIRM_AFTER (POST /api/v1/auth/mfa/confirm, then again).",
    ),
    403: problem("Not an SSO admin over the account's unit, or the admin's own account (ask an admin above)."),
    404: problem('There is no such account.'),
  },
} as const;

export default async function authRoutes(app: FastifyInstance) {
  const throttles = loginThrottles(app);

  app.post<{ Body: LoginBody }>(
    '/auth/login',
    {
      config: { scope: 'credentials' },
      onRequest: throttles.perAddress,
      preHandler: throttles.perUsername,
      schema: {
        tags: ['sign-in'],
        response: responses.login,
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username, password, otp },
        },
      },
    },
    async (request) => {
      const { account, token, expiresAt } = await signInWithPassword(app.deps, request.body);
      return { token, expiresAt: expiresAt.toISOString(), account: { id: account.id, username: account.username, roles: rolesOf(account) } };
    },
  );

  // Enrolment of an admin's TOTP, with the password (an admin cannot sign in without it yet).
  app.post<{ Body: { username: string; password: string } }>(
    '/auth/mfa/totp',
    {
      config: { scope: 'credentials' },
      onRequest: throttles.perAddress,
      preHandler: throttles.perUsername,
      schema: {
        tags: ['sign-in'],
        response: responses.enrol,
        body: { type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username, password } },
      },
    },
    async (request) => {
      const { actor } = await checkPasswordStep(app.deps, request.body);
      return beginTotpEnrolment(app.deps, actor!);
    },
  );

  app.post<{ Body: { username: string; password: string; otp: string } }>(
    '/auth/mfa/totp/confirm',
    {
      config: { scope: 'credentials' },
      onRequest: throttles.perAddress,
      preHandler: throttles.perUsername,
      schema: {
        tags: ['sign-in'],
        response: responses.confirmEnrolment,
        body: { type: 'object', required: ['username', 'password', 'otp'], additionalProperties: false, properties: { username, password, otp } },
      },
    },
    async (request) => {
      const { actor } = await checkPasswordStep(app.deps, request.body);
      return { recoveryCodes: await confirmEnrolment(app.deps, actor!, request.body.otp) };
    },
  );

  // Re-confirmation before the most sensitive actions: the signed-in admin's code again.
  app.post<{ Body: { otp: string } }>(
    '/auth/mfa/confirm',
    {
      config: { scope: 'signed-in' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['sign-in'],
        response: responses.reconfirm,
        security: [{ bearer: [] }],
        body: { type: 'object', required: ['otp'], additionalProperties: false, properties: { otp } },
      },
    },
    async (request, reply) => {
      await verifySecondFactor(app.deps, request.account!, request.body.otp);
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')![1]!;
      await markSecondFactor(app.deps.db, token);
      return reply.status(204).send();
    },
  );

  // The helpdesk's reset of a lost second factor (an SSO admin over the account's unit, never their own).
  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/accounts/:id/mfa-reset',
    {
      config: { scope: 'unit-admin' },
      preValidation: [app.requireAdmin, app.requireRecentSecondFactor],
      schema: {
        tags: ['accounts'],
        response: responses.reset,
        security: [{ bearer: [] }],
        description:
          "Removes the account's second factor (its TOTP and recovery codes), with a reason, audited: every sign-in of the person ends, they are mailed, and their next password sign-in enrols again. An SSO admin over the account's unit, never for their own account; needs the admin's second factor confirmed within ADMIN_MFA_RECONFIRM_AFTER. `changed` is false when the account had none.",
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
        },
      },
    },
    async (request) => resetSecondFactor(app.deps, request.account!, request.params.id, request.body, request.log),
  );

  app.post(
    '/auth/logout',
    {
      config: { scope: 'signed-in' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['sign-in'],
        security: [{ bearer: [] }],
        response: { 200: object({ status: { type: 'string', const: 'signed_out', description: 'The token is revoked.' } }) },
      },
    },
    async (request, reply) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')![1]!;
      await revokeToken(app.deps.db, token);
      return reply.send({ status: 'signed_out' });
    },
  );
}
