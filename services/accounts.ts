// Accounts: direct creation (migration from the old system, bootstrap), finding and reading them,
// and what an SSO admin does to the accounts of their units — suspend, reactivate, set rights —
// each with a reason, audited, at once (sign-ins end when access is lost).
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, ilike, inArray, ne, or, sql } from 'drizzle-orm';
import { actorOf, writeAudit } from '../db/audit.ts';
import type { Queryable } from '../db/client.ts';
import { CONFLICT_MESSAGES, findIdentityConflict, isUniqueViolation } from '../db/identity.ts';
import { mayActFor, subtreeSql, withinScopeSql, wouldLeaveCentralWithoutAdmin } from '../db/org-tree.ts';
import { accounts, auditEvents, entitlements, orgUnits, personnelEvents, signInEvents, signInFailures, systems, type AccountStatus } from '../db/schema.ts';
import { endSignIns } from '../db/sso-sessions.ts';
import { isValidCitizenId, maskCitizenId } from '../lib/citizen-id.ts';
import { hashNewPassword } from '../lib/passwords.ts';
import { badRequest, conflict, forbidden, invalid, notFound, type FieldError } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { secondFactorState } from './mfa.ts';
import { deliverLogouts, lockedUntil, normaliseUsername, type SignInDeps } from './sign-in.ts';

type Account = typeof accounts.$inferSelect;

export interface NewAccount {
  username: string;
  password: string;
  citizenId: string;
  firstNameTh: string;
  lastNameTh: string;
  email: string;
  unitCode: string;
  firstNameEn?: string | undefined;
  lastNameEn?: string | undefined;
  phone?: string | undefined;
  position?: string | undefined;
}

export interface Right {
  system: string;
  role: string;
  unitCode: string;
}

const adminsOnly = (actor: Actor) => {
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
};

/** Creates an account directly (DLA central only): for migration from the old system and for bootstrap. */
export async function createAccount(deps: ServiceDeps, actor: Actor, input: NewAccount): Promise<{ id: string }> {
  const { db, cipher } = deps;
  if (!actor.central) throw forbidden('Only DLA central admins may do this.');
  if (!isValidCitizenId(input.citizenId)) throw invalid('citizenId', 'citizenId has a wrong check digit');
  const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, input.unitCode));
  if (!unit) throw invalid('unitCode', `unit ${input.unitCode} does not exist`);
  const citizenIdHash = cipher.lookupHash(input.citizenId);
  const clash = await findIdentityConflict(db, citizenIdHash, input.username);
  if (clash) throw conflict(CONFLICT_MESSAGES[clash]);
  const id = randomUUID();
  const passwordHash = await hashNewPassword(input.password, input.username);
  try {
    await db.transaction(async (tx) => {
      await tx.insert(accounts).values({
        id,
        username: input.username,
        passwordHash,
        citizenIdEnc: cipher.encrypt(input.citizenId),
        citizenIdHash,
        firstNameTh: input.firstNameTh,
        lastNameTh: input.lastNameTh,
        firstNameEn: input.firstNameEn ?? null,
        lastNameEn: input.lastNameEn ?? null,
        email: input.email,
        phone: input.phone ?? null,
        position: input.position ?? null,
        unitCode: input.unitCode,
      });
      await writeAudit(tx, {
        key: `account:${id}:created`,
        actorAccountId: actor.id,
        actor: actorOf(actor.id),
        action: 'account.created',
        subjectType: 'account',
        subjectId: id,
        unitCode: input.unitCode,
        reason: 'direct creation',
        after: { username: input.username, unitCode: input.unitCode },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('This citizen ID or username was registered a moment ago.');
    throw error;
  }
  return { id };
}

export interface AccountSummary {
  id: string;
  username: string;
  status: AccountStatus;
  unitCode: string | null;
  firstNameTh: string;
  lastNameTh: string;
  email: string;
  position: string | null;
  citizenId: string | null;
}

const summaryOf = (deps: Pick<ServiceDeps, 'cipher'>, a: Account): AccountSummary => ({
  id: a.id,
  username: a.username,
  status: a.status,
  unitCode: a.unitCode,
  firstNameTh: a.firstNameTh,
  lastNameTh: a.lastNameTh,
  email: a.email,
  position: a.position,
  citizenId: a.citizenIdEnc ? maskCitizenId(deps.cipher.decrypt(a.citizenIdEnc)) : null,
});

export interface AccountQuery {
  /** Narrows to this unit's subtree (which the admin must administer). */
  unitCode?: string | undefined;
  status?: AccountStatus | undefined;
  /** One person, matched by the keyed hash of the citizen ID. */
  citizenId?: string | undefined;
  /** A name or username (part of it), or a whole citizen ID. */
  text?: string | undefined;
  /** Keyset pagination: after this username. */
  afterUsername?: string | undefined;
  limit: number;
}

/** The accounts of the admin's units and below, by username; `limit + 1` rows so that the caller knows a next page exists. */
export async function findAccounts(deps: ServiceDeps, actor: Actor, query: AccountQuery): Promise<AccountSummary[]> {
  const { db, cipher } = deps;
  adminsOnly(actor);
  const { unitCode, status, citizenId, afterUsername, limit } = query;
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  if (citizenId && !isValidCitizenId(citizenId)) throw invalid('citizenId', 'citizenId has a wrong check digit');
  const text = query.text?.trim();
  let textFilter;
  if (text && /^\d{13}$/.test(text)) {
    textFilter = eq(accounts.citizenIdHash, cipher.lookupHash(text));
  } else if (text) {
    const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    textFilter = or(
      ilike(accounts.username, like),
      ilike(accounts.firstNameTh, like),
      ilike(accounts.lastNameTh, like),
      ilike(accounts.firstNameEn, like),
      ilike(accounts.lastNameEn, like),
      ilike(sql`${accounts.firstNameTh} || ' ' || ${accounts.lastNameTh}`, like),
    );
  }
  const rows = await db
    .select()
    .from(accounts)
    .where(
      and(
        withinScopeSql(actor, accounts.unitCode),
        unitCode ? sql`${accounts.unitCode} in ${subtreeSql([unitCode])}` : undefined,
        status ? eq(accounts.status, status) : undefined,
        citizenId ? eq(accounts.citizenIdHash, cipher.lookupHash(citizenId)) : undefined,
        textFilter,
        afterUsername !== undefined ? gt(accounts.username, afterUsername) : undefined,
      ),
    )
    .orderBy(asc(accounts.username))
    .limit(limit + 1);
  return rows.map((a) => summaryOf(deps, a));
}

const rightsView = (rows: (typeof entitlements.$inferSelect)[]) =>
  rows.map((e) => ({ system: e.systemCode, role: e.role, unitCode: e.unitCode, status: e.status }));

/** One account, to itself or to an admin over its unit, with its rights. */
export async function viewAccount(deps: ServiceDeps, actor: Actor, id: string) {
  const { db } = deps;
  const [account] = await db.select().from(accounts).where(eq(accounts.id, id));
  if (!account) throw notFound('There is no such account.');
  const allowed = account.id === actor.id || (account.unitCode ? await mayActFor(db, actor, account.unitCode) : actor.central);
  if (!allowed) throw forbidden('Only the account itself and the SSO admins over its unit may see it.');
  const rights = await db
    .select()
    .from(entitlements)
    .where(eq(entitlements.accountId, account.id))
    .orderBy(asc(entitlements.systemCode), asc(entitlements.role));
  return { ...summaryOf(deps, account), entitlements: rightsView(rights) };
}

/** The account, if the admin administers its unit (and it is not their own: nobody changes their own access). */
export async function administeredAccount(db: Queryable, actor: Actor, id: string): Promise<Account> {
  adminsOnly(actor);
  const [account] = await db.select().from(accounts).where(eq(accounts.id, id));
  if (!account) throw notFound('There is no such account.');
  if (account.id === actor.id) throw forbidden('Nobody changes their own access; ask an admin of your unit or above.');
  const inScope = account.unitCode ? await mayActFor(db, actor, account.unitCode) : actor.central;
  if (!inScope) throw forbidden("You are not an SSO admin of this account's unit or of a unit above it.");
  return account;
}

/** The reason every helpdesk action is given: anything but blank. */
export const reasonOf = (reason: string) => {
  if (!/\S/.test(reason)) throw invalid('reason', 'a reason is required');
  return reason;
};

/** Suspends at once: sign-in refused, every token revoked, every system told. Refused if DLA central would be left without an active admin. */
export async function suspendAccount(deps: SignInDeps, actor: Actor, id: string, input: { reason: string }): Promise<{ id: string; status: AccountStatus }> {
  const reason = reasonOf(input.reason);
  const account = await administeredAccount(deps.db, actor, id);
  if (account.status === 'suspended') return { id: account.id, status: account.status };
  await deps.db.transaction(async (tx) => {
    if (await wouldLeaveCentralWithoutAdmin(tx, account.id)) {
      throw conflict('This is the last active DLA central admin: appoint another before suspending this one.');
    }
    await tx.update(accounts).set({ status: 'suspended', updatedAt: new Date() }).where(eq(accounts.id, account.id));
    await endSignIns(tx, account.id, `suspended by ${actor.id}`);
    await writeAudit(tx, {
      key: `account:${account.id}:suspend:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.suspended',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: { status: account.status },
      after: { status: 'suspended' },
    });
  });
  await deliverLogouts(deps, account.id);
  return { id: account.id, status: 'suspended' };
}

export async function reactivateAccount(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  input: { reason: string },
): Promise<{ id: string; status: AccountStatus }> {
  const reason = reasonOf(input.reason);
  const account = await administeredAccount(deps.db, actor, id);
  if (account.status === 'active') return { id: account.id, status: account.status };
  await deps.db.transaction(async (tx) => {
    await tx.update(accounts).set({ status: 'active', updatedAt: new Date() }).where(eq(accounts.id, account.id));
    await writeAudit(tx, {
      key: `account:${account.id}:reactivate:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.reactivated',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: { status: account.status },
      after: { status: 'active' },
    });
  });
  return { id: account.id, status: 'active' };
}

/** Each right names a connected system, one of its roles, and a unit the admin administers. */
async function checkRights(db: Queryable, actor: Actor, wanted: Right[]): Promise<void> {
  const known =
    wanted.length === 0
      ? []
      : await db
          .select()
          .from(systems)
          .where(inArray(systems.code, [...new Set(wanted.map((w) => w.system))]));
  const errors: FieldError[] = [];
  for (const [i, w] of wanted.entries()) {
    const system = known.find((k) => k.code === w.system);
    if (!system) errors.push({ path: `${i}.system`, message: `system ${w.system} is not a connected system` });
    else if (!system.roles.includes(w.role)) errors.push({ path: `${i}.role`, message: `${w.system} has no role ${w.role}` });
    else if (!(await mayActFor(db, actor, w.unitCode))) errors.push({ path: `${i}.unitCode`, message: `you do not administer ${w.unitCode}` });
  }
  if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
}

/**
 * Sets the account's active rights at the caller's units to exactly `wanted`: new ones granted, missing
 * ones revoked (rights at units the caller does not administer are left alone),
 * audited with `reason` when given. A right taken away takes effect at every door now: the
 * person's sign-ins end.
 */
export async function setEntitlements(deps: SignInDeps, actor: Actor, id: string, wanted: Right[], reason?: string) {
  const { db } = deps;
  const account = await administeredAccount(db, actor, id);
  await checkRights(db, actor, wanted);
  const same = (e: { systemCode: string; role: string; unitCode: string }, w: Right) =>
    e.systemCode === w.system && e.role === w.role && e.unitCode === w.unitCode;
  await db.transaction(async (tx) => {
    const current = await tx.select().from(entitlements).where(eq(entitlements.accountId, account.id));
    const view = (rows: typeof current) => rightsView(rows.filter((e) => e.status !== 'revoked'));
    // The caller's part only: rights at units they do not administer stay as they are.
    const ours = new Map<string, boolean>();
    for (const unitCode of new Set(current.map((e) => e.unitCode))) ours.set(unitCode, await mayActFor(tx, actor, unitCode));
    for (const e of current) {
      if (e.status !== 'revoked' && ours.get(e.unitCode) && !wanted.some((w) => same(e, w))) {
        await tx.update(entitlements).set({ status: 'revoked', updatedAt: new Date() }).where(eq(entitlements.id, e.id));
      }
    }
    for (const w of wanted) {
      await tx
        .insert(entitlements)
        .values({ accountId: account.id, systemCode: w.system, role: w.role, unitCode: w.unitCode, status: 'active' })
        .onConflictDoUpdate({
          target: [entitlements.accountId, entitlements.systemCode, entitlements.role, entitlements.unitCode],
          set: { status: 'active', updatedAt: new Date() },
        });
    }
    const after = await tx.select().from(entitlements).where(eq(entitlements.accountId, account.id));
    const activeAfter = new Set(after.filter((e) => e.status === 'active').map((e) => e.id));
    if (current.some((e) => e.status === 'active' && !activeAfter.has(e.id))) await endSignIns(tx, account.id, `rights changed by ${actor.id}`);
    await writeAudit(tx, {
      key: `account:${account.id}:entitlements:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.entitlements_set',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason: reason?.trim() || null,
      before: view(current),
      after: view(after),
    });
  });
  await deliverLogouts(deps, account.id);
  const rights = await db
    .select()
    .from(entitlements)
    .where(and(eq(entitlements.accountId, account.id), ne(entitlements.status, 'revoked')));
  return { id: account.id, entitlements: rightsView(rights) };
}

// The console's account page (issue 11): everything an admin needs to know about one account, and
// the corrections they make there.

/** An account as its admin sees it: status, unit, rights, what HR reported, what was done to it, its recent sign-ins. */
export async function accountDossier(deps: ServiceDeps, actor: Actor, id: string) {
  const { db } = deps;
  const account = await viewAccount(deps, actor, id);
  const [row] = await db
    .select({ citizenIdHash: accounts.citizenIdHash, firstNameEn: accounts.firstNameEn, lastNameEn: accounts.lastNameEn, unitNameTh: orgUnits.nameTh })
    .from(accounts)
    .leftJoin(orgUnits, eq(orgUnits.code, accounts.unitCode))
    .where(eq(accounts.id, id));
  const reported = row?.citizenIdHash
    ? await db
        .select({
          eventId: personnelEvents.eventId,
          type: personnelEvents.type,
          effectiveDate: personnelEvents.effectiveDate,
          toUnitCode: personnelEvents.toUnitCode,
          newPosition: personnelEvents.newPosition,
          status: personnelEvents.status,
          outcome: personnelEvents.outcome,
          receivedAt: personnelEvents.receivedAt,
        })
        .from(personnelEvents)
        .where(eq(personnelEvents.citizenIdHash, row.citizenIdHash))
        .orderBy(desc(personnelEvents.receivedAt))
        .limit(20)
    : [];
  const history = await db
    .select({
      at: auditEvents.at,
      actor: auditEvents.actor,
      action: auditEvents.action,
      reason: auditEvents.reason,
      before: auditEvents.before,
      after: auditEvents.after,
    })
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, id)))
    .orderBy(desc(auditEvents.id))
    .limit(20);
  // Sign-ins with a password or ThaiID (a system opened on the browser's sign-in is not a new one).
  const signIns = await db
    .select({ at: signInEvents.at, method: signInEvents.method, clientId: signInEvents.clientId, systemNameTh: systems.nameTh })
    .from(signInEvents)
    .leftJoin(systems, sql`${systems.oidc}->>'clientId' = ${signInEvents.clientId}`)
    .where(eq(signInEvents.accountId, id))
    .orderBy(desc(signInEvents.at))
    .limit(10);
  return {
    ...account,
    firstNameEn: row?.firstNameEn ?? null,
    lastNameEn: row?.lastNameEn ?? null,
    unitNameTh: row?.unitNameTh ?? null,
    reported,
    history,
    signIns,
    lockedUntil: await lockedUntil(db, normaliseUsername(account.username)),
    secondFactor: await secondFactorState(db, id),
    mayChange: account.id !== actor.id && (account.unitCode ? await mayActFor(db, actor, account.unitCode) : actor.central),
  };
}

/** Grants one right (active at once) or removes one (revoked; the person's sign-ins end), with a reason, audited. */
export async function changeRight(deps: SignInDeps, actor: Actor, id: string, change: Right & { change: 'grant' | 'remove'; reason: string }) {
  const { db } = deps;
  const reason = reasonOf(change.reason);
  const account = await administeredAccount(db, actor, id);
  const right = { system: change.system, role: change.role, unitCode: change.unitCode };
  await checkRights(db, actor, [right]);
  const match = and(
    eq(entitlements.accountId, account.id),
    eq(entitlements.systemCode, right.system),
    eq(entitlements.role, right.role),
    eq(entitlements.unitCode, right.unitCode),
  );
  const changed = await db.transaction(async (tx) => {
    const [current] = await tx.select().from(entitlements).where(match);
    if (change.change === 'grant') {
      if (current?.status === 'active') return false;
      await tx
        .insert(entitlements)
        .values({ accountId: account.id, systemCode: right.system, role: right.role, unitCode: right.unitCode, status: 'active' })
        .onConflictDoUpdate({
          target: [entitlements.accountId, entitlements.systemCode, entitlements.role, entitlements.unitCode],
          set: { status: 'active', updatedAt: new Date() },
        });
    } else {
      if (!current || current.status === 'revoked') return false;
      await tx.update(entitlements).set({ status: 'revoked', updatedAt: new Date() }).where(eq(entitlements.id, current.id));
      if (current.status === 'active') await endSignIns(tx, account.id, `rights changed by ${actor.id}`);
    }
    await writeAudit(tx, {
      key: `account:${account.id}:right:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: change.change === 'grant' ? 'account.right_granted' : 'account.right_removed',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: current ? { ...right, status: current.status } : null,
      after: { ...right, status: change.change === 'grant' ? 'active' : 'revoked' },
    });
    return true;
  });
  if (changed && change.change === 'remove') await deliverLogouts(deps, account.id);
  return { id: account.id, changed };
}

export interface DetailsCorrection {
  email?: string | undefined;
  firstNameTh?: string | undefined;
  lastNameTh?: string | undefined;
  firstNameEn?: string | undefined;
  lastNameEn?: string | undefined;
  reason: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Corrects the e-mail address or the names, with a reason; audited with what they were. */
export async function correctAccountDetails(deps: ServiceDeps, actor: Actor, id: string, input: DetailsCorrection) {
  const reason = reasonOf(input.reason);
  const account = await administeredAccount(deps.db, actor, id);
  const errors: FieldError[] = [];
  const wanted: Partial<Record<'email' | 'firstNameTh' | 'lastNameTh' | 'firstNameEn' | 'lastNameEn', string | null>> = {};
  for (const field of ['email', 'firstNameTh', 'lastNameTh', 'firstNameEn', 'lastNameEn'] as const) {
    const value = input[field]?.trim();
    if (value === undefined) continue;
    const optional = field === 'firstNameEn' || field === 'lastNameEn';
    if (!value && !optional) errors.push({ path: field, message: `${field} may not be empty` });
    else if (value.length > (field === 'email' ? 254 : 100)) errors.push({ path: field, message: `${field} is too long` });
    else if (field === 'email' && !EMAIL.test(value)) errors.push({ path: field, message: 'email is not an e-mail address' });
    else if ((value || null) !== account[field]) wanted[field] = value || null;
  }
  if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
  const fields = Object.keys(wanted) as (keyof typeof wanted)[];
  if (fields.length === 0) return { id: account.id, changed: [] as string[] };
  await deps.db.transaction(async (tx) => {
    // Only the English names may be emptied (null); the others were checked non-empty above.
    await tx
      .update(accounts)
      .set({ ...(wanted as Partial<typeof accounts.$inferInsert>), updatedAt: new Date() })
      .where(eq(accounts.id, account.id));
    await writeAudit(tx, {
      key: `account:${account.id}:details:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.details_corrected',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: Object.fromEntries(fields.map((f) => [f, account[f]])),
      after: wanted,
    });
  });
  return { id: account.id, changed: fields };
}

/** Lifts the lock that failed sign-ins put on the account's username, with a reason, audited; `changed` false when it was not locked. */
export async function unlockAccount(deps: ServiceDeps, actor: Actor, id: string, input: { reason: string }): Promise<{ id: string; changed: boolean }> {
  const reason = reasonOf(input.reason);
  const account = await administeredAccount(deps.db, actor, id);
  const changed = await deps.db.transaction(async (tx) => {
    const [lifted] = await tx
      .delete(signInFailures)
      .where(and(eq(signInFailures.username, normaliseUsername(account.username)), gt(signInFailures.lockedUntil, new Date())))
      .returning({ lockedUntil: signInFailures.lockedUntil, failures: signInFailures.failures });
    if (!lifted) return false;
    await writeAudit(tx, {
      key: `account:${account.id}:unlock:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.unlocked',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: { lockedUntil: lifted.lockedUntil?.toISOString() ?? null, failures: lifted.failures },
      after: { lockedUntil: null },
    });
    return true;
  });
  return { id: account.id, changed };
}
