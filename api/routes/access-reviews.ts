// Access reviews (การทบทวนสิทธิ์): reviewers see the items of their units and decide keep or revoke,
// in bulk; each decision takes effect at once (services/access-reviews.ts).
import type { FastifyInstance } from 'fastify';
import { decideReviewItems, listReviewItems, viewReview, type ReviewDecision } from '../../services/access-reviews.ts';
import { problem } from '../responses.ts';
import { answer, listQuery, nullableText, nullableTime, pageOf, readCursor, text, time, toPage, unitCode, uuid, uuidParam } from '../schemas.ts';

const noSuchReview = problem('There is no such access review.');
const count = { type: 'integer' } as const;

export default async function accessReviewRoutes(app: FastifyInstance) {
  app.get<{ Params: { id: string } }>(
    '/access-reviews/:id',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        response: {
          200: answer({
            id: uuid,
            kind: { type: 'string', enum: ['campaign', 'person'] },
            name: text,
            status: { type: 'string', enum: ['running', 'completed', 'cancelled'] },
            scopeUnitCode: text,
            subjectAccountId: { type: ['string', 'null'], format: 'uuid' },
            cause: nullableText,
            onNoDecision: { type: 'string', enum: ['revoke', 'suspend', 'keep'] },
            dueAt: time,
            completedAt: nullableTime,
            totals: answer({ items: count, decided: count, kept: count, revoked: count, autoApplied: count }),
          }),
          404: noSuchReview,
        },
      },
    },
    async (request) => viewReview(app.deps, request.account!, request.params.id),
  );

  app.get<{ Params: { id: string }; Querystring: { unitCode?: string; decided?: boolean; limit: number; cursor?: string } }>(
    '/access-reviews/:id/items',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        querystring: { type: 'object', additionalProperties: false, properties: { unitCode, decided: { type: 'boolean' }, ...listQuery } },
        response: {
          200: pageOf(
            answer({
              id: uuid,
              accountId: uuid,
              username: text,
              system: text,
              role: text,
              unitCode: text,
              reviewerUnitCode: text,
              decision: { type: ['string', 'null'], enum: ['keep', 'revoke', null] },
              decidedBy: nullableText,
              decidedAt: nullableTime,
              justification: nullableText,
              autoApplied: { type: 'boolean' },
              moveToUnitCode: nullableText,
            }),
          ),
          404: noSuchReview,
        },
      },
    },
    async (request) => {
      const { unitCode: unit, decided, limit, cursor } = request.query;
      const rows = await listReviewItems(app.deps, request.account!, request.params.id, {
        unitCode: unit,
        decided,
        limit,
        after: readCursor<{ id: string }>(cursor, { id: 'uuid' }),
      });
      return toPage(
        rows,
        limit,
        (item) => item,
        (last) => ({ id: last.id }),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: { decisions: ReviewDecision[] } }>(
    '/access-reviews/:id/decisions',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['access reviews'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        body: {
          type: 'object',
          required: ['decisions'],
          additionalProperties: false,
          properties: {
            decisions: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['itemId', 'decision'],
                additionalProperties: false,
                properties: {
                  itemId: { type: 'string', format: 'uuid' },
                  decision: { type: 'string', enum: ['keep', 'revoke'] },
                  justification: { type: 'string', minLength: 1, maxLength: 2000 },
                },
              },
            },
          },
        },
        response: {
          200: answer({ applied: count, rejected: { type: 'array', items: answer({ itemId: text, reason: text }) } }),
          404: noSuchReview,
          409: problem('The review is no longer running.'),
        },
      },
    },
    async (request) => decideReviewItems(app.deps, request.account!, request.params.id, request.body.decisions, request.log),
  );
}
