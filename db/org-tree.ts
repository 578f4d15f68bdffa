// Questions about the organisation tree (DLA → provincial office → district office → LAO) that
// several flows ask: who administers a unit, which unit acts for it, what lies below an admin.
import { and, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { rowsOf, type Queryable } from './client.ts';
import { accounts, orgUnits, unitAdmins } from './schema.ts';

/** The unit and its ancestors, nearest first. */
export async function unitChain(db: Queryable, code: string): Promise<string[]> {
  const rows = await db.execute(sql`
    with recursive chain(code, parent_code, depth) as (
      select code, parent_code, 0 from org_units where code = ${code}
      union all
      select u.code, u.parent_code, c.depth + 1 from org_units u join chain c on u.code = c.parent_code
      where c.depth < 32
    ) select code from chain order by depth`);
  return rowsOf<{ code: string }>(rows).map((r) => r.code);
}

/** The units below any of `codes`, the units themselves included. */
export function subtreeSql(codes: string[]) {
  const list = sql.join(codes.map((c) => sql`${c}`), sql`, `);
  return sql`(
    with recursive sub(code, depth) as (
      select code, 0 from org_units where code in (${list})
      union all
      select u.code, s.depth + 1 from org_units u join sub s on u.parent_code = s.code where s.depth < 32
    ) select code from sub)`;
}

/** Active accounts designated as SSO admins of the unit; for the root of the tree, DLA central admins too. */
export async function activeAdminsOf(db: Queryable, unitCode: string, isRoot: boolean): Promise<{ id: string; email: string }[]> {
  const designated = await db.select({ id: accounts.id, email: accounts.email })
    .from(unitAdmins).innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(eq(unitAdmins.unitCode, unitCode), eq(accounts.status, 'active')));
  if (!isRoot) return designated;
  const central = await db.select({ id: accounts.id, email: accounts.email }).from(accounts)
    .where(and(eq(accounts.centralAdmin, true), eq(accounts.status, 'active')));
  const seen = new Set(designated.map((a) => a.id));
  return [...designated, ...central.filter((a) => !seen.has(a.id))];
}

/**
 * The unit whose admins must act for `unitCode`: the nearest unit, itself or above (strictly above when
 * `above`), that has an active admin. A unit with no admin is passed over; when nobody below has one the
 * root (DLA central) acts. Null when there is nowhere further up to go.
 */
export async function findActingUnit(db: Queryable, unitCode: string, above: boolean): Promise<string | null> {
  const chain = await unitChain(db, unitCode);
  const candidates = above ? chain.slice(1) : chain;
  if (candidates.length === 0) return null;
  const withAdmins = new Set((await db.selectDistinct({ unitCode: unitAdmins.unitCode })
    .from(unitAdmins).innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(inArray(unitAdmins.unitCode, candidates), eq(accounts.status, 'active')))).map((r) => r.unitCode));
  return candidates.find((c) => withAdmins.has(c)) ?? candidates[candidates.length - 1]!;
}

/** Units the account administers (active designations only). */
export async function unitsAdministeredBy(db: Queryable, accountId: string): Promise<string[]> {
  const rows = await db.select({ unitCode: unitAdmins.unitCode }).from(unitAdmins).where(eq(unitAdmins.accountId, accountId));
  return rows.map((r) => r.unitCode);
}

/** DLA central must keep at least one active admin: the bootstrap kind or an admin of the root unit. */
export async function wouldLeaveCentralWithoutAdmin(db: Queryable, leavingAccountId: string): Promise<boolean> {
  const isCentral = (accountId: string | null) => and(eq(accounts.status, 'active'),
    accountId ? eq(accounts.id, accountId) : ne(accounts.id, leavingAccountId),
    or(eq(accounts.centralAdmin, true), and(sql`${unitAdmins.unitCode} is not null`, isNull(orgUnits.parentCode))));
  const central = (accountId: string | null) => db.selectDistinct({ id: accounts.id }).from(accounts)
    .leftJoin(unitAdmins, eq(unitAdmins.accountId, accounts.id))
    .leftJoin(orgUnits, eq(orgUnits.code, unitAdmins.unitCode))
    .where(isCentral(accountId)).limit(1);
  if ((await central(leavingAccountId)).length === 0) return false; // not central: nothing to keep
  return (await central(null)).length === 0;
}
