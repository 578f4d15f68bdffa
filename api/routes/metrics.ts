// GET /metrics (Prometheus): requests by route and status with their latency, counted by a hook on
// every route of the application, and what waits, read from the database at scrape time. Not for
// the public: the reverse proxy does not pass it on (ops/Caddyfile); Prometheus scrapes the
// container directly.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { METRICS_CONTENT_TYPE, createApiMetrics } from '../../lib/metrics.ts';
import { page } from '../scope.ts';

async function metricsRoutes(app: FastifyInstance) {
  const metrics = createApiMetrics(app.deps.db);
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern; requests that matched none share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', page('operator'), async (_request, reply) => reply.type(METRICS_CONTENT_TYPE).send(await metrics.render()));
}

// Not encapsulated: the hook sees every route of the application.
export default fp(metricsRoutes, { name: 'metrics' });
