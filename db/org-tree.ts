// The one model of the organisation tree (DLA → provincial office → district office → LAO) and the
// rules every flow asks of it: which unit acts for a unit (the nearest with an SSO admin, else the
// root), who is DLA central, who may act for a unit, what lies below an admin. Each rule is written
// once here, in SQL for one request or over the tree loaded in memory for a whole-tree job.
import { and, eq, inArray, ne, or, sql, type SQL } from 'drizzle-orm';
import { qualified, rowsOf, type Queryable } from './client.ts';
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
  const list = sql.join(
    codes.map((c) => sql`${c}`),
    sql`, `,
  );
  return sql`(
    with recursive sub(code, depth) as (
      select code, 0 from org_units where code in (${list})
      union all
      select u.code, s.depth + 1 from org_units u join sub s on u.parent_code = s.code where s.depth < 32
    ) select code from sub)`;
}

/** The rule of every escalation: in `chain` (a unit and its ancestors, nearest first), the first unit with an admin, else the top. */
export function nearestStaffed(chain: readonly string[], staffed: (code: string) => boolean): string | null {
  if (chain.length === 0) return null;
  return chain.find(staffed) ?? chain[chain.length - 1]!;
}

/** Units with an active SSO admin, among `codes` (all units when omitted). */
export async function staffedUnits(db: Queryable, codes?: string[]): Promise<Set<string>> {
  const rows = await db
    .selectDistinct({ unitCode: unitAdmins.unitCode })
    .from(unitAdmins)
    .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(eq(accounts.status, 'active'), codes ? inArray(unitAdmins.unitCode, codes) : undefined));
  return new Set(rows.map((r) => r.unitCode));
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
  const staffed = await staffedUnits(db, candidates);
  return nearestStaffed(candidates, (c) => staffed.has(c));
}

export interface OrgTree {
  units: { code: string; parentCode: string | null }[];
  parentOf: Map<string, string | null>;
  /** The unit and its ancestors, nearest first. */
  chain(code: string): string[];
  /** The unit that acts for `code`: itself or the nearest above with an admin, else the root. */
  acting(code: string): string;
  /** The unit that acts above `code` (for an admin's own affairs, or an escalation); the unit itself at the root. */
  above(code: string): string;
  /** The unit's children. */
  childrenOf(code: string): string[];
}

/** The whole tree in memory (≈ 9,000 units) with its staffed units, for jobs over the whole country. */
export async function loadOrgTree(db: Queryable): Promise<OrgTree> {
  const units = await db.select({ code: orgUnits.code, parentCode: orgUnits.parentCode }).from(orgUnits);
  const staffed = await staffedUnits(db);
  const parentOf = new Map(units.map((u) => [u.code, u.parentCode]));
  const children = new Map<string, string[]>();
  for (const u of units) if (u.parentCode) children.set(u.parentCode, [...(children.get(u.parentCode) ?? []), u.code]);
  const chain = (code: string): string[] => {
    const out: string[] = [];
    for (let at: string | null | undefined = code; at && out.length < 32; at = parentOf.get(at)) out.push(at);
    return out;
  };
  const acting = (code: string) => nearestStaffed(chain(code), (c) => staffed.has(c)) ?? code;
  return {
    units,
    parentOf,
    chain,
    acting,
    above: (code) => {
      const parent = parentOf.get(code);
      return parent ? acting(parent) : code;
    },
    childrenOf: (code) => children.get(code) ?? [],
  };
}

/** DLA central: an account flagged central (the bootstrap admin) or an admin of a root unit. */
function isCentralSql(): SQL {
  return or(
    eq(accounts.centralAdmin, true),
    sql`exists (select 1 from ${unitAdmins} ua join ${orgUnits} ou on ou.code = ua.unit_code
    where ua.account_id = ${qualified(accounts.id)} and ou.parent_code is null)`,
  )!;
}

/** Active DLA central admins. */
export async function centralAdmins(db: Queryable): Promise<{ id: string; email: string }[]> {
  return db
    .select({ id: accounts.id, email: accounts.email })
    .from(accounts)
    .where(and(eq(accounts.status, 'active'), isCentralSql()));
}

/** Active accounts designated as SSO admins of the unit; for the root of the tree, DLA central admins too. */
export async function activeAdminsOf(db: Queryable, unitCode: string, isRoot: boolean): Promise<{ id: string; email: string }[]> {
  const designated = await db
    .select({ id: accounts.id, email: accounts.email })
    .from(unitAdmins)
    .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(eq(unitAdmins.unitCode, unitCode), eq(accounts.status, 'active')));
  if (!isRoot) return designated;
  const seen = new Set(designated.map((a) => a.id));
  return [...designated, ...(await centralAdmins(db)).filter((a) => !seen.has(a.id))];
}

/** What an account may administer: the units it is SSO admin of, and whether it is DLA central. */
export interface AdminScope {
  adminUnits: string[];
  central: boolean;
}

/**
 * An account row's admin scope as columns of the same statement (`select(...).from(accounts)`):
 * reading who someone is and what they administer is one round trip on every request.
 */
export function adminScopeColumns() {
  return {
    adminUnits: sql<
      string[]
    >`coalesce((select array_agg(ua.unit_code order by ua.unit_code) from ${unitAdmins} ua where ua.account_id = ${qualified(accounts.id)}), '{}')`,
    central: sql<boolean>`${isCentralSql()}`.mapWith(Boolean),
  };
}

/** May this scope act for `unitCode`: DLA central everywhere, an admin for their units and every unit below. */
export async function mayActFor(db: Queryable, scope: AdminScope, unitCode: string): Promise<boolean> {
  if (scope.central) return true;
  if (scope.adminUnits.length === 0) return false;
  const chain = await unitChain(db, unitCode);
  return chain.some((code) => scope.adminUnits.includes(code));
}

/** The admin's units as SQL: `column in (subtree)`, nothing to filter for DLA central. */
export function withinScopeSql(scope: AdminScope, column: SQL | { getSQL(): SQL }): SQL | undefined {
  if (scope.central) return undefined;
  return scope.adminUnits.length > 0 ? sql`${column} in ${subtreeSql(scope.adminUnits)}` : sql`false`;
}

/** DLA central must keep at least one active admin: the bootstrap kind or an admin of the root unit. */
export async function wouldLeaveCentralWithoutAdmin(db: Queryable, leavingAccountId: string): Promise<boolean> {
  const central = (only: SQL) =>
    db
      .select({ id: accounts.id })
      .from(accounts)
      .where(and(eq(accounts.status, 'active'), only, isCentralSql()))
      .limit(1);
  if ((await central(eq(accounts.id, leavingAccountId))).length === 0) return false; // not central: nothing to keep
  return (await central(ne(accounts.id, leavingAccountId))).length === 0;
}

// Compliance (appointments flow): the units without an active SSO admin, and who covers each.

export interface AdminGap {
  code: string;
  parentCode: string | null;
  kind: string;
  nameTh: string;
  coveredBy: string | null;
}

/**
 * The units without an active SSO admin at or below `roots` (everywhere when omitted), by code, each
 * with the unit covering it: the one that acts above it (`OrgTree.above`); null for a root.
 */
export async function adminGaps(db: Queryable, roots?: string[]): Promise<AdminGap[]> {
  const tree = await loadOrgTree(db);
  const staffed = await staffedUnits(db);
  const units = await db
    .select({ code: orgUnits.code, parentCode: orgUnits.parentCode, kind: orgUnits.kind, nameTh: orgUnits.nameTh })
    .from(orgUnits)
    .where(roots ? sql`${orgUnits.code} in ${subtreeSql(roots)}` : undefined);
  return units
    .filter((u) => !staffed.has(u.code))
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
    .map((u) => ({ ...u, coveredBy: u.parentCode ? tree.above(u.code) : null }));
}

// Access review campaigns (access-review-campaign flow): a campaign fans out over parts of its
// scope, the scope unit's children (the provinces under DLA, the districts under a province) and the
// scope unit itself, so that each call is of bounded size.

/** The parts of a campaign over `scopeUnitCode`: the scope unit first, then its children. */
export function campaignParts(tree: OrgTree, scopeUnitCode: string): string[] {
  return [scopeUnitCode, ...tree.childrenOf(scopeUnitCode)];
}

/**
 * `column in part` as SQL: a child's part is its subtree; the scope unit's part is whatever lies
 * outside its children's subtrees (itself, and units above it that items escalated to).
 */
export async function campaignPartSql(db: Queryable, scopeUnitCode: string, partUnitCode: string, column: SQL | { getSQL(): SQL }): Promise<SQL> {
  if (partUnitCode !== scopeUnitCode) return sql`${column} in ${subtreeSql([partUnitCode])}`;
  const children = (await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.parentCode, scopeUnitCode))).map((u) => u.code);
  return children.length > 0 ? sql`${column} not in ${subtreeSql(children)}` : sql`true`;
}

/** The active DLA central admins among `accountIds`. */
export async function centralAmong(db: Queryable, accountIds: string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const rows = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(inArray(accounts.id, accountIds), eq(accounts.status, 'active'), isCentralSql()));
  return new Set(rows.map((r) => r.id));
}
