// The browser's sign-in for the pages (portal, sign-in, ThaiID): an HttpOnly cookie holding an API
// token (stored hashed, revoked with every other token when the person is suspended), forms
// protected against CSRF, and a guard against open redirects.
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authTokens } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { loadSignedInAccount, type SignedInAccount } from './auth.ts';

export const SESSION_COOKIE = 'sso_session';

declare module 'fastify' {
  interface FastifyInstance {
    /** The person signed in on this browser, or null. */
    browserAccount(request: FastifyRequest): Promise<SignedInAccount | null>;
    startBrowserSession(reply: FastifyReply, accountId: string): Promise<void>;
    endBrowserSession(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** Sends a page with a fresh CSRF token in `csrf`. */
    csrfToken(reply: FastifyReply): string;
  }
}

/** Only a path on this service: never an absolute or protocol-relative URL (open redirect). */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\r\n]/.test(value)) return '/';
  return value;
}

export default fp(async function browserSession(app: FastifyInstance) {
  const { db, config, sso } = app.deps;
  const secure = config.publicUrl.startsWith('https://');
  await app.register(cookie, { secret: sso.cookieKeys });
  await app.register(formbody);
  await app.register(csrf, { sessionPlugin: '@fastify/cookie', cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure, signed: true } });

  app.decorate('browserAccount', async (request: FastifyRequest) => {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return null;
    const [row] = await db.select({ accountId: authTokens.accountId }).from(authTokens).where(and(
      eq(authTokens.tokenHash, sha256Hex(token)), isNull(authTokens.revokedAt), gt(authTokens.expiresAt, new Date())));
    return row ? loadSignedInAccount(app, row.accountId) : null;
  });

  app.decorate('startBrowserSession', async (reply: FastifyReply, accountId: string) => {
    const { token } = await app.issueToken(accountId);
    void reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: Math.floor(config.tokenTtlMs / 1000) });
  });

  app.decorate('endBrowserSession', async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token) await db.update(authTokens).set({ revokedAt: new Date() }).where(and(eq(authTokens.tokenHash, sha256Hex(token)), isNull(authTokens.revokedAt)));
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
  });

  app.decorate('csrfToken', (reply: FastifyReply) => reply.generateCsrf());
});
