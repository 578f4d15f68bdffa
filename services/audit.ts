// The audit trail, for admins: what happened in the units they administer (DLA central: everywhere).
import { and, desc, eq, gte, like, lt, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { AUDIT_CHAINS, canonicalJson } from '../db/audit.ts';
import { mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import { accounts, auditEvents } from '../db/schema.ts';
import { inBatches } from '../lib/csv.ts';
import { buddhistEraProblem } from '../lib/dates.ts';
import { forbidden, invalid, unavailable } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { latestAuditVerification, startAuditVerification as startVerificationWorkflow, type AuditVerificationRun } from './workflows.ts';

export interface AuditQuery {
  unitCode?: string | undefined;
  accountId?: string | undefined;
  since?: string | undefined;
  limit: number;
  before?: { id: number } | undefined;
}

/**
 * Newest first, within the actor's units: `unitCode` narrows to that unit and the units below it,
 * `accountId` to events by or about that account. `limit + 1` rows before `before`, for the caller to page.
 */
export async function listAuditEvents(deps: ServiceDeps, actor: Actor, query: AuditQuery) {
  const { db } = deps;
  const { unitCode, accountId, since, limit, before } = query;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may read the audit trail.');
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(
      and(
        withinScopeSql(actor, auditEvents.unitCode),
        unitCode ? sql`${auditEvents.unitCode} in ${subtreeSql([unitCode])}` : undefined,
        accountId
          ? or(eq(auditEvents.actorAccountId, accountId), and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, accountId)))
          : undefined,
        since ? gte(auditEvents.at, new Date(since)) : undefined,
        before ? lt(auditEvents.id, before.id) : undefined,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1);
  return rows.map((e) => ({
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    actorAccountId: e.actorAccountId,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    unitCode: e.unitCode,
    reason: e.reason,
    before: e.before,
    after: e.after,
    hash: e.hash,
  }));
}

// ---- The console's view of the trail: filters, differences, CSV, and the chains' verification ----

/** What the console filters by; each optional, all within the admin's units. */
export interface AuditFilter {
  /** A username, or a non-account actor as written (`system`, `hr-feed`, `applicant`, `schedule:<name>`). */
  actor?: string | undefined;
  /** A username (events about that account), or a subject's id as written (a request's id, a unit's code...). */
  subject?: string | undefined;
  /** An action (`account.suspended`), or its family (`account`). */
  action?: string | undefined;
  /** First and last day, `YYYY-MM-DD` in the Christian Era, Bangkok time; both included. */
  from?: string | undefined;
  to?: string | undefined;
}

/** One field of a record as it changed: dotted paths for nested objects. */
export interface FieldChange {
  field: string;
  change: 'added' | 'removed' | 'changed';
  before: string | null;
  after: string | null;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function flatten(value: unknown, path: string, into: Map<string, unknown>): Map<string, unknown> {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, path ? `${path}.${key}` : key, into);
  } else if (value !== null && value !== undefined) {
    into.set(path || '(value)', value);
  }
  return into;
}

const shown = (value: unknown): string | null => (value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value));

/** The record before and after, key by key: what was added, removed or changed (unchanged fields left out). */
export function auditDifference(before: unknown, after: unknown): FieldChange[] {
  const was = flatten(before, '', new Map());
  const is = flatten(after, '', new Map());
  const fields = [...new Set([...was.keys(), ...is.keys()])].sort();
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const a = was.get(field);
    const b = is.get(field);
    if (!was.has(field)) changes.push({ field, change: 'added', before: null, after: shown(b) });
    else if (!is.has(field)) changes.push({ field, change: 'removed', before: shown(a), after: null });
    else if (canonicalJson(a) !== canonicalJson(b)) changes.push({ field, change: 'changed', before: shown(a), after: shown(b) });
  }
  return changes;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A day typed in the filter as the instant it begins in Bangkok (`next`: the day after). */
function bangkokDay(field: string, value: string, next = false): Date {
  if (!DAY.test(value) || Number.isNaN(Date.parse(value))) throw invalid(field, `${field} must be a date (YYYY-MM-DD).`);
  const era = buddhistEraProblem(value);
  if (era) throw invalid(field, `${field} ${era}. / ปีที่กรอกเป็นพุทธศักราช กรุณากรอกเป็นคริสต์ศักราช`);
  const start = new Date(`${value}T00:00:00+07:00`);
  return next ? new Date(start.getTime() + 86_400_000) : start;
}

const actorAccount = alias(accounts, 'actor_account');
const subjectAccount = alias(accounts, 'subject_account');

async function accountIdOf(deps: ServiceDeps, username: string): Promise<string | undefined> {
  const [row] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.username, username)).limit(1);
  return row?.id;
}

/** The filter as SQL within the admin's scope (the usernames looked up once). */
async function filterSql(deps: ServiceDeps, admin: Actor, filter: AuditFilter): Promise<SQL | undefined> {
  if (!admin.central && admin.adminUnits.length === 0) throw forbidden('Only SSO admins may read the audit trail.');
  const from = filter.from ? bangkokDay('from', filter.from) : undefined;
  const to = filter.to ? bangkokDay('to', filter.to, true) : undefined;
  if (from && to && to <= from) throw invalid('to', 'The last day comes before the first. / วันสิ้นสุดอยู่ก่อนวันเริ่มต้น');
  const actorId = filter.actor ? await accountIdOf(deps, filter.actor) : undefined;
  const subjectId = filter.subject ? await accountIdOf(deps, filter.subject) : undefined;
  return and(
    withinScopeSql(admin, auditEvents.unitCode),
    filter.actor ? (actorId ? eq(auditEvents.actorAccountId, actorId) : eq(auditEvents.actor, filter.actor)) : undefined,
    filter.subject
      ? subjectId
        ? and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, subjectId))
        : eq(auditEvents.subjectId, filter.subject)
      : undefined,
    filter.action ? or(eq(auditEvents.action, filter.action), like(auditEvents.action, `${filter.action.replace(/[\\%_]/g, '\\$&')}.%`)) : undefined,
    from ? gte(auditEvents.at, from) : undefined,
    to ? lt(auditEvents.at, to) : undefined,
  );
}

/** Events of the filter, newest first, with who acted and on whom by name: `limit + 1` rows before `before`, for the caller to page. */
async function selectEvents(deps: ServiceDeps, where: SQL | undefined, limit: number, before: number | undefined) {
  const rows = await deps.db
    .select({
      id: auditEvents.id,
      at: auditEvents.at,
      actor: auditEvents.actor,
      actorUsername: actorAccount.username,
      action: auditEvents.action,
      subjectType: auditEvents.subjectType,
      subjectId: auditEvents.subjectId,
      subjectUsername: subjectAccount.username,
      unitCode: auditEvents.unitCode,
      reason: auditEvents.reason,
      before: auditEvents.before,
      after: auditEvents.after,
    })
    .from(auditEvents)
    .leftJoin(actorAccount, eq(actorAccount.id, auditEvents.actorAccountId))
    .leftJoin(subjectAccount, and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, sql`${subjectAccount.id}::text`)))
    .where(and(where, before !== undefined ? lt(auditEvents.id, before) : undefined))
    .orderBy(desc(auditEvents.id))
    .limit(limit);
  return rows.map((e) => ({
    ...e,
    at: e.at.toISOString(),
    actorName: e.actorUsername ?? e.actor,
    subjectName: e.subjectUsername ?? null,
    changes: auditDifference(e.before, e.after),
  }));
}

export type AuditEventView = Awaited<ReturnType<typeof selectEvents>>[number];

/** The console's list: the filter within the admin's units, newest first, `limit + 1` rows before event `before`. */
export async function searchAuditEvents(deps: ServiceDeps, admin: Actor, filter: AuditFilter, page: { limit: number; before?: number | undefined }) {
  return selectEvents(deps, await filterSql(deps, admin, filter), page.limit + 1, page.before);
}

/** Every event of the filter, newest first, read in keyset batches (a download never holds the trail in memory). */
export async function auditEventsToDownload(deps: ServiceDeps, admin: Actor, filter: AuditFilter, batch = 1000): Promise<AsyncIterable<AuditEventView>> {
  const where = await filterSql(deps, admin, filter);
  return inBatches<AuditEventView>(batch, (after) => selectEvents(deps, where, batch, after?.id));
}

/** The actions seen lately in the admin's units, for the filter's suggestions (the latest 5,000 events, not the whole trail). */
export async function recentAuditActions(deps: ServiceDeps, admin: Actor): Promise<string[]> {
  const latest = deps.db
    .select({ action: auditEvents.action })
    .from(auditEvents)
    .where(withinScopeSql(admin, auditEvents.unitCode))
    .orderBy(desc(auditEvents.id))
    .limit(5000)
    .as('latest');
  const rows = await deps.db.selectDistinct({ action: latest.action }).from(latest).orderBy(latest.action);
  return rows.map((r) => r.action);
}

const onlyCentral = (admin: Actor) => {
  if (!admin.central) throw forbidden('Only DLA central verifies the audit trail. / เฉพาะส่วนกลางของ สถ. เท่านั้น');
};

export type { AuditVerificationRun };

/** DLA central starts the check of every chain, in the background (a Temporal workflow); one already running goes on. */
export async function startAuditVerification(deps: ServiceDeps, admin: Actor): Promise<void> {
  onlyCentral(admin);
  try {
    await startVerificationWorkflow(deps.workflows, { chains: AUDIT_CHAINS, startedBy: admin.id });
  } catch (error) {
    throw unavailable(`The verification could not be started: ${(error as Error).message}`);
  }
}

/** The latest verification's progress or result (null when none ran), for DLA central. */
export async function auditVerificationStatus(deps: ServiceDeps, admin: Actor): Promise<AuditVerificationRun | null> {
  onlyCentral(admin);
  try {
    return await latestAuditVerification(deps.workflows);
  } catch (error) {
    throw unavailable(`The verification's state could not be read: ${(error as Error).message}`);
  }
}
