// The organisation tree and each unit's SSO admins: DLA central maintains both; every admin browses
// the units in their scope and sees which have no admin (the 2023 letter asks every unit to appoint one).
import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import { actorOf, writeAudit } from '../db/audit.ts';
import { adminGaps, mayActFor, type AdminGap } from '../db/org-tree.ts';
import { accounts, adminAppointments, orgUnits, UNIT_KINDS, unitAdmins, type UnitKind } from '../db/schema.ts';
import { badRequest, forbidden, notFound, type FieldError } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';

export interface UnitInput {
  code: string;
  parentCode?: string | null | undefined;
  kind: UnitKind;
  nameTh: string;
  nameEn?: string | null | undefined;
}

const requireCentral = (actor: Actor) => {
  if (!actor.central) throw forbidden('Only DLA central admins may do this.');
};

/** Who sees a unit's people (its SSO admins, its staff): its own accounts, and the admins of it or a unit above it. */
async function seesPeopleOf(deps: ServiceDeps, actor: Actor | null | undefined, code: string): Promise<boolean> {
  return !!actor && (actor.unitCode === code || (await mayActFor(deps.db, actor, code)));
}

/**
 * The unit for any caller, signed in or not; its SSO admins (who they are, by username) only for those
 * who see the unit's people. Undefined when there is no such unit.
 */
export async function showUnit(deps: ServiceDeps, actor: Actor | null | undefined, code: string) {
  const view = await viewUnit(deps, code);
  if (!view || (await seesPeopleOf(deps, actor, code))) return view;
  const { code: c, parentCode, kind, nameTh, nameEn, dopaCode } = view;
  return { code: c, parentCode, kind, nameTh, nameEn, dopaCode };
}

/** The unit with its active SSO admins, or undefined when there is no such unit. */
export async function viewUnit(deps: ServiceDeps, code: string) {
  const { db } = deps;
  const [unit] = await db.select().from(orgUnits).where(eq(orgUnits.code, code));
  if (!unit) return undefined;
  const admins = await db
    .select({ accountId: unitAdmins.accountId, username: accounts.username, since: unitAdmins.since })
    .from(unitAdmins)
    .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .where(and(eq(unitAdmins.unitCode, code), eq(accounts.status, 'active')));
  return {
    code: unit.code,
    parentCode: unit.parentCode,
    kind: unit.kind,
    nameTh: unit.nameTh,
    nameEn: unit.nameEn,
    dopaCode: unit.dopaCode,
    admins: admins.map((a) => ({ ...a, since: a.since.toISOString() })),
  };
}

/**
 * What a batch of units would do to the tree, before anything is written: a code given twice, a unit
 * its own parent, a parent that is neither in the batch nor known, a loop, a root that is not DLA central. Errors are per row (`<index>.<field>`).
 */
export async function checkOrgUnits(deps: ServiceDeps, actor: Actor, units: UnitInput[]): Promise<FieldError[]> {
  requireCentral(actor);
  const errors: FieldError[] = [];
  const firstRow = new Map<string, number>();
  units.forEach((u, i) => {
    if (firstRow.has(u.code)) errors.push({ path: `${i}.code`, message: `${u.code} appears twice in the list (row ${firstRow.get(u.code)! + 1})` });
    else firstRow.set(u.code, i);
  });
  const known = new Map((await deps.db.select({ code: orgUnits.code, parentCode: orgUnits.parentCode }).from(orgUnits)).map((u) => [u.code, u.parentCode]));
  const parentOf = new Map(known);
  for (const u of units) parentOf.set(u.code, u.parentCode ?? null);
  units.forEach((u, i) => {
    // A unit without a parent is a root, and a root's admins are DLA central: only the department itself is one.
    if (!u.parentCode) {
      if (u.kind !== 'dla') errors.push({ path: `${i}.parentCode`, message: `${u.code}: only DLA central (kind dla) has no parent unit; give its parent` });
      return;
    }
    if (u.parentCode === u.code) errors.push({ path: `${i}.parentCode`, message: `${u.code} cannot be its own parent` });
    else if (!firstRow.has(u.parentCode) && !known.has(u.parentCode))
      errors.push({ path: `${i}.parentCode`, message: `${u.code}: parent unit ${u.parentCode} does not exist` });
    else {
      // Walk up: coming back to the unit is a loop; the tree is at most a few levels deep.
      const seen = new Set([u.code]);
      for (let at = parentOf.get(u.code); at; at = parentOf.get(at)) {
        if (seen.has(at)) {
          errors.push({ path: `${i}.parentCode`, message: `${u.code}: parent ${u.parentCode} would make a loop` });
          break;
        }
        seen.add(at);
      }
    }
  });
  return errors;
}

/** Creates or updates units in one transaction, audited; the whole batch or nothing. */
export async function putOrgUnits(deps: ServiceDeps, actor: Actor, units: UnitInput[]): Promise<{ upserted: number }> {
  requireCentral(actor);
  const errors = await checkOrgUnits(deps, actor, units);
  if (errors.length > 0)
    throw badRequest(
      errors
        .map((e) => e.message)
        .slice(0, 5)
        .join('; '),
      errors,
    );
  await deps.db.transaction(async (tx) => {
    for (let i = 0; i < units.length; i += 1000) {
      const chunk = units
        .slice(i, i + 1000)
        .map((u) => ({ code: u.code, parentCode: u.parentCode ?? null, kind: u.kind, nameTh: u.nameTh, nameEn: u.nameEn ?? null }));
      await tx
        .insert(orgUnits)
        .values(chunk)
        .onConflictDoUpdate({
          target: orgUnits.code,
          set: {
            parentCode: sqlExcluded('parent_code'),
            kind: sqlExcluded('kind'),
            nameTh: sqlExcluded('name_th'),
            nameEn: sqlExcluded('name_en'),
            updatedAt: new Date(),
          },
        });
    }
    await writeAudit(tx, {
      key: `org-units:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'org_units.upserted',
      subjectType: 'org_units',
      subjectId: units.length === 1 ? units[0]!.code : `${units.length} units`,
      after: { codes: units.slice(0, 100).map((u) => u.code), count: units.length },
    });
  });
  return { upserted: units.length };
}

/** Designates the unit's SSO admins directly (migration, bootstrap), replacing the list; audited. */
export async function designateAdmins(deps: ServiceDeps, actor: Actor, code: string, accountIds: string[]) {
  requireCentral(actor);
  const { db } = deps;
  const before = await viewUnit(deps, code);
  if (!before) throw notFound(`There is no unit ${code}.`);
  const ids = [...new Set(accountIds)];
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
      key: `unit-admins:${code}:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'unit_admins.designated',
      subjectType: 'org_unit',
      subjectId: code,
      unitCode: code,
      reason: 'direct designation',
      before: { admins: before.admins.map((a) => a.accountId) },
      after: { admins: ids },
    });
  });
  return (await viewUnit(deps, code))!;
}

export interface AdminGaps {
  under: string | null;
  total: number;
  counts: Partial<Record<UnitKind, number>>;
  items: AdminGap[];
}

/**
 * Units without an active SSO admin at or below `under` (default: the units the admin administers,
 * everywhere for DLA central), with counts per kind and the unit covering each; `limit` items after
 * the code `after` (every one when no limit is given).
 */
export async function unitsWithoutAdmin(
  deps: ServiceDeps,
  actor: Actor,
  query: { under?: string | undefined; limit?: number | undefined; after?: string | undefined },
): Promise<AdminGaps> {
  const { db } = deps;
  const { under } = query;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  if (under) {
    const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, under));
    if (!unit) throw notFound(`There is no unit ${under}.`);
    if (!(await mayActFor(db, actor, under))) throw forbidden(`You do not administer ${under} or a unit above it.`);
  }
  const gaps = await adminGaps(db, under ? [under] : actor.central ? undefined : actor.adminUnits);
  const counts = Object.fromEntries(UNIT_KINDS.map((k) => [k, gaps.filter((u) => u.kind === k).length]).filter(([, n]) => n));
  const rest = query.after ? gaps.filter((u) => u.code > query.after!) : gaps;
  return { under: under ?? null, total: gaps.length, counts, items: query.limit === undefined ? rest : rest.slice(0, query.limit) };
}

export interface UnitPage {
  unit: { code: string; kind: UnitKind; nameTh: string; nameEn: string | null; parentCode: string | null; parentNameTh: string | null; staff: number };
  admins: {
    accountId: string;
    username: string;
    name: string;
    since: Date;
    source: 'designation' | 'appointment';
    appointmentId: string | null;
    termEnd: string | null;
  }[];
  children: { code: string; kind: UnitKind; nameTh: string; staff: number; admins: string[] }[];
  childCount: number;
  /** The unit's active accounts an appointment letter may name; empty when the actor may not upload one. */
  appointable: { id: string; username: string; name: string }[];
  /** May the actor see the unit above (a link to it). */
  parentVisible: boolean;
}

/**
 * A unit as an admin browses the tree: the unit, its SSO admins with their term ends, its children
 * (a page of them) with their staff and admins, and who may be named in a letter. For the unit's
 * own accounts and the admins of it or above it.
 */
export async function browseUnit(deps: ServiceDeps, actor: Actor, code: string, page: { offset: number; limit: number }): Promise<UnitPage> {
  const { db } = deps;
  const [unit] = await db.select().from(orgUnits).where(eq(orgUnits.code, code));
  if (!unit) throw notFound(`There is no unit ${code}.`);
  if (!(await seesPeopleOf(deps, actor, code))) throw forbidden(`You do not administer ${code} or a unit above it.`);
  const staffOf = async (codes: string[]) =>
    new Map(
      codes.length === 0
        ? []
        : (
            await db
              .select({ unitCode: accounts.unitCode, n: count() })
              .from(accounts)
              .where(and(inArray(accounts.unitCode, codes), eq(accounts.status, 'active')))
              .groupBy(accounts.unitCode)
          ).map((r) => [r.unitCode!, r.n]),
    );
  const [parent] = unit.parentCode ? await db.select({ nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, unit.parentCode)) : [];
  const admins = await db
    .select({
      accountId: accounts.id,
      username: accounts.username,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
      since: unitAdmins.since,
      source: unitAdmins.source,
      appointmentId: unitAdmins.appointmentId,
      termEnd: adminAppointments.termEnd,
    })
    .from(unitAdmins)
    .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
    .leftJoin(adminAppointments, eq(adminAppointments.id, unitAdmins.appointmentId))
    .where(and(eq(unitAdmins.unitCode, code), eq(accounts.status, 'active')))
    .orderBy(asc(unitAdmins.since));
  const [{ n: childCount } = { n: 0 }] = await db.select({ n: count() }).from(orgUnits).where(eq(orgUnits.parentCode, code));
  const children = await db
    .select({ code: orgUnits.code, kind: orgUnits.kind, nameTh: orgUnits.nameTh })
    .from(orgUnits)
    .where(eq(orgUnits.parentCode, code))
    .orderBy(asc(orgUnits.code))
    .offset(page.offset)
    .limit(page.limit);
  const childCodes = children.map((c) => c.code);
  const staff = await staffOf([code, ...childCodes]);
  const childAdmins =
    childCodes.length === 0
      ? []
      : await db
          .select({ unitCode: unitAdmins.unitCode, username: accounts.username })
          .from(unitAdmins)
          .innerJoin(accounts, eq(accounts.id, unitAdmins.accountId))
          .where(and(inArray(unitAdmins.unitCode, childCodes), eq(accounts.status, 'active')))
          .orderBy(asc(accounts.username));
  const appointable = await db
    .select({ id: accounts.id, username: accounts.username, firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh })
    .from(accounts)
    .where(and(eq(accounts.unitCode, code), eq(accounts.status, 'active')))
    .orderBy(asc(accounts.firstNameTh), asc(accounts.lastNameTh), asc(accounts.username))
    .limit(500);
  return {
    unit: {
      code: unit.code,
      kind: unit.kind,
      nameTh: unit.nameTh,
      nameEn: unit.nameEn,
      parentCode: unit.parentCode,
      parentNameTh: parent?.nameTh ?? null,
      staff: staff.get(code) ?? 0,
    },
    admins: admins.map((a) => ({
      accountId: a.accountId,
      username: a.username,
      name: `${a.firstNameTh} ${a.lastNameTh}`,
      since: a.since,
      source: a.source,
      appointmentId: a.appointmentId,
      termEnd: a.termEnd ?? null,
    })),
    children: children.map((c) => ({ ...c, staff: staff.get(c.code) ?? 0, admins: childAdmins.filter((a) => a.unitCode === c.code).map((a) => a.username) })),
    childCount,
    appointable: appointable.map((a) => ({ id: a.id, username: a.username, name: `${a.firstNameTh} ${a.lastNameTh}` })),
    parentVisible: unit.parentCode !== null && (await mayActFor(db, actor, unit.parentCode)),
  };
}

/** Where an admin starts browsing the tree: the units they administer, and the roots for DLA central. */
export async function unitsAdministered(deps: ServiceDeps, actor: Actor): Promise<{ code: string; kind: UnitKind; nameTh: string }[]> {
  const { db } = deps;
  const columns = { code: orgUnits.code, kind: orgUnits.kind, nameTh: orgUnits.nameTh };
  const roots = actor.central ? await db.select(columns).from(orgUnits).where(isNull(orgUnits.parentCode)) : [];
  const own = actor.adminUnits.length === 0 ? [] : await db.select(columns).from(orgUnits).where(inArray(orgUnits.code, actor.adminUnits));
  const seen = new Set<string>();
  return [...roots, ...own.sort((a, b) => (a.code < b.code ? -1 : 1))].filter((u) => !seen.has(u.code) && seen.add(u.code));
}

/** The value an upsert proposed, for ON CONFLICT DO UPDATE. */
const sqlExcluded = (column: string) => sql.raw(`excluded.${column}`);
