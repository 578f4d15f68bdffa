// The browser's sign-in for the pages (portal, sign-in, ThaiID): an HttpOnly cookie holding an API
// token (stored hashed, revoked with every other token when the person is suspended), forms
// protected against CSRF, and a guard against open redirects.
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { renderPage } from '../../lib/pages.ts';
import { Problem } from '../../lib/problem.ts';
import { checkPasswordStep, revokeToken, signedInWith, signInChecked, type SignedIn, type SignInContext } from '../../services/sign-in.ts';
import type { SignedInAccount } from './auth.ts';

export const SESSION_COOKIE = 'sso_session';
/** Set by the ThaiID callback for the one sign-in interaction it finished (signed, two minutes). */
export const FRESH_LOGIN_COOKIE = 'sso_fresh_login';
/** Says whose password held, for the second-factor page that follows (signed, five minutes, only under /login). */
export const SECOND_FACTOR_COOKIE = 'sso_second_factor';
const SECOND_FACTOR_TTL_MS = 5 * 60_000;

/** The sign-in waiting for its second factor: whose, for which system, until when. */
export interface PendingSignIn {
  accountId: string;
  system?: string | undefined;
  until: number;
  /** A first enrolment shown to this browser: when its secret was started (the only one it may confirm). */
  enrolmentStartedAt?: number | undefined;
}

type FormAgain = (status: number, extra: { username: string; error: string }) => FastifyReply;

declare module 'fastify' {
  interface FastifyReply {
    /** Sends a whole HTML page (templates/pages/<name>.hbs in the layout), never cached. */
    page(status: number, name: string, data: Record<string, unknown> & { title: string }): FastifyReply;
    /** The page that refuses a sign-in (a suspended or disabled account), saying what to do. */
    signInRefused(problem: Problem): FastifyReply;
  }
  interface FastifyInstance {
    /** The person signed in on this browser (and since when), or null. */
    browserAccount(request: FastifyRequest): Promise<(SignedInAccount & { signedInAt: Date; secondFactorAt: Date | null }) | null>;
    /** The sign-in on this browser waiting for its second factor, or null. */
    pendingSignIn(request: FastifyRequest): PendingSignIn | null;
    /** Sets (or sets again) the signed cookie of a sign-in whose password held. */
    keepPendingSignIn(reply: FastifyReply, pending: PendingSignIn): void;
    endPendingSignIn(reply: FastifyReply): void;
    /** Keeps a sign-in on this browser (the session cookie). */
    keepBrowserSession(reply: FastifyReply, signedIn: SignedIn): void;
    /**
     * The sign-in form posted (username, password): the person, now signed in on this browser; or
     * null when the answer is sent already (the form again with its error, or the refusal page).
     */
    signInFromForm(request: FastifyRequest, reply: FastifyReply, formAgain: FormAgain, context?: SignInContext): Promise<SignedIn | null>;
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
    return token ? signedInWith(db, token) : null;
  });

  app.decorate('keepBrowserSession', (reply: FastifyReply, signedIn: SignedIn) => {
    void reply.setCookie(SESSION_COOKIE, signedIn.token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: Math.floor(config.tokenTtlMs / 1000) });
  });

  app.decorate('signInFromForm', async (request: FastifyRequest, reply: FastifyReply, formAgain: FormAgain, context: SignInContext = {}) => {
    const body = (request.body ?? {}) as { username?: unknown; password?: unknown };
    const username = String(body.username ?? '').trim();
    try {
      const checked = await checkPasswordStep(app.deps, { username, password: String(body.password ?? '') });
      if (checked.secondFactor) {
        // The password held; an admin's code (or first enrolment) comes on the next page.
        app.keepPendingSignIn(reply, { accountId: checked.account.id, system: context.system, until: Date.now() + SECOND_FACTOR_TTL_MS });
        // Back to where the form was going: a connected system's sign-in, or the `return` path.
        const interaction = /^(\/interaction\/[^/?]+)\/login/.exec(request.url)?.[1];
        const returnTo = interaction ?? safeReturnPath((request.query as { return?: unknown } | undefined)?.return);
        void reply.redirect(`/login/second-factor?return=${encodeURIComponent(returnTo)}`, 303);
        return null;
      }
      const signedIn = await signInChecked(app.deps, checked, context);
      app.keepBrowserSession(reply, signedIn);
      return signedIn;
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      if (error.status === 401) formAgain(401, { username, error: error.message });
      else reply.signInRefused(error);
      return null;
    }
  });

  app.decorate('keepPendingSignIn', (reply: FastifyReply, pending: PendingSignIn) => {
    void reply.setCookie(SECOND_FACTOR_COOKIE, JSON.stringify(pending), {
      path: '/login',
      httpOnly: true,
      sameSite: 'lax',
      secure,
      signed: true,
      maxAge: Math.max(1, Math.floor((pending.until - Date.now()) / 1000)),
    });
  });

  app.decorate('pendingSignIn', (request: FastifyRequest) => {
    const raw = request.cookies[SECOND_FACTOR_COOKIE];
    const unsigned = raw ? request.unsignCookie(raw) : null;
    if (!unsigned?.valid || !unsigned.value) return null;
    try {
      const pending = JSON.parse(unsigned.value) as PendingSignIn;
      return typeof pending.accountId === 'string' && pending.until > Date.now() ? pending : null;
    } catch {
      return null;
    }
  });
  app.decorate('endPendingSignIn', (reply: FastifyReply) => {
    void reply.clearCookie(SECOND_FACTOR_COOKIE, { path: '/login' });
  });

  app.decorate('endBrowserSession', async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token) await revokeToken(db, token);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
  });

  app.decorate('csrfToken', (reply: FastifyReply) => reply.generateCsrf());

  app.decorateReply('page', function page(this: FastifyReply, status: number, name: string, data: Record<string, unknown> & { title: string }) {
    return this.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderPage(name, data));
  });
  app.decorateReply('signInRefused', function signInRefused(this: FastifyReply, problem: Problem) {
    return this.page(problem.status, 'message', { title: 'เข้าสู่ระบบไม่ได้ / Cannot sign in', error: true, back: '/login', message: problem.message });
  });
});
