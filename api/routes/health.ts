import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { answer } from '../schemas.ts';

const up = { type: 'string', enum: ['up', 'down'] } as const;
const readiness = answer({ status: { type: 'string', enum: ['ready', 'not ready'] }, database: up, temporal: up });

export default async function healthRoutes(app: FastifyInstance) {
  app.get(
    '/health/live',
    { config: { scope: 'public' }, schema: { tags: ['health'], response: { 200: answer({ status: { type: 'string', const: 'up' } }) } } },
    async () => ({ status: 'up' }),
  );

  app.get(
    '/health/ready',
    {
      config: { scope: 'public' },
      schema: { tags: ['health'], response: { 200: readiness, 503: { ...readiness, description: 'PostgreSQL or Temporal cannot be reached.' } } },
    },
    async (_request, reply) => {
      const { db, temporal } = app.deps;
      const check = async (fn: () => Promise<unknown>) =>
        fn().then(
          () => 'up' as const,
          () => 'down' as const,
        );
      const [database, temporalServer] = await Promise.all([check(() => db.execute(sql`select 1`)), check(() => temporal.workflowService.getSystemInfo({}))]);
      const ready = database === 'up' && temporalServer === 'up';
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, temporal: temporalServer });
    },
  );
}
