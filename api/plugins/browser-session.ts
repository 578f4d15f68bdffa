// The browser's sign-in for the pages (portal, sign-in, ThaiID): an HttpOnly cookie holding an API
// token (stored hashed, revoked with every other token when the person is suspended), forms
// protected against CSRF, and a guard against open redirects.
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { accounts, authTokens, type AccountStatus } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { renderPage } from '../../lib/pages.ts';
import { verifyPassword } from '../../lib/passwords.ts';
import { loadSignedInAccount, type SignedInAccount } from './auth.ts';

export const SESSION_COOKIE = 'sso_session';
/** Set by the ThaiID callback for the one sign-in interaction it finished (signed, two minutes). */
export const FRESH_LOGIN_COOKIE = 'sso_fresh_login';

declare module 'fastify' {
  interface FastifyReply {
    /** Sends a whole HTML page (templates/pages/<name>.hbs in the layout), never cached. */
    page(status: number, name: string, data: Record<string, unknown> & { title: string }): FastifyReply;
    /** The page that refuses a suspended or disabled account, saying what to do. */
    cannotSignIn(status: AccountStatus): FastifyReply;
  }
  interface FastifyInstance {
    /** The account a username and password sign in to, or null when either is wrong (one answer for both). */
    checkPassword(username: string, password: string): Promise<{ id: string; status: AccountStatus } | null>;
    /** The person signed in on this browser (and since when), or null. */
    browserAccount(request: FastifyRequest): Promise<(SignedInAccount & { signedInAt: Date }) | null>;
    startBrowserSession(reply: FastifyReply, accountId: string): Promise<void>;
    endBrowserSession(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** Sends a page with a fresh CSRF token in `csrf`. */
    csrfToken(reply: FastifyReply): string;
  }
}

/**
 * Only a path on this service, never another site (open redirect): no control characters (a
 * browser drops a TAB and reads `/\t/evil` as `//evil`), no backslash, and what it resolves to
 * must stay on this origin.
 */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('\\')) return '/';
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/';
  const resolved = new URL(value, 'http://this.invalid');
  if (resolved.origin !== 'http://this.invalid') return '/';
  return resolved.pathname + resolved.search + resolved.hash;
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
    const [row] = await db.select({ accountId: authTokens.accountId, createdAt: authTokens.createdAt }).from(authTokens).where(and(
      eq(authTokens.tokenHash, sha256Hex(token)), isNull(authTokens.revokedAt), gt(authTokens.expiresAt, new Date())));
    const account = row ? await loadSignedInAccount(app, row.accountId) : null;
    return account ? { ...account, signedInAt: row!.createdAt } : null;
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

  app.decorateReply('page', function page(this: FastifyReply, status: number, name: string, data: Record<string, unknown> & { title: string }) {
    return this.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderPage(name, data));
  });
  app.decorateReply('cannotSignIn', function cannotSignIn(this: FastifyReply, status: AccountStatus) {
    return this.page(423, 'message', { title: 'เข้าสู่ระบบไม่ได้ / Cannot sign in', error: true, back: '/login',
      message: `บัญชีนี้ถูกระงับการใช้งาน กรุณาติดต่อผู้ดูแลระบบ SSO ของหน่วยงาน / This account is ${status}; ask the SSO admin of your unit.` });
  });

  app.decorate('checkPassword', async (username: string, password: string) => {
    const name = username.trim().toLowerCase();
    const [account] = name ? await db.select({ id: accounts.id, passwordHash: accounts.passwordHash, status: accounts.status })
      .from(accounts).where(eq(sql`lower(${accounts.username})`, name)) : [];
    // verifyPassword spends the same time for an unknown user as for a wrong password.
    const ok = await verifyPassword(account?.passwordHash, password);
    return account && ok ? { id: account.id, status: account.status } : null;
  });
});
