// A demo connected system ("INFO") that signs people in through the service's single sign-on,
// as a real system would: openid-client for the code flow (state, nonce, PKCE), and a
// back-channel logout endpoint that verifies the logout token against the provider's keys.
// Run it beside `npm start` with `node scripts/support/demo-info-system.ts` (see the README).
import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

export interface DemoSession {
  sid: string | undefined;
  sub: string;
  claims: Record<string, unknown>;
  idToken: string | undefined;
  refreshToken: string | undefined;
  accessToken?: string;
}

export interface DemoInfoSystem {
  url: string;
  callbackUrl: string;
  backchannelLogoutUrl: string;
  /** Connects to the provider once the system is registered there. */
  configure(clientId: string, clientSecret?: string): Promise<void>;
  sessions: Map<string, DemoSession>;
  /** Every logout token received, verified or not. */
  logouts: { sub: string | undefined; sid: string | undefined; verified: boolean; kid?: string; error?: string }[];
  /** The callback URLs it was sent to (to try replaying a code). */
  callbacks: string[];
  /** The PKCE verifier of each callback URL's sign-in (to replay a code exactly as the system sent it). */
  verifiers: Map<string, string>;
  config(): oidc.Configuration;
  close(): Promise<void>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startDemoInfoSystem(issuer: string, options: { port?: number; scope?: string } = {}): Promise<DemoInfoSystem> {
  const app: FastifyInstance = Fastify();
  await app.register(formbody);
  let url = '';
  let callbackUrl = '';
  const scope = options.scope ?? 'openid profile roles offline_access';
  let configuration: oidc.Configuration | undefined;
  let clientId = '';
  const flows = new Map<string, { state: string; nonce: string; verifier: string }>();
  const sessions = new Map<string, DemoSession>();
  const logouts: DemoInfoSystem['logouts'] = [];
  const callbacks: string[] = [];
  const verifiers = new Map<string, string>();
  const cookie = (header: string | undefined, name: string) =>
    header
      ?.split(/;\s*/)
      .find((c) => c.startsWith(`${name}=`))
      ?.slice(name.length + 1);
  const page = (body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>INFO (demo)</title></head><body><h1>INFO (demo connected system)</h1>${body}</body></html>`;

  app.get('/', async (request, reply) => {
    const session = sessions.get(cookie(request.headers.cookie, 'demo_session') ?? '');
    if (!session) return reply.type('text/html').send(page('<p id="status">signed out</p><a id="sign-in" href="/login">Sign in with DLA SSO</a>'));
    return reply
      .type('text/html')
      .send(
        page(
          `<p id="status">signed in as <span id="user">${escape(String(session.claims.preferred_username))}</span></p>` +
            `<p>roles: <span id="roles">${escape(((session.claims.roles as string[] | undefined) ?? []).join(','))}</span></p>`,
        ),
      );
  });

  app.get('/login', async (_request, reply) => {
    const flowId = randomUUID();
    const flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    flows.set(flowId, flow);
    const to = oidc.buildAuthorizationUrl(configuration!, {
      redirect_uri: callbackUrl,
      scope,
      state: flow.state,
      nonce: flow.nonce,
      prompt: scope.includes('offline_access') ? 'consent' : '',
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    });
    if (!scope.includes('offline_access')) to.searchParams.delete('prompt');
    return reply.header('set-cookie', `demo_flow=${flowId}; Path=/; HttpOnly; SameSite=Lax`).redirect(to.href, 303);
  });

  app.get<{ Querystring: Record<string, string> }>('/callback', async (request, reply) => {
    callbacks.push(`${url}${request.url}`);
    const flowId = cookie(request.headers.cookie, 'demo_flow') ?? '';
    const flow = flows.get(flowId);
    flows.delete(flowId);
    if (flow) verifiers.set(`${url}${request.url}`, flow.verifier);
    if (request.query.error)
      return reply
        .status(403)
        .type('text/html')
        .send(page(`<p id="status">refused: <span id="error">${escape(request.query.error)}</span></p>`));
    if (!flow) return reply.status(400).type('text/html').send(page('<p id="status">refused: no sign-in in progress</p>'));
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration!, new URL(`${url}${request.url}`), {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      const id = randomUUID();
      sessions.set(id, {
        sid: claims.sid as string | undefined,
        sub: claims.sub,
        claims,
        idToken: tokens.id_token,
        refreshToken: tokens.refresh_token,
        accessToken: tokens.access_token,
      });
      return reply.header('set-cookie', `demo_session=${id}; Path=/; HttpOnly; SameSite=Lax`).redirect('/', 303);
    } catch (error) {
      const detail = error as Error & { error?: string; error_description?: string };
      return reply
        .status(400)
        .type('text/html')
        .send(
          page(
            `<p id="status">refused: <span id="error">${escape(detail.error ?? detail.message)}</span> <span id="description">${escape(detail.error_description ?? '')}</span></p>`,
          ),
        );
    }
  });

  app.post<{ Body: { logout_token?: string } }>('/backchannel-logout', async (request, reply) => {
    const token = request.body?.logout_token;
    if (!token) return reply.status(400).send({ error: 'invalid_request' });
    try {
      const server = configuration!.serverMetadata();
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(server.jwks_uri!)), {
        issuer: server.issuer,
        audience: clientId,
        typ: 'logout+jwt',
      });
      if (!(payload.events as Record<string, unknown> | undefined)?.['http://schemas.openid.net/event/backchannel-logout'])
        throw new Error('not a logout token');
      logouts.push({ sub: payload.sub, sid: payload.sid as string | undefined, verified: true, kid: decodeProtectedHeader(token).kid });
      for (const [id, s] of sessions) if ((payload.sid && s.sid === payload.sid) || (!payload.sid && s.sub === payload.sub)) sessions.delete(id);
      return reply.send();
    } catch (error) {
      logouts.push({ sub: undefined, sid: undefined, verified: false, error: (error as Error).message });
      return reply.status(400).send({ error: 'invalid_request' });
    }
  });

  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  callbackUrl = `${url}/callback`;
  return {
    url,
    callbackUrl,
    backchannelLogoutUrl: `${url}/backchannel-logout`,
    sessions,
    logouts,
    callbacks,
    verifiers,
    async configure(id, secret) {
      clientId = id;
      configuration = await oidc.discovery(
        new URL(issuer),
        id,
        undefined,
        secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
        issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    },
    config: () => configuration!,
    close: () => app.close(),
  };
}

// Standalone: node scripts/support/demo-info-system.ts — registers itself as INFO with the service.
if (import.meta.main) {
  const issuer = process.env.SSO_URL ?? 'http://localhost:3000';
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new Error('set ADMIN_TOKEN (POST /api/v1/auth/login as a DLA central admin) and optionally SSO_URL');
  const demo = await startDemoInfoSystem(issuer, { port: Number(process.env.DEMO_PORT ?? 4000) });
  const res = await fetch(`${issuer}/api/v1/systems/INFO`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      nameTh: 'ระบบสารสนเทศ (สาธิต)',
      nameEn: 'INFO (demo)',
      url: demo.url,
      roles: ['viewer', 'editor'],
      oidc: { redirectUris: [demo.callbackUrl], backchannelLogoutUri: demo.backchannelLogoutUrl, rotateSecret: true },
    }),
  });
  const body = (await res.json()) as { clientId: string; clientSecret?: string };
  if (!res.ok) throw new Error(`registering INFO: ${res.status} ${JSON.stringify(body)}`);
  await demo.configure(body.clientId, body.clientSecret);
  console.log(`demo INFO system at ${demo.url} (client ${body.clientId})`);
}
