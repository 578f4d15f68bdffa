// The audit trail, for admins: what happened in the units they administer (services/audit.ts).
import type { FastifyInstance } from 'fastify';
import { listAuditEvents } from '../../services/audit.ts';
import { answer, listQuery, nullableText, pageOf, readCursor, text, time, toPage, unitCode } from '../schemas.ts';

interface AuditQuery {
  unitCode?: string;
  accountId?: string;
  since?: string;
  limit: number;
  cursor?: string;
}

export default async function auditRoutes(app: FastifyInstance) {
  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['audit'],
        security: [{ bearer: [] }],
        description: 'Newest first. `unitCode` narrows to that unit and the units below it; `accountId` to events by or about that account.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { unitCode, accountId: { type: 'string', format: 'uuid' }, since: { type: 'string', format: 'date-time' }, ...listQuery },
        },
        response: {
          200: pageOf(
            answer({
              id: { type: 'integer' },
              at: time,
              actor: text,
              actorAccountId: { type: ['string', 'null'], format: 'uuid' },
              action: text,
              subjectType: text,
              subjectId: text,
              unitCode: nullableText,
              reason: nullableText,
              before: { description: 'The subject before the change (any JSON), or null.' },
              after: { description: 'The subject after the change (any JSON), or null.' },
              hash: text,
            }),
          ),
        },
      },
    },
    async (request) => {
      const { unitCode: unit, accountId, since, limit, cursor } = request.query;
      const rows = await listAuditEvents(app.deps, request.account!, {
        unitCode: unit,
        accountId,
        since,
        limit,
        before: readCursor<{ id: number }>(cursor, { id: 'integer' }),
      });
      return toPage(
        rows,
        limit,
        (e) => e,
        (last) => ({ id: last.id }),
      );
    },
  );
}
