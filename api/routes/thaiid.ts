// Sign-in and registration through ThaiID: GET /auth/thaiid sends the browser to ThaiD (or to the
// local stand-in), GET /auth/thaiid/callback finishes. The citizen ID (`pid`) finds the account by
// keyed hash; a person without one goes to registration with the verified claims filled in.
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { withCheckDigit } from '../../lib/citizen-id.ts';
import { Problem } from '../../lib/problem.ts';
import { mountProvider } from '../../lib/sso/mount-provider.ts';
import { STANDIN_PATH } from '../../lib/sso/thaid-standin.ts';
import { ThaiIdError, ThaiIdUnavailable, type ThaiIdFlow, type VerifiedClaims } from '../../lib/sso/thaiid.ts';
import { signInWithThaiId } from '../../services/sign-in.ts';
import { FRESH_LOGIN_COOKIE, safeReturnPath } from '../plugins/browser-session.ts';
import { pageAnswer, redirect } from '../responses.ts';
import { page } from '../scope.ts';

const FLOW_COOKIE = 'thaiid_flow';

export default async function thaiidRoutes(app: FastifyInstance) {
  const { config } = app.deps;
  const secure = config.publicUrl.startsWith('https://');
  const failed = (reply: FastifyReply, status: number, message: string) =>
    reply.page(status, 'message', { title: 'เข้าสู่ระบบด้วย ThaiID ไม่สำเร็จ / ThaiID sign-in failed', message, error: true, back: '/login' });
  /** ThaiD unreachable or misconfigured: a page saying so, not a 500. */
  const unavailable = (request: { log: FastifyInstance['log'] }, reply: FastifyReply, error: ThaiIdUnavailable) => {
    request.log.error({ reason: error.message }, 'ThaiD unavailable');
    return reply.header('retry-after', '60').page(503, 'message', {
      title: 'ThaiID ไม่พร้อมใช้งานชั่วคราว / ThaiID is unavailable',
      error: true,
      back: '/login',
      message:
        'ขณะนี้ไม่สามารถติดต่อระบบ ThaiD ได้ กรุณาลองใหม่อีกครั้งภายหลัง หรือเข้าสู่ระบบด้วยชื่อผู้ใช้และรหัสผ่าน / ThaiD cannot be reached right now; please try again later, or sign in with your username and password.',
    });
  };

  app.get<{ Querystring: { interaction?: string; return?: string } }>(
    '/auth/thaiid',
    {
      config: { scope: 'credentials' },
      schema: {
        tags: ['sign-in'],
        description: 'Starts sign-in (or registration) through ThaiID: redirects to ThaiD.',
        response: { 303: redirect('To ThaiD.'), 503: pageAnswer('ThaiID is not configured here, or ThaiD cannot be reached just now.') },
        querystring: {
          type: 'object',
          properties: { interaction: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' }, return: { type: 'string', maxLength: 2000 } },
        },
      },
    },
    async (request, reply) => {
      if (!app.thaiid)
        return reply.page(503, 'message', {
          title: 'ThaiID',
          error: true,
          back: '/login',
          message: 'การเข้าสู่ระบบด้วย ThaiID ยังไม่เปิดใช้งาน / Sign-in with ThaiID is not configured here (THAIID_ISSUER); use your username and password.',
        });
      let started: Awaited<ReturnType<NonNullable<typeof app.thaiid>['start']>>;
      try {
        started = await app.thaiid.start({
          ...(request.query.interaction ? { interaction: request.query.interaction } : {}),
          returnTo: safeReturnPath(request.query.return),
        });
      } catch (error) {
        if (error instanceof ThaiIdUnavailable) return unavailable(request, reply, error);
        throw error;
      }
      const { url, flow } = started;
      void reply.setCookie(FLOW_COOKIE, JSON.stringify(flow), { path: '/auth/thaiid', httpOnly: true, sameSite: 'lax', secure, signed: true, maxAge: 600 });
      return reply.redirect(url, 303);
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/auth/thaiid/callback',
    {
      config: { scope: 'credentials' },
      schema: {
        tags: ['sign-in'],
        description: 'Finishes sign-in through ThaiID.',
        response: {
          303: redirect('Signed in: back to where the sign-in started (or to registration, for a person without an account).'),
          400: pageAnswer('The sign-in expired, did not start here, or ThaiD refused it.'),
          401: pageAnswer('Sign-in refused.'),
          403: pageAnswer('Sign-in refused.'),
          423: pageAnswer('The account is suspended or disabled.'),
          503: pageAnswer('ThaiD cannot be reached just now.'),
        },
      },
    },
    async (request, reply) => {
      const cookie = request.cookies[FLOW_COOKIE];
      const unsigned = cookie ? request.unsignCookie(cookie) : undefined;
      void reply.clearCookie(FLOW_COOKIE, { path: '/auth/thaiid' });
      if (!unsigned?.valid || !unsigned.value)
        return failed(reply, 400, 'การเข้าสู่ระบบหมดเวลาหรือไม่ถูกต้อง กรุณาเริ่มใหม่ / This sign-in expired or did not start here; start again.');
      const flow = JSON.parse(unsigned.value) as ThaiIdFlow;
      if (request.query.error) return failed(reply, 400, `ThaiID: ${request.query.error_description ?? request.query.error}`);
      // Checked here too (openid-client checks it again) so that the answer says what is wrong.
      if (request.query.state !== flow.state) return failed(reply, 400, 'The state of this sign-in does not match the one started here; start again.');
      let claims: VerifiedClaims;
      try {
        if (!app.thaiid) throw new ThaiIdError('ThaiID is not configured');
        claims = await app.thaiid.finish(new URL(request.url, config.publicUrl), flow);
      } catch (error) {
        if (error instanceof ThaiIdUnavailable) return unavailable(request, reply, error);
        if (!(error instanceof ThaiIdError)) throw error;
        request.log.warn({ reason: error.message }, 'ThaiID sign-in refused');
        return failed(reply, 400, `ThaiID sign-in could not be verified (${error.message}); start again.`);
      }
      let outcome: Awaited<ReturnType<typeof signInWithThaiId>>;
      try {
        // For a connected system's sign-in: which system (the interaction's client), for the record.
        const interaction = flow.interaction ? await app.ssoProvider.Interaction.find(flow.interaction) : undefined;
        const system = interaction?.params.client_id;
        outcome = await signInWithThaiId(app.deps, claims, { system: typeof system === 'string' ? system : undefined });
      } catch (error) {
        if (error instanceof Problem) return reply.signInRefused(error);
        throw error;
      }
      // No account yet: registration, with what ThaiD verified filled in and locked.
      if ('verification' in outcome) return reply.redirect(`/register?verification=${encodeURIComponent(outcome.verification)}`, 303);
      const { account } = outcome.signedIn;
      app.keepBrowserSession(reply, outcome.signedIn);
      if (flow.interaction) {
        void reply.setCookie(FRESH_LOGIN_COOKIE, account.id, {
          path: `/interaction/${flow.interaction}`,
          httpOnly: true,
          sameSite: 'lax',
          secure,
          signed: true,
          maxAge: 120,
        });
      }
      // Back to the connected system's sign-in, which now finds this browser signed in.
      return reply.redirect(flow.interaction ? `/interaction/${encodeURIComponent(flow.interaction)}` : safeReturnPath(flow.returnTo), 303);
    },
  );

  const standin = app.thaidStandin;
  if (!standin) return;
  // The stand-in issuer (no THAIID_ISSUER configured): its endpoints and its own sign-in page.
  await mountProvider(app, standin.provider, [`${STANDIN_PATH}/*`], STANDIN_PATH);
  const samplePid = () => withCheckDigit(`1${String(randomInt(1e11)).padStart(11, '0')}`);
  app.get<{ Params: { uid: string } }>(`${STANDIN_PATH}/interaction/:uid`, page('credentials'), async (request, reply) => {
    const details = await standin.provider.interactionDetails(request.raw, reply.raw);
    return reply.page(200, 'thaid-standin-login', { title: 'ThaiD (stand-in)', action: `${STANDIN_PATH}/interaction/${details.uid}`, pid: samplePid() });
  });
  app.post<{ Params: { uid: string }; Body: Record<string, string> }>(`${STANDIN_PATH}/interaction/:uid`, page('credentials'), async (request, reply) => {
    await standin.provider.interactionDetails(request.raw, reply.raw);
    const body = request.body ?? {};
    const pid = String(body.pid ?? '').trim();
    if (!/^\d{13}$/.test(pid)) return reply.page(400, 'message', { title: 'ThaiD (stand-in)', message: 'pid must be 13 digits', error: true });
    const text = (name: string) => (typeof body[name] === 'string' && body[name].trim() ? body[name].trim() : undefined);
    standin.people.set(pid, {
      pid,
      given_name: text('given_name'),
      family_name: text('family_name'),
      given_name_en: text('given_name_en'),
      family_name_en: text('family_name_en'),
      birthdate: text('birthdate'),
    });
    const to = await standin.provider.interactionResult(request.raw, reply.raw, { login: { accountId: pid } }, { mergeWithLastSubmission: false });
    return reply.redirect(to, 303);
  });
}
