// The organisation tree and each unit's SSO admins (DLA central maintains both).
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { actorOf, writeAudit } from '../../db/audit.ts';
import type { Db } from '../../db/client.ts';
import { accounts, orgUnits, UNIT_KINDS, unitAdmins, type UnitKind } from '../../db/schema.ts';
import { badRequest, notFound } from '../../lib/problem.ts';
import { unitCode } from '../schemas.ts';

interface UnitInput { code: string; parentCode: string | null; kind: UnitKind; nameTh: string; nameEn?: string | null }

export async function unitView(db: Db, code: string) {
  const [unit] = await db.select().from(orgUnits).where(eq(orgUnits.code, code));
  if (!unit) return undefined;
  const admins = await db.select({ accountId: unitAdmins.accountId, username: accounts.username, since: unitAdmins.since })
    .from(unitAdmins).innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(eq(unitAdmins.unitCode, code), eq(accounts.status, 'active')));
  return {
    code: unit.code, parentCode: unit.parentCode, kind: unit.kind, nameTh: unit.nameTh, nameEn: unit.nameEn,
    admins: admins.map((a) => ({ ...a, since: a.since.toISOString() })),
  };
}

export default async function orgUnitRoutes(app: FastifyInstance) {
  const { db } = app.deps;

  app.put<{ Body: UnitInput[] }>('/org-units', {
    preValidation: app.requireCentralAdmin,
    bodyLimit: 20 * 1024 * 1024,
    schema: {
      tags: ['organisation'], security: [{ bearer: [] }],
      body: {
        type: 'array', minItems: 1, maxItems: 20_000,
        items: {
          type: 'object', required: ['code', 'kind', 'nameTh'], additionalProperties: false,
          properties: {
            code: unitCode, parentCode: { anyOf: [unitCode, { type: 'null' }] }, kind: { type: 'string', enum: [...UNIT_KINDS] },
            nameTh: { type: 'string', minLength: 1, maxLength: 200 }, nameEn: { type: ['string', 'null'], maxLength: 200 },
          },
        },
      },
    },
  }, async (request) => {
    const units = request.body;
    const inBatch = new Map(units.map((u) => [u.code, u]));
    if (inBatch.size !== units.length) throw badRequest('A unit code appears twice in the list.');
    const parents = [...new Set(units.map((u) => u.parentCode).filter((p): p is string => !!p && !inBatch.has(p)))];
    const known = new Set(parents.length === 0 ? [] : (await db.select({ code: orgUnits.code }).from(orgUnits)
      .where(inArray(orgUnits.code, parents))).map((u) => u.code));
    const errors = units.flatMap((u, i) => {
      if (u.parentCode === u.code) return [{ path: `${i}.parentCode`, message: `${u.code} cannot be its own parent` }];
      if (u.parentCode && !inBatch.has(u.parentCode) && !known.has(u.parentCode)) {
        return [{ path: `${i}.parentCode`, message: `${u.code}: parent unit ${u.parentCode} does not exist` }];
      }
      return [];
    });
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).slice(0, 5).join('; '), errors);
    await db.transaction(async (tx) => {
      for (let i = 0; i < units.length; i += 1000) {
        const chunk = units.slice(i, i + 1000).map((u) => ({ code: u.code, parentCode: u.parentCode ?? null, kind: u.kind, nameTh: u.nameTh, nameEn: u.nameEn ?? null }));
        await tx.insert(orgUnits).values(chunk).onConflictDoUpdate({
          target: orgUnits.code,
          set: { parentCode: sqlExcluded('parent_code'), kind: sqlExcluded('kind'), nameTh: sqlExcluded('name_th'), nameEn: sqlExcluded('name_en'), updatedAt: new Date() },
        });
      }
      await writeAudit(tx, {
        key: `org-units:${request.id}`, actorAccountId: request.account!.id, actor: actorOf(request.account!.id),
        action: 'org_units.upserted', subjectType: 'org_units', subjectId: units.length === 1 ? units[0]!.code : `${units.length} units`,
        after: { codes: units.slice(0, 100).map((u) => u.code), count: units.length },
      });
    });
    return { upserted: units.length };
  });

  app.get<{ Params: { code: string } }>('/org-units/:code', {
    schema: { tags: ['organisation'], params: { type: 'object', properties: { code: unitCode } } },
  }, async (request) => {
    const view = await unitView(db, request.params.code);
    if (!view) throw notFound(`There is no unit ${request.params.code}.`);
    return view;
  });

  app.put<{ Params: { code: string }; Body: { accountId: string }[] }>('/org-units/:code/admins', {
    preValidation: app.requireCentralAdmin,
    schema: {
      tags: ['organisation'], security: [{ bearer: [] }],
      params: { type: 'object', properties: { code: unitCode } },
      body: {
        type: 'array', maxItems: 50,
        items: { type: 'object', required: ['accountId'], additionalProperties: false, properties: { accountId: { type: 'string', format: 'uuid' } } },
      },
    },
  }, async (request) => {
    const { code } = request.params;
    const before = await unitView(db, code);
    if (!before) throw notFound(`There is no unit ${code}.`);
    const ids = [...new Set(request.body.map((a) => a.accountId))];
    const found = ids.length === 0 ? [] : await db.select({ id: accounts.id, status: accounts.status }).from(accounts).where(inArray(accounts.id, ids));
    const errors = ids.flatMap((id, i) => {
      const account = found.find((a) => a.id === id);
      if (!account) return [{ path: `${i}.accountId`, message: `account ${id} does not exist` }];
      if (account.status !== 'active') return [{ path: `${i}.accountId`, message: `account ${id} is ${account.status}` }];
      return [];
    });
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
    await db.transaction(async (tx) => {
      await tx.delete(unitAdmins).where(eq(unitAdmins.unitCode, code));
      if (ids.length > 0) await tx.insert(unitAdmins).values(ids.map((accountId) => ({ unitCode: code, accountId, source: 'designation' as const })));
      await writeAudit(tx, {
        key: `unit-admins:${code}:${request.id}`, actorAccountId: request.account!.id, actor: actorOf(request.account!.id),
        action: 'unit_admins.designated', subjectType: 'org_unit', subjectId: code, unitCode: code,
        reason: 'direct designation', before: { admins: before.admins.map((a) => a.accountId) }, after: { admins: ids },
      });
    });
    return unitView(db, code);
  });
}

/** The value an upsert proposed, for ON CONFLICT DO UPDATE. */
const sqlExcluded = (column: string) => sql.raw(`excluded.${column}`);
