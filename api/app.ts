// The Fastify application: plugins first, then one route file per part of the contract.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Db } from '../db/client.ts';
import type { Config } from '../lib/config.ts';
import type { PersonalDataCipher } from '../lib/crypto.ts';
import type { DocumentStore } from '../lib/document-store.ts';
import authPlugin from './plugins/auth.ts';
import problemsPlugin from './plugins/problems.ts';
import { problemSchema } from './problem.ts';
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
import orgUnitRoutes from './routes/org-units.ts';
import registrationRoutes from './routes/registrations.ts';
import systemRoutes from './routes/systems.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  cipher: PersonalDataCipher;
  documentStore: DocumentStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/** Personal data and secrets never reach the logs: these are cut from every logged request. */
const REDACT = ['req.headers.authorization', 'req.headers["x-tracking-code"]', 'req.headers["x-hr-signature"]', 'req.headers.cookie'];

export async function buildApp(deps: AppDeps, options: { logStream?: DestinationStream } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.config.logLevel, redact: REDACT, ...(options.logStream ? { stream: options.logStream } : {}) },
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && /^[\w-]{1,64}$/.test(req.headers['x-request-id'])
      ? req.headers['x-request-id'] : randomUUID()),
    requestIdHeader: false,
    bodyLimit: 20 * 1024 * 1024,
    trustProxy: process.env.TRUST_PROXY === 'true',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true }, plugins: [] },
  });
  app.decorate('deps', deps);
  app.addHook('onSend', async (request, reply) => { void reply.header('x-request-id', request.id); });
  app.addSchema(problemSchema);

  await app.register(problemsPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'sso-lifecycle', version: '1', description: 'Who may use the DLA information systems through its single sign-on.' },
      servers: [{ url: deps.config.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(rateLimit, { global: false });
  await app.register(multipart, {
    limits: { fileSize: MAX_DOCUMENT_BYTES, files: 5, fields: 5, parts: 12, fieldSize: 1024 * 1024 },
    throwFileSizeLimit: true,
  });
  await app.register(authPlugin);

  await app.register(healthRoutes);
  await app.register(async (api) => {
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
  }, { prefix: '/api/v1' });
  return app;
}
