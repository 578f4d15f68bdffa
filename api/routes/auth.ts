// Sign-in with username and password. Unknown user and wrong password get the same answer;
// attempts are throttled per address and per username.
import { and, eq, isNull } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authTokens } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { loadSignedInAccount } from '../plugins/auth.ts';
import { Problem, unauthorized } from '../../lib/problem.ts';
import { throttle } from '../throttle.ts';


interface LoginBody { username: string; password: string }

export default async function authRoutes(app: FastifyInstance) {
  const { db, config } = app.deps;

  app.post<{ Body: LoginBody }>('/auth/login', {
    onRequest: throttle(app, 'login-address', config.rateLimits.loginPerAddress, (r) => r.ip),
    preHandler: throttle(app, 'login-username', config.rateLimits.loginPerUsername,
      (r: FastifyRequest) => String((r.body as LoginBody | undefined)?.username ?? '').toLowerCase()),
    schema: {
      tags: ['sign-in'],
      body: {
        type: 'object', required: ['username', 'password'], additionalProperties: false,
        properties: { username: { type: 'string', minLength: 1, maxLength: 100 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
      },
    },
  }, async (request) => {
    const { username, password } = request.body;
    const account = await app.checkPassword(username, password);
    if (!account) throw unauthorized('The username or password is wrong.');
    if (account.status !== 'active') throw new Problem(423, 'Locked', `This account is ${account.status}; ask the SSO admin of your unit.`);
    const signedIn = await loadSignedInAccount(app, account.id);
    const { token, expiresAt } = await app.issueToken(account.id);
    return { token, expiresAt: expiresAt.toISOString(), account: { id: account.id, username: signedIn!.username, roles: app.rolesOf(signedIn!) } };
  });

  app.post('/auth/logout', { preValidation: app.requireAccount, schema: { tags: ['sign-in'], security: [{ bearer: [] }] } }, async (request, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')![1]!;
    await db.update(authTokens).set({ revokedAt: new Date() })
      .where(and(eq(authTokens.tokenHash, sha256Hex(token)), isNull(authTokens.revokedAt)));
    return reply.send({ status: 'signed_out' });
  });
}
