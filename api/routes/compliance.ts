// Compliance: which units have no active SSO admin (the 2023 letter asks every unit to appoint one),
// and who covers them meanwhile (the nearest unit above with an admin).
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { findActingUnit, subtreeSql } from '../../db/org-tree.ts';
import { accounts, orgUnits, unitAdmins, UNIT_KINDS } from '../../db/schema.ts';
import { forbidden, notFound } from '../../lib/problem.ts';
import { listQuery, readCursor, toPage, unitCode } from '../schemas.ts';

export default async function complianceRoutes(app: FastifyInstance) {
  const { db } = app.deps;

  app.get<{ Querystring: { under?: string; limit: number; cursor?: string } }>('/compliance/units-without-admin', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['compliance'], security: [{ bearer: [] }],
      description: 'Units at or below `under` (default: the units you administer) with no active SSO admin, with counts per level and the unit covering each.',
      querystring: { type: 'object', additionalProperties: false, properties: { under: unitCode, ...listQuery } },
    },
  }, async (request) => {
    const me = request.account!;
    const { under, limit } = request.query;
    if (under) {
      const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, under));
      if (!unit) throw notFound(`There is no unit ${under}.`);
      if (!(await app.mayActFor(me, under))) throw forbidden(`You do not administer ${under} or a unit above it.`);
    }
    const roots = under ? [under] : me.central
      ? (await db.select({ code: orgUnits.code }).from(orgUnits).where(isNull(orgUnits.parentCode))).map((u) => u.code)
      : me.adminUnits;
    if (roots.length === 0) return { under: under ?? null, total: 0, counts: {}, items: [], nextCursor: null };
    const units = await db.select({ code: orgUnits.code, parentCode: orgUnits.parentCode, kind: orgUnits.kind, nameTh: orgUnits.nameTh })
      .from(orgUnits).where(sql`${orgUnits.code} in ${subtreeSql(roots)}`);
    const staffed = new Set((await db.selectDistinct({ code: unitAdmins.unitCode }).from(unitAdmins)
      .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
      .where(and(eq(accounts.status, 'active'), sql`${unitAdmins.unitCode} in ${subtreeSql(roots)}`))).map((r) => r.code));
    const parentOf = new Map(units.map((u) => [u.code, u.parentCode]));
    // Who covers a unit: the nearest staffed unit above it (outside the subtree, ask the tree).
    const coverCache = new Map<string, string | null>();
    const coveredBy = async (code: string): Promise<string | null> => {
      const parent = parentOf.get(code);
      if (!parent) return null;
      if (coverCache.has(parent)) return coverCache.get(parent)!;
      const cover = staffed.has(parent) ? parent : parentOf.has(parent) ? await coveredBy(parent) : await findActingUnit(db, parent, false);
      coverCache.set(parent, cover);
      return cover;
    };
    const gaps = units.filter((u) => !staffed.has(u.code)).sort((a, b) => (a.code < b.code ? -1 : 1));
    const counts = Object.fromEntries(UNIT_KINDS.map((k) => [k, gaps.filter((u) => u.kind === k).length]).filter(([, n]) => n));
    const after = readCursor<{ code: string }>(request.query.cursor);
    const rest = after ? gaps.filter((u) => u.code > after.code) : gaps;
    const withCover = await Promise.all(rest.slice(0, limit + 1).map(async (u) => ({ ...u, coveredBy: await coveredBy(u.code) })));
    return { under: under ?? null, total: gaps.length, counts, ...toPage(withCover, limit, (u) => u, (last) => ({ code: last.code })) };
  });
}
