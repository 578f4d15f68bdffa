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
import { problem } from '../responses.ts';
import { answer, nullableText, nullableTime, text, time, unitCode, uuid, uuidParam } from '../schemas.ts';

const noSuchCampaign = problem('There is no such campaign.');
const rules = { type: 'string', enum: [...REVIEW_RULES] } as const;
const schedule = { name: text, cron: text, scopeUnitCode: text, durationDays: { type: 'integer' }, onNoDecision: rules } as const;
const scheduleUnreachable = problem('Temporal (which keeps the schedules) cannot be reached just now; Retry-After says when to try again.');

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
        response: { 202: answer({ id: uuid }), 404: problem('There is no unit `scopeUnitCode`.') },
      },
    },
    async (request, reply) => reply.status(202).send(await startCampaign(app.deps, request.account!, request.body, request.log)),
  );

  app.post<{ Params: { id: string } }>(
    '/access-reviews/:id/cancel',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        response: {
          200: answer({ id: uuid, status: { type: 'string', const: 'cancelled' } }),
          404: noSuchCampaign,
          409: problem('The campaign is no longer running.'),
        },
      },
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
        response: {
          200: {
            description: 'The report, as JSON or (`Accept: text/csv`) as CSV.',
            content: {
              'application/json': {
                schema: answer({
                  id: uuid,
                  name: text,
                  status: { type: 'string', enum: ['running', 'completed', 'cancelled'] },
                  dueAt: time,
                  onNoDecision: rules,
                  units: {
                    type: 'array',
                    items: answer({
                      unitCode: text,
                      items: { type: 'integer' },
                      decided: { type: 'integer' },
                      kept: { type: 'integer' },
                      revoked: { type: 'integer' },
                      autoApplied: { type: 'integer' },
                    }),
                  },
                  decisions: {
                    type: 'array',
                    items: answer({
                      unitCode: text,
                      username: text,
                      system: text,
                      role: text,
                      decision: { type: 'string', description: 'keep, revoke, rule:<onNoDecision> when the rule settled it, or empty' },
                      decidedBy: text,
                      decidedAt: text,
                      justification: text,
                      flagged: { type: 'boolean' },
                    }),
                  },
                }),
              },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          404: problem('There is no such access review.'),
        },
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
        response: { 200: answer(schedule), 404: problem('There is no unit `scopeUnitCode`.'), 503: scheduleUnreachable },
      },
    },
    async (request) => setReviewSchedule(app.deps, request.account!, request.params.name, request.body),
  );

  app.get(
    '/access-review-schedules',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        response: {
          200: answer({ items: { type: 'array', items: answer({ ...schedule, nextRunAt: nullableTime }) }, nextCursor: nullableText }),
          503: scheduleUnreachable,
        },
      },
    },
    async (request) => ({ items: await listReviewSchedules(app.deps, request.account!), nextCursor: null }),
  );

  app.delete<{ Params: { name: string } }>(
    '/access-review-schedules/:name',
    {
      config: { scope: 'campaign-runner' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } },
        response: {
          200: answer({ name: text, deleted: { type: 'boolean', const: true } }),
          404: problem('There is no such schedule.'),
          503: scheduleUnreachable,
        },
      },
    },
    async (request) => deleteReviewSchedule(app.deps, request.account!, request.params.name),
  );
}
