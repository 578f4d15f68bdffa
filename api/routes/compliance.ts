// Compliance: which units have no active SSO admin, and who covers them meanwhile (services/org-units.ts).
import type { FastifyInstance } from 'fastify';
import { unitsWithoutAdmin } from '../../services/org-units.ts';
import { problem } from '../responses.ts';
import { answer, listQuery, nullableText, pageOf, readCursor, text, toPage, unitCode } from '../schemas.ts';

export default async function complianceRoutes(app: FastifyInstance) {
  app.get<{ Querystring: { under?: string; limit: number; cursor?: string } }>(
    '/compliance/units-without-admin',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAdmin,
      schema: {
        tags: ['compliance'],
        security: [{ bearer: [] }],
        description:
          'Units at or below `under` (default: the units you administer) with no active SSO admin, with counts per level and the unit covering each.',
        querystring: { type: 'object', additionalProperties: false, properties: { under: unitCode, ...listQuery } },
        response: {
          200: answer({
            under: nullableText,
            total: { type: 'integer' },
            counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Units without an admin, per kind.' },
            ...pageOf(answer({ code: text, parentCode: nullableText, kind: text, nameTh: text, coveredBy: nullableText })).properties,
          }),
          404: problem('There is no unit `under`.'),
        },
      },
    },
    async (request) => {
      const { under, limit, cursor } = request.query;
      const after = readCursor<{ code: string }>(cursor, { code: 'string' })?.code;
      const gaps = await unitsWithoutAdmin(app.deps, request.account!, { under, limit: limit + 1, after });
      return {
        under: gaps.under,
        total: gaps.total,
        counts: gaps.counts,
        ...toPage(
          gaps.items,
          limit,
          (u) => u,
          (last) => ({ code: last.code }),
        ),
      };
    },
  );
}
