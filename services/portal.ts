// The portal: what a signed-in person sees first, the connected systems they may open; and what
// the registration page offers a newcomer.
import { and, asc, eq, ilike, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { accounts, entitlements, orgUnits, systems } from '../db/schema.ts';
import { maskCitizenId } from '../lib/citizen-id.ts';
import { badRequest } from '../lib/problem.ts';
import { verifiedFields } from '../lib/sso/thaiid.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { verifiedIdentity } from './sign-in.ts';

export interface OpenSystem {
  code: string;
  nameTh: string;
  nameEn: string | null;
  url: string;
  roles: string[];
}

/** The connected systems a person may open (an active right there), with their roles. */
export async function systemsOpenTo(deps: Pick<ServiceDeps, 'db'>, actor: Pick<Actor, 'id'>): Promise<OpenSystem[]> {
  const rights = await deps.db
    .select({ code: systems.code, nameTh: systems.nameTh, nameEn: systems.nameEn, url: systems.url, role: entitlements.role })
    .from(entitlements)
    .innerJoin(systems, eq(systems.code, entitlements.systemCode))
    .where(and(eq(entitlements.accountId, actor.id), eq(entitlements.status, 'active')))
    .orderBy(asc(systems.code), asc(entitlements.role));
  const bySystem = new Map<string, OpenSystem>();
  for (const r of rights) {
    const entry = bySystem.get(r.code) ?? { code: r.code, nameTh: r.nameTh, nameEn: r.nameEn, url: r.url, roles: [] };
    if (!entry.roles.includes(r.role)) entry.roles.push(r.role);
    bySystem.set(r.code, entry);
  }
  return [...bySystem.values()];
}

/** The portal of the signed-in person: who they are, their unit, their systems, and whether they administer anything. */
export async function portalOf(deps: Pick<ServiceDeps, 'db'>, actor: Actor) {
  const [person] = await deps.db
    .select({ firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh, unitNameTh: orgUnits.nameTh })
    .from(accounts)
    .leftJoin(orgUnits, eq(orgUnits.code, accounts.unitCode))
    .where(eq(accounts.id, actor.id));
  return {
    name: person ? `${person.firstNameTh} ${person.lastNameTh}` : actor.username,
    username: actor.username,
    unit: person?.unitNameTh ?? actor.unitCode ?? '',
    systems: await systemsOpenTo(deps, actor),
    isAdmin: actor.central || actor.adminUnits.length > 0,
  };
}

/** How many units the registration page lists at a time. */
export const UNIT_PAGE = 20;

export interface UnitChoice {
  code: string;
  nameTh: string;
  /** The units above it (district, province): namesakes abound among the 7,850 LAOs. */
  aboveTh: string;
}

/**
 * The units an applicant may choose, found by part of their Thai or English name or their code, a page
 * at a time (1-based), in code order: the registration page asks for a search instead of listing every unit.
 */
export async function findUnitsToRegister(deps: Pick<ServiceDeps, 'db'>, query: string, page: number): Promise<{ items: UnitChoice[]; more: boolean }> {
  const text = query.trim().slice(0, 100);
  if (!text) return { items: [], more: false };
  const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const parent = alias(orgUnits, 'parent');
  const grandparent = alias(orgUnits, 'grandparent');
  const rows = await deps.db
    .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, parentTh: parent.nameTh, grandparentTh: grandparent.nameTh })
    .from(orgUnits)
    .leftJoin(parent, eq(parent.code, orgUnits.parentCode))
    .leftJoin(grandparent, eq(grandparent.code, parent.parentCode))
    .where(or(ilike(orgUnits.nameTh, like), ilike(orgUnits.nameEn, like), eq(orgUnits.code, text)))
    .orderBy(asc(orgUnits.code))
    .limit(UNIT_PAGE + 1)
    .offset((Math.max(1, page) - 1) * UNIT_PAGE);
  return {
    items: rows.slice(0, UNIT_PAGE).map((r) => ({ code: r.code, nameTh: r.nameTh, aboveTh: [r.parentTh, r.grandparentTh].filter(Boolean).join(' · ') })),
    more: rows.length > UNIT_PAGE,
  };
}

/**
 * What the registration page offers: every system's roles, the unit chosen (if it exists), and what
 * ThaiD verified (locked on the form).
 */
export async function registrationForm(deps: Pick<ServiceDeps, 'db' | 'cipher'>, verification: string | undefined, unitCode?: string) {
  let verified: ReturnType<typeof verifiedFields> | undefined;
  if (verification) {
    const claims = await verifiedIdentity(deps, verification);
    if (!claims) throw badRequest('การยืนยันตัวตนด้วย ThaiID หมดอายุแล้ว กรุณาเข้าสู่ระบบด้วย ThaiID ใหม่ / The ThaiID verification expired; sign in with ThaiID again.');
    verified = verifiedFields(claims);
  }
  const catalogue = await deps.db.select().from(systems).orderBy(asc(systems.code));
  const [unit] = unitCode ? await deps.db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, unitCode)) : [];
  return {
    verification: verification ?? '',
    verified,
    maskedCitizenId: verified ? maskCitizenId(verified.citizenId) : '',
    access: catalogue.flatMap((s) => s.roles.map((role) => ({ value: `${s.code}:${role}`, label: `${s.nameTh} · ${role}` }))),
    unit,
  };
}
