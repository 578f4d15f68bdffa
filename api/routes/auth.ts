// Sign-in with username and password. Unknown user and wrong password get the same answer;
// attempts are throttled per address and per username.
import type { FastifyInstance } from 'fastify';
import { rolesOf } from '../../services/actor.ts';
import { revokeToken, signInWithPassword } from '../../services/sign-in.ts';
import { loginThrottles } from '../throttle.ts';

interface LoginBody {
  username: string;
  password: string;
}

export default async function authRoutes(app: FastifyInstance) {
  const throttles = loginThrottles(app);

  app.post<{ Body: LoginBody }>(
    '/auth/login',
    {
      onRequest: throttles.perAddress,
      preHandler: throttles.perUsername,
      schema: {
        tags: ['sign-in'],
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 100 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request) => {
      const { account, token, expiresAt } = await signInWithPassword(app.deps, request.body);
      return { token, expiresAt: expiresAt.toISOString(), account: { id: account.id, username: account.username, roles: rolesOf(account) } };
    },
  );

  app.post('/auth/logout', { preValidation: app.requireAccount, schema: { tags: ['sign-in'], security: [{ bearer: [] }] } }, async (request, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')![1]!;
    await revokeToken(app.deps.db, token);
    return reply.send({ status: 'signed_out' });
  });
}
