// Personnel changes (HR): events about people, often dated ahead, sent by the HR system (signed) or
// reported by an admin for the people of their own units. Each event is judged on its own, stored
// once per eventId, and handed to the person's workflow, which applies it on its effective date.
import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { actorOf } from '../db/audit.ts';
import { mayActFor, withinScopeSql } from '../db/org-tree.ts';
import { accounts, orgUnits, personnelEvents, type PersonnelEventType, type PersonnelEventStatus } from '../db/schema.ts';
import { isValidCitizenId } from '../lib/citizen-id.ts';
import { forbidden, notFound, unavailable, type FieldError } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { handToPerson, type Log } from './workflows.ts';

export interface PersonnelEventInput {
  eventId: string; type: PersonnelEventType; citizenId: string; effectiveDate: string;
  toUnitCode?: string; newPosition?: string; note?: string;
}

/** One event of a batch as the API read it: of the right shape, or with the shape's problems. */
export type ReceivedEvent = { event: PersonnelEventInput } | { eventId: string | null; errors: FieldError[] };

/** Who sends: the HR system (its signature checked by the API), or an SSO admin for their units. */
export type PersonnelSender = { hrFeed: true } | { actor: Actor };

export interface BatchResult { accepted: number; duplicates: number; rejected: { index: number; eventId: string | null; errors: FieldError[] }[] }

/** An admin reports changes only of people with an account in their units. */
function requireReportingAdmin(actor: Actor): void {
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may report personnel changes.');
}

/**
 * Stores each valid event once and hands it to the person's workflow. When Temporal cannot take
 * them, the events not handed over are forgotten (a 503): the sender's retry brings them again.
 */
export async function receivePersonnelEvents(deps: ServiceDeps, sender: PersonnelSender, events: ReceivedEvent[], log: Log): Promise<BatchResult> {
  const { db, cipher } = deps;
  const admin = 'actor' in sender ? sender.actor : null;
  if (admin) requireReportingAdmin(admin);
  const source = admin ? actorOf(admin.id) : 'hr-feed';
  const rejected: BatchResult['rejected'] = [];
  const valid: { e: PersonnelEventInput; hash: string }[] = [];
  const unitCodes = [...new Set(events.flatMap((r) => ('event' in r && r.event.toUnitCode ? [r.event.toUnitCode] : [])))];
  const knownUnits = new Set(unitCodes.length === 0 ? [] : (await db.select({ code: orgUnits.code }).from(orgUnits).where(inArray(orgUnits.code, unitCodes))).map((u) => u.code));
  for (const [index, received] of events.entries()) {
    if (!('event' in received)) {
      rejected.push({ index, eventId: received.eventId, errors: received.errors });
      continue;
    }
    const e = received.event;
    const at = `events.${index}`;
    const errors: FieldError[] = [];
    if (!isValidCitizenId(e.citizenId)) errors.push({ path: `${at}.citizenId`, message: 'citizenId is not a valid Thai citizen ID (check digit)' });
    if (e.type === 'transfer' && !e.toUnitCode) errors.push({ path: `${at}.toUnitCode`, message: 'a transfer needs toUnitCode' });
    if (e.toUnitCode && !knownUnits.has(e.toUnitCode)) errors.push({ path: `${at}.toUnitCode`, message: `unit ${e.toUnitCode} does not exist` });
    if (e.type !== 'transfer' && e.toUnitCode) errors.push({ path: `${at}.toUnitCode`, message: 'toUnitCode goes only with a transfer' });
    const hash = errors.length === 0 ? cipher.lookupHash(e.citizenId) : '';
    if (errors.length === 0 && admin) {
      const [account] = await db.select({ unitCode: accounts.unitCode }).from(accounts).where(eq(accounts.citizenIdHash, hash));
      const inScope = account && (account.unitCode ? await mayActFor(db, admin, account.unitCode) : admin.central);
      if (!inScope) errors.push({ path: `${at}.citizenId`, message: 'this person has no account in the units you administer' });
    }
    if (errors.length > 0) rejected.push({ index, eventId: e.eventId, errors });
    else valid.push({ e, hash });
  }
  // One statement: concurrent calls with the same eventId race on the primary key, and one wins.
  const insertedIds = valid.length === 0 ? new Set<string>() : new Set((await db.insert(personnelEvents).values(valid.map((v) => ({
    eventId: v.e.eventId, type: v.e.type, citizenIdHash: v.hash, citizenIdEnc: cipher.encrypt(v.e.citizenId), effectiveDate: v.e.effectiveDate,
    toUnitCode: v.e.toUnitCode ?? null, newPosition: v.e.newPosition ?? null, note: v.e.note ?? null, source,
  }))).onConflictDoNothing().returning({ eventId: personnelEvents.eventId })).map((r) => r.eventId));
  const fresh = valid.filter((v) => insertedIds.delete(v.e.eventId)); // delete: a repeat within the call counts once
  const duplicates = valid.length - fresh.length;
  const sent = new Set<string>();
  const handed = await Promise.allSettled(chunked(fresh, 50).map(async (chunk) => {
    for (const v of chunk) {
      await handToPerson(deps.workflows, v.hash, { eventId: v.e.eventId, type: v.e.type, effectiveDate: v.e.effectiveDate });
      sent.add(v.e.eventId);
    }
  }));
  const failure = handed.find((n) => n.status === 'rejected');
  if (failure) {
    log.error({ err: failure.reason }, 'cannot hand personnel events to their workflows');
    // Unscheduled events must not look accepted: forget them so that the sender's retry brings them again.
    const unsent = fresh.filter((v) => !sent.has(v.e.eventId)).map((v) => v.e.eventId);
    if (unsent.length > 0) await db.delete(personnelEvents).where(inArray(personnelEvents.eventId, unsent));
    throw unavailable(`The workflow service is not reachable; ${fresh.length - unsent.length} event(s) were scheduled, ${unsent.length} were not kept: send the call again.`);
  }
  return { accepted: fresh.length, duplicates, rejected };
}

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One event and what became of it: for the HR system any event; for an admin the events they sent
 * and those about people of their units (others look absent).
 */
export async function viewPersonnelEvent(deps: ServiceDeps, sender: PersonnelSender, eventId: string) {
  const { db } = deps;
  const [ev] = await db.select().from(personnelEvents).where(eq(personnelEvents.eventId, eventId));
  if ('actor' in sender) {
    const admin = sender.actor;
    requireReportingAdmin(admin);
    if (ev && !admin.central) {
      const [account] = ev.accountId ? await db.select({ unitCode: accounts.unitCode }).from(accounts).where(eq(accounts.id, ev.accountId)) : [];
      const units = [account?.unitCode, ev.toUnitCode].filter((c): c is string => !!c);
      const allowed = ev.source === actorOf(admin.id) || (await Promise.all(units.map((u) => mayActFor(db, admin, u)))).some(Boolean);
      if (!allowed) throw notFound('There is no such personnel event in your units.');
    }
  }
  if (!ev) throw notFound('There is no such personnel event.');
  return {
    eventId: ev.eventId, type: ev.type, status: ev.status, outcome: ev.outcome, effectiveDate: ev.effectiveDate,
    appliedAt: ev.appliedAt?.toISOString() ?? null, receivedAt: ev.receivedAt.toISOString(), reviewId: ev.reviewId,
  };
}

export interface PersonnelEventListItem {
  eventId: string; type: PersonnelEventType; status: PersonnelEventStatus; effectiveDate: string; toUnitCode: string | null;
  accountId: string | null; username: string | null; unitCode: string | null; outcome: string | null; reviewId: string | null; receivedAt: string;
}

/** Where a list of events resumes: the last row's exact time (as PostgreSQL writes it) and id. */
export interface PersonnelEventPosition { receivedAt: string; eventId: string }

/**
 * The events an admin may see (those they sent, and those about people of their units or moving
 * into them), newest first: `limit + 1` rows after `after`, for the caller to page.
 */
export async function listPersonnelEvents(deps: ServiceDeps, actor: Actor,
  query: { status?: PersonnelEventStatus | undefined; limit: number; after?: PersonnelEventPosition | undefined }): Promise<{ item: PersonnelEventListItem; position: PersonnelEventPosition }[]> {
  requireReportingAdmin(actor);
  const { db } = deps;
  const { status, limit, after } = query;
  const scope = actor.central ? undefined : or(eq(personnelEvents.source, actorOf(actor.id)), withinScopeSql(actor, accounts.unitCode), withinScopeSql(actor, personnelEvents.toUnitCode));
  const rows = await db.select({ ev: personnelEvents, at: sql<string>`${personnelEvents.receivedAt}::text`, username: accounts.username, accountId: accounts.id, unitCode: accounts.unitCode })
    .from(personnelEvents).leftJoin(accounts, eq(accounts.citizenIdHash, personnelEvents.citizenIdHash))
    .where(and(
      scope, status ? eq(personnelEvents.status, status) : undefined,
      after ? sql`(${personnelEvents.receivedAt}, ${personnelEvents.eventId}) < (${after.receivedAt}::timestamptz, ${after.eventId})` : undefined,
    )).orderBy(desc(personnelEvents.receivedAt), desc(personnelEvents.eventId)).limit(limit + 1);
  return rows.map(({ ev, at, username, accountId, unitCode }) => ({
    item: {
      eventId: ev.eventId, type: ev.type, status: ev.status, effectiveDate: ev.effectiveDate, toUnitCode: ev.toUnitCode,
      accountId: accountId ?? ev.accountId, username, unitCode, outcome: ev.outcome, reviewId: ev.reviewId, receivedAt: ev.receivedAt.toISOString(),
    },
    position: { receivedAt: at, eventId: ev.eventId },
  }));
}
