// Access review campaigns: started by DLA central or a provincial office over a subtree, by hand or
// on a schedule; cancelled; reported per unit as JSON or CSV (services/access-reviews.ts).
import type { FastifyInstance } from 'fastify';
import { REVIEW_RULES } from '../../db/schema.ts';
import { csvStream } from '../../lib/csv.ts';
import {
  campaignReport,
  cancelCampaign,
  deleteReviewSchedule,
  listReviewSchedules,
  setReviewSchedule,
  startCampaign,
  type CampaignInput,
  type ScheduleInput,
} from '../../services/access-reviews.ts';
import { unitCode, uuidParam } from '../schemas.ts';

export default async function accessReviewCampaignRoutes(app: FastifyInstance) {
  const rule = { type: 'string', enum: [...REVIEW_RULES] } as const;

  app.post<{ Body: CampaignInput }>(
    '/access-reviews',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['name', 'scopeUnitCode', 'onNoDecision'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            scopeUnitCode: unitCode,
            onNoDecision: rule,
            durationDays: { type: 'integer', minimum: 1, maximum: 365 },
            dueAt: { type: 'string', format: 'date-time', christianEra: true },
          },
        },
      },
    },
    async (request, reply) => reply.status(202).send(await startCampaign(app.deps, request.account!, request.body, request.log)),
  );

  app.post<{ Params: { id: string } }>(
    '/access-reviews/:id/cancel',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: uuidParam('id') },
    },
    async (request) => cancelCampaign(app.deps, request.account!, request.params.id, request.log),
  );

  app.get<{ Params: { id: string } }>(
    '/access-reviews/:id/report',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        description: 'Totals per unit and who decided what; `Accept: text/csv` for CSV.',
      },
    },
    async (request, reply) => {
      const report = await campaignReport(app.deps, request.account!, request.params.id, (request.headers.accept ?? '').includes('text/csv') ? 'csv' : 'json');
      if (report.format === 'json') return report.report;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${report.fileName}"`)
        .send(csvStream(report.columns, report.rows, (row) => report.columns.map((c) => row[c])));
    },
  );

  app.put<{ Params: { name: string }; Body: ScheduleInput }>(
    '/access-review-schedules/:name',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } } },
        body: {
          type: 'object',
          required: ['cron', 'scopeUnitCode', 'durationDays', 'onNoDecision'],
          additionalProperties: false,
          properties: {
            cron: { type: 'string', minLength: 9, maxLength: 100 },
            scopeUnitCode: unitCode,
            durationDays: { type: 'integer', minimum: 1, maximum: 365 },
            onNoDecision: rule,
          },
        },
      },
    },
    async (request) => setReviewSchedule(app.deps, request.account!, request.params.name, request.body),
  );

  app.get(
    '/access-review-schedules',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: { tags: ['access reviews'], security: [{ bearer: [] }] },
    },
    async (request) => ({ items: await listReviewSchedules(app.deps, request.account!), nextCursor: null }),
  );

  app.delete<{ Params: { name: string } }>(
    '/access-review-schedules/:name',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: { tags: ['access reviews'], security: [{ bearer: [] }], params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } } },
    },
    async (request) => deleteReviewSchedule(app.deps, request.account!, request.params.name),
  );
}
