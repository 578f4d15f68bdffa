// Single sign-on for the connected systems: the OpenID Connect provider mounted in the app
// (discovery at /.well-known/openid-configuration, endpoints under /oidc), and its sign-in
// interaction, which is this service's own: the browser's existing sign-in, a password, or ThaiID.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { InteractionResults } from 'oidc-provider';
import { mountProvider } from '../../lib/sso/mount-provider.ts';
import { rolesAt } from '../../lib/sso/provider.ts';
import { revokeToken } from '../../services/sign-in.ts';
import { FRESH_LOGIN_COOKIE, SESSION_COOKIE } from '../plugins/browser-session.ts';
import { loginThrottles } from '../throttle.ts';
import { page } from '../scope.ts';

type LoginForm = { _csrf?: string; username?: string; password?: string };

export default async function ssoRoutes(app: FastifyInstance) {
  const { db } = app.deps;
  const provider = app.ssoProvider;
  const throttles = loginThrottles(app);
  // Signing out of everything at the provider (a system's "sign out", answered "yes") signs the
  // browser out of the portal too; otherwise the next system would sign it straight back in.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !ctx.oidc.params?.logout) return;
    const token = ctx.cookies.get(SESSION_COOKIE, { signed: false });
    if (token) await revokeToken(db, token);
    ctx.cookies.set(SESSION_COOKIE, null, { path: '/', signed: false });
  });
  await mountProvider(app, provider, ['/.well-known/openid-configuration', '/oidc/*']);
  // What the provider refuses, in the service's log (never the tokens themselves).
  for (const event of [
    'authorization.error',
    'grant.error',
    'userinfo.error',
    'introspection.error',
    'revocation.error',
    'end_session.error',
    'backchannel.error',
  ]) {
    (provider.on as (name: string, listener: (...args: never[]) => void) => void)(
      event,
      (ctx: { oidc?: { client?: { clientId?: string } } }, error: { error?: string; error_description?: string; message?: string }) => {
        app.log.info(
          { event, clientId: ctx?.oidc?.client?.clientId, error: error?.error ?? error?.message, description: error?.error_description },
          'single sign-on refused a request',
        );
      },
    );
  }
  provider.on('server_error', (_ctx, error: Error) => {
    app.log.error({ err: error }, 'single sign-on provider failed');
  });

  type Interaction = Awaited<ReturnType<typeof provider.interactionDetails>>;
  /**
   * The interaction's result, saved on the interaction this request read already (what the
   * provider's interactionResult does after reading it a second time), and back to the provider.
   */
  async function finish(reply: FastifyReply, interaction: Interaction, result: InteractionResults) {
    interaction.result = result;
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    return reply.redirect(interaction.returnTo, 303);
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? String(clientId ?? '');
  }

  function loginPage(reply: FastifyReply, uid: string, client: string, status = 200, extra: Record<string, unknown> = {}) {
    return reply.page(status, 'login', {
      title: 'เข้าสู่ระบบ / Sign in',
      client,
      action: `/interaction/${uid}/login`,
      csrf: app.csrfToken(reply),
      thaiidUrl: `/auth/thaiid?interaction=${encodeURIComponent(uid)}`,
      ...extra,
    });
  }

  app.get<{ Params: { uid: string } }>('/interaction/:uid', page('credentials'), async (request, reply) => {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    if (details.uid !== request.params.uid)
      return reply.page(400, 'message', {
        title: 'Sign-in',
        message: 'This sign-in page is out of date; start again from the system you were opening.',
        error: true,
      });
    const clientId = String(details.params.client_id);
    if (details.prompt.name === 'login') {
      // Already signed in on this browser (the portal, or ThaiID a moment ago): single sign-on,
      // unless the system asked for a fresh sign-in (prompt=login, max_age).
      // Just back from ThaiID for this very sign-in (api/routes/thaiid.ts).
      const viaThaiId = request.cookies[FRESH_LOGIN_COOKIE] ? request.unsignCookie(request.cookies[FRESH_LOGIN_COOKIE]) : undefined;
      if (viaThaiId?.valid && viaThaiId.value) {
        void reply.clearCookie(FRESH_LOGIN_COOKIE, { path: `/interaction/${details.uid}` });
        return finish(reply, details, { login: { accountId: viaThaiId.value, amr: ['thaiid'] } });
      }
      // Only when no session is all that is missing: prompt=login, max_age, id_token_hint or an
      // acr asked for need the person here now. The sign-in time is the browser's, not now.
      const onlyNoSession = details.prompt.reasons.every((r) => r === 'no_session');
      const signedIn = onlyNoSession ? await app.browserAccount(request) : null;
      if (signedIn) return finish(reply, details, { login: { accountId: signedIn.id, ts: Math.floor(signedIn.signedInAt.getTime() / 1000) } });
      return loginPage(reply, details.uid, await clientName(clientId));
    }
    if (details.prompt.name === 'consent') {
      // Connected systems are DLA's own: no consent screen, but no way in without a right there.
      const accountId = details.session!.accountId;
      if ((await rolesAt(db, accountId, clientId)).length === 0) {
        request.log.info({ clientId, accountId }, 'single sign-on refused: no active right to this system');
        return finish(reply, details, {
          error: 'access_denied',
          error_description: 'You have no active right to this system; ask the SSO admin of your unit.',
        });
      }
      const grant = details.grantId ? (await provider.Grant.find(details.grantId))! : new provider.Grant({ accountId, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      return finish(reply, details, { consent: details.grantId ? {} : { grantId } });
    }
    return finish(reply, details, { error: 'invalid_request', error_description: `unsupported prompt ${details.prompt.name}` });
  });

  app.post<{ Params: { uid: string }; Body: LoginForm }>(
    '/interaction/:uid/login',
    {
      config: { scope: 'credentials' },
      schema: { hide: true },
      onRequest: throttles.perAddress,
      preHandler: [app.csrfProtection, throttles.perUsername],
    },
    async (request, reply) => {
      const details = await provider.interactionDetails(request.raw, reply.raw);
      const clientId = String(details.params.client_id);
      // The system's name is only on the form shown again: read when a sign-in fails, not every time.
      let again: { status: number; extra: { username: string; error: string } } | undefined;
      const signedIn = await app.signInFromForm(
        request,
        reply,
        (status, extra) => {
          again = { status, extra };
          return reply;
        },
        { system: clientId },
      );
      if (again) return loginPage(reply, details.uid, await clientName(clientId), again.status, again.extra);
      if (!signedIn) return reply;
      const login = { accountId: signedIn.account.id, amr: ['pwd'] };
      return finish(reply, details, { login, ...(await consentAtSignIn(details, signedIn.account.id, clientId)) });
    },
  );

  /**
   * The consent step's grant, given with the sign-in itself when the person holds a right to the
   * system: the browser goes straight back to the system instead of through the consent step (one
   * redirect and its round trips fewer on every sign-in). Without a right, or for a request the
   * consent step must look at (claims or resources asked for), nothing: the consent step decides.
   */
  async function consentAtSignIn(details: Interaction, accountId: string, clientId: string) {
    const params = details.params as Record<string, unknown>;
    if (details.grantId || params.claims || params.resource || params.authorization_details) return {};
    if ((await rolesAt(db, accountId, clientId)).length === 0) return {};
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(String(params.scope ?? 'openid'));
    return { consent: { grantId: await grant.save() } };
  }
}
