// The organisation tree and each unit's SSO admins (DLA central maintains both): services/org-units.ts.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../lib/problem.ts';
import { designateAdmins, putOrgUnits, showUnit, type UnitInput } from '../../services/org-units.ts';
import { orgUnitItem, unitCode } from '../schemas.ts';

export default async function orgUnitRoutes(app: FastifyInstance) {
  app.put<{ Body: UnitInput[] }>(
    '/org-units',
    {
      preValidation: app.requireCentralAdmin,
      bodyLimit: 20 * 1024 * 1024,
      schema: { tags: ['organisation'], security: [{ bearer: [] }], body: { type: 'array', minItems: 1, maxItems: 20_000, items: orgUnitItem } },
    },
    async (request) => putOrgUnits(app.deps, request.account!, request.body),
  );

  app.get<{ Params: { code: string } }>(
    '/org-units/:code',
    {
      schema: {
        tags: ['organisation'],
        params: { type: 'object', properties: { code: unitCode } },
        description: "The unit; its `admins` only for the unit's own accounts and the SSO admins of it or a unit above it (DLA central: every unit).",
      },
    },
    async (request) => {
      const view = await showUnit(app.deps, request.account, request.params.code);
      if (!view) throw notFound(`There is no unit ${request.params.code}.`);
      return view;
    },
  );

  app.put<{ Params: { code: string }; Body: { accountId: string }[] }>(
    '/org-units/:code/admins',
    {
      preValidation: [app.requireCentralAdmin, app.requireRecentSecondFactor],
      schema: {
        tags: ['organisation'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { code: unitCode } },
        body: {
          type: 'array',
          maxItems: 50,
          items: { type: 'object', required: ['accountId'], additionalProperties: false, properties: { accountId: { type: 'string', format: 'uuid' } } },
        },
      },
    },
    async (request) =>
      designateAdmins(
        app.deps,
        request.account!,
        request.params.code,
        request.body.map((a) => a.accountId),
      ),
  );
}
