// The organisation tree and each unit's SSO admins (DLA central maintains both): services/org-units.ts.
import type { FastifyInstance } from 'fastify';
import { UNIT_KINDS } from '../../db/schema.ts';
import { notFound } from '../../lib/problem.ts';
import { designateAdmins, putOrgUnits, showUnit, type UnitInput } from '../../services/org-units.ts';
import { problem } from '../responses.ts';
import { answer, nullableText, orgUnitItem, text, time, unitCode, uuid } from '../schemas.ts';

const unitView = {
  type: 'object',
  required: ['code', 'parentCode', 'kind', 'nameTh', 'nameEn', 'dopaCode'],
  properties: {
    code: text,
    parentCode: nullableText,
    kind: { type: 'string', enum: [...UNIT_KINDS] },
    nameTh: text,
    nameEn: nullableText,
    dopaCode: nullableText,
    admins: { type: 'array', items: answer({ accountId: uuid, username: text, since: time }) },
  },
} as const;
const noSuchUnit = problem('There is no such unit.');

export default async function orgUnitRoutes(app: FastifyInstance) {
  app.put<{ Body: UnitInput[] }>(
    '/org-units',
    {
      config: { scope: 'central' },
      preValidation: app.requireCentralAdmin,
      bodyLimit: 20 * 1024 * 1024,
      schema: {
        tags: ['organisation'],
        security: [{ bearer: [] }],
        body: { type: 'array', minItems: 1, maxItems: 20_000, items: orgUnitItem },
        response: { 200: answer({ upserted: { type: 'integer' } }) },
      },
    },
    async (request) => putOrgUnits(app.deps, request.account!, request.body),
  );

  app.get<{ Params: { code: string } }>(
    '/org-units/:code',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['organisation'],
        params: { type: 'object', properties: { code: unitCode } },
        description: "The unit; its `admins` only for the unit's own accounts and the SSO admins of it or a unit above it (DLA central: every unit).",
        response: { 200: unitView, 404: noSuchUnit },
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
      config: { scope: 'central' },
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
        response: { 200: { ...unitView, required: [...unitView.required, 'admins'] }, 404: noSuchUnit },
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
