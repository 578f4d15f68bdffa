// Sign-in with username and password. Unknown user and wrong password get the same answer;
// attempts are throttled per address and per username.
import type { FastifyInstance } from 'fastify';
import { rolesOf } from '../../services/actor.ts';
import { beginTotpEnrolment, markSecondFactor } from '../../services/mfa.ts';
import { checkPasswordStep, confirmEnrolment, revokeToken, signInWithPassword, verifySecondFactor } from '../../services/sign-in.ts';
import { loginThrottles } from '../throttle.ts';

interface LoginBody {
  username: string;
  password: string;
  otp?: string;
}

const username = { type: 'string', minLength: 1, maxLength: 100 } as const;
const password = { type: 'string', minLength: 1, maxLength: 200 } as const;
const otp = { type: 'string', minLength: 1, maxLength: 40, description: 'A TOTP code (6 digits) or an unused recovery code.' } as const;

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

  app.post(
    '/auth/logout',
    { config: { scope: 'signed-in' }, preValidation: app.requireAccount, schema: { tags: ['sign-in'], security: [{ bearer: [] }] } },
    async (request, reply) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')![1]!;
      await revokeToken(app.deps.db, token);
      return reply.send({ status: 'signed_out' });
    },
  );
}
