// The Fastify application: plugins first, then one route file per part of the contract.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type Provider from 'oidc-provider';
import type { DestinationStream } from 'pino';
import compress from '@fastify/compress';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Ajv } from 'ajv';
import type { Config } from '../lib/config.ts';
import { REDACT } from '../lib/log.ts';
import { nameServerSpan } from '../lib/tracing.ts';
import { christianEraKeyword } from '../lib/dates.ts';
import type { SsoSecrets } from '../lib/sso/keys.ts';
import { page, type Scope } from './scope.ts';
import type { ServiceDeps } from '../services/deps.ts';
import authPlugin from './plugins/auth.ts';
import problemsPlugin, { frameworkProblem } from './plugins/problems.ts';
import { discardStagedUploads } from './uploads.ts';
import { sharedRateLimitStore } from './throttle.ts';
import { problemSchema } from '../lib/problem.ts';
import { declareCommonResponses } from './responses.ts';
import accessReviewCampaignRoutes from './routes/access-review-campaigns.ts';
import accessReviewRoutes from './routes/access-reviews.ts';
import accountRoutes from './routes/accounts.ts';
import personnelEventRoutes from './routes/personnel-events.ts';
import portalRoutes from './routes/portal.ts';
import appointmentRoutes from './routes/appointments.ts';
import complianceRoutes from './routes/compliance.ts';
import auditRoutes from './routes/audit.ts';
import authRoutes from './routes/auth.ts';
import healthRoutes from './routes/health.ts';
import metricsRoutes from './routes/metrics.ts';
import orgUnitRoutes from './routes/org-units.ts';
import registrationRoutes from './routes/registrations.ts';
import systemRoutes from './routes/systems.ts';
import pageRoutes from './routes/pages.ts';
import ssoRoutes from './routes/sso.ts';
import thaiidRoutes from './routes/thaiid.ts';
import trackRoutes from './routes/track.ts';
import manualRoutes from './routes/manual.ts';
import passwordRoutes from './routes/passwords.ts';
import browserSessionPlugin from './plugins/browser-session.ts';
import consolePages from './console/index.ts';
import assetRoutes from './routes/assets.ts';
import { createSsoProvider } from '../lib/sso/provider.ts';
import { createThaidStandin, type ThaidStandin } from '../lib/sso/thaid-standin.ts';
import { createThaiIdClient, type ResolvedThaiIdConfig, type ThaiIdClient } from '../lib/sso/thaiid.ts';

/** The services' resources, and what the API itself needs beside them. */
export interface AppDeps extends ServiceDeps {
  /** Health checks ask Temporal directly. */
  temporal: Client;
  sso: SsoSecrets;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    /** The OpenID Connect provider of the connected systems. */
    ssoProvider: Provider;
    /** ThaiID as relying party: the real ThaiD when configured, else the stand-in. */
    thaiid: ThaiIdClient | null;
    thaidStandin: ThaidStandin | null;
    routeTable: { method: string; url: string; scope: Scope | undefined }[];
  }
}

/**
 * Query strings carry citizen IDs (GET /accounts?citizenId=), one-time codes and verification
 * tokens (ThaiID, OIDC): the log keeps the path and the names of the parameters, never values.
 */
function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const names = [...new URLSearchParams(url.slice(at + 1)).keys()];
  return `${url.slice(0, at)}?${names.map((n) => `${n}=_`).join('&')}`;
}

/** The real ThaiD needs its client id, secret and API key beside the issuer. */
function resolveThaiId(config: Config): ResolvedThaiIdConfig {
  const { issuer, clientId, clientSecret } = config.thaiid;
  if (!issuer || !clientId || !clientSecret) throw new Error('THAIID_ISSUER needs THAIID_CLIENT_ID and THAIID_CLIENT_SECRET (and THAIID_API_KEY for ThaiD)');
  return { ...config.thaiid, issuer, clientId, clientSecret };
}

/**
 * Every HTML page: scripts, styles, frames and forms only from this service, never framed by
 * another site, no referrer leaving it, and HSTS where it is served over https (form-action is left open: the sign-in form's answer
 * redirects on to the connected system, and browsers apply form-action to those redirects). The API docs
 * (/docs) bring their own inline scripts and are left as the library serves them.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; object-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";
function isPage(url: string, contentType: unknown): boolean {
  return typeof contentType === 'string' && contentType.startsWith('text/html') && !url.startsWith('/docs');
}
function pageHeaders(reply: FastifyReply, publicUrl: string): void {
  // A page that set its own policy (the provider's form_post and logout pages) keeps it.
  if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', CSP);
  void reply.header('referrer-policy', 'same-origin').header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY');
  if (publicUrl.startsWith('https://')) void reply.header('strict-transport-security', 'max-age=31536000');
}

/** Believes the nearest `hops` addresses (the socket's peer is hop 0), as proxy-addr does for a number. */
const hopsTrusted = (hops: number) => (_address: string, hop: number) => hop < hops;

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export async function buildApp(deps: AppDeps, options: { logStream?: DestinationStream } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: deps.config.logLevel,
      redact: REDACT,
      ...(options.logStream ? { stream: options.logStream } : {}),
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
          id: req.id,
          method: req.method,
          url: loggedUrl(req.url),
          remoteAddress: req.ip,
        }),
      },
    },
    // The request id is the server's own, always (a client's could pick what the audit or a retry takes for one act);
    // a caller's X-Request-Id is kept beside it in the log lines, to find their call.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    childLoggerFactory: (logger, bindings, childOptions, req) => {
      const given = req.headers['x-request-id'];
      const clientRequestId = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : undefined;
      return logger.child(clientRequestId ? { ...bindings, clientRequestId } : bindings, childOptions);
    },
    bodyLimit: 20 * 1024 * 1024,
    // Fastify's own refusals before routing (bad URL encoding, an over-long path parameter) as problems too.
    frameworkErrors: frameworkProblem,
    // A number of hops: this Fastify refuses a bare count (it cannot tell the proxy from a client
    // that reached the API directly), so the count is said as proxy-addr's own rule for it.
    trustProxy: typeof deps.config.trustProxy === 'number' ? hopsTrusted(deps.config.trustProxy) : deps.config.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true }, plugins: [(ajv: Ajv) => ajv.addKeyword(christianEraKeyword)] },
  });
  app.decorate('deps', deps);
  app.addHook('onRequest', async (request) => nameServerSpan(request.method, request.routeOptions.url));
  // The route table, as registered: what the authorisation matrix tests walk, so a new route is tested by being added.
  const routeTable: FastifyInstance['routeTable'] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeTable.push({ method, url: route.url, scope: route.config?.scope });
  });
  // The OpenAPI document declares every answer: each route's own, and the common problems added here.
  app.addHook('onRoute', (route) => declareCommonResponses(route));
  // Response schemas document the answers and the fuzz test (test/integration/openapi.test.ts) holds them to
  // it; they never reshape them (fast-json-stringify would drop a field the schema forgot).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onSend', async (request, reply) => {
    if (isPage(request.url, reply.getHeader('content-type'))) pageHeaders(reply, deps.config.publicUrl);
  });
  app.addSchema(problemSchema);

  // Pages and lists compressed (a district office on a slow line); the provider's and health answers are small.
  await app.register(compress, { global: true, threshold: 1024, encodings: ['br', 'gzip'] });
  await app.register(problemsPlugin);
  await app.register(metricsRoutes);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'sso-lifecycle', version: '1', description: 'Who may use the DLA information systems through its single sign-on.' },
      servers: [{ url: deps.config.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', page('public'), async () => app.swagger());
  await app.register(rateLimit, { global: false, store: sharedRateLimitStore(deps.db, deps.config.taskQueue) });
  await app.register(multipart, {
    limits: { fileSize: MAX_DOCUMENT_BYTES, files: 5, fields: 5, parts: 12, fieldSize: 1024 * 1024 },
    throwFileSizeLimit: true,
  });
  // Documents a request staged (encrypted, api/uploads.ts) and no service kept are deleted once it is answered.
  app.addHook('onResponse', discardStagedUploads);
  await app.register(authPlugin);
  await app.register(browserSessionPlugin);

  app.decorate(
    'ssoProvider',
    createSsoProvider({
      config: deps.config,
      db: deps.db,
      cipher: deps.cipher,
      signingKeys: deps.sso.signingKeys,
      cookieKeys: deps.sso.cookieKeys,
    }),
  );
  const thaiidRedirect = `${deps.config.publicUrl}/auth/thaiid/callback`;
  const { issuer, standin: standinWanted } = deps.config.thaiid;
  const standin = !issuer && standinWanted ? createThaidStandin(deps.config.publicUrl, thaiidRedirect, deps.config.thaiid.scope, deps.sso.signingKeys) : null;
  app.decorate('thaidStandin', standin);
  app.decorate('thaiid', issuer || standin ? createThaiIdClient(standin?.settings ?? resolveThaiId(deps.config), thaiidRedirect) : null);

  await app.register(healthRoutes);
  await app.register(assetRoutes);
  await app.register(consolePages);
  await app.register(ssoRoutes);
  await app.register(thaiidRoutes);
  await app.register(pageRoutes);
  await app.register(trackRoutes);
  await app.register(manualRoutes);
  await app.register(passwordRoutes);
  await app.register(
    async (api) => {
      await api.register(authRoutes);
      await api.register(orgUnitRoutes);
      await api.register(systemRoutes);
      await api.register(accountRoutes);
      await api.register(registrationRoutes);
      await api.register(auditRoutes);
      await api.register(appointmentRoutes);
      await api.register(complianceRoutes);
      await api.register(personnelEventRoutes);
      await api.register(accessReviewRoutes);
      await api.register(accessReviewCampaignRoutes);
      await api.register(portalRoutes);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
