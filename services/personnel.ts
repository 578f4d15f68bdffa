// Personnel changes (HR): events about people, often dated ahead, sent by the HR system (signed) or
// reported by an admin for the people of their own units. Each event is judged on its own, stored
// once per sender and eventId, and handed to the person's workflow, which applies it on its effective date.
import { and, desc, eq, ilike, inArray, or, sql } from 'drizzle-orm';
import { actorOf } from '../db/audit.ts';
import { mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import { accounts, orgUnits, personnelEvents, type PersonnelEventType, type PersonnelEventStatus } from '../db/schema.ts';
import { isValidCitizenId } from '../lib/citizen-id.ts';
import { forbidden, notFound, unavailable, type FieldError } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { handToPerson, type Log } from './workflows.ts';

export interface PersonnelEventInput {
  eventId: string;
  type: PersonnelEventType;
  citizenId: string;
  effectiveDate: string;
  toUnitCode?: string;
  newPosition?: string;
  note?: string;
}

/** One event of a batch as the API read it: of the right shape, or with the shape's problems. */
export type ReceivedEvent = { event: PersonnelEventInput } | { eventId: string | null; errors: FieldError[] };

/** Who sends: the HR system (its signature checked by the API), or an SSO admin for their units. */
export type PersonnelSender = { hrFeed: true } | { actor: Actor };

export interface BatchResult {
  accepted: number;
  duplicates: number;
  rejected: { index: number; eventId: string | null; errors: FieldError[] }[];
}

/**
 * Event ids are the sender's: HR's are stored as sent, an admin's under their own name
 * (`account:<id>/<eventId>`), so that nobody can take an id HR will use later and make HR's real
 * event a "duplicate". Workflows, audit and mail keys use the stored id; answers show the sender's.
 */
const storedEventId = (source: string, eventId: string) => (source === HR_FEED ? eventId : `${source}/${eventId}`);
const sentEventId = (stored: string, source: string) => (source !== HR_FEED && stored.startsWith(`${source}/`) ? stored.slice(source.length + 1) : stored);
const HR_FEED = 'hr-feed';

/** An admin reports changes only of people with an account in their units. */
function requireReportingAdmin(actor: Actor): void {
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may report personnel changes.');
}

interface JudgedEvent {
  e: PersonnelEventInput;
  hash: string;
  /** The stored id (the sender's id under the admin's name). */
  id: string;
  index: number;
}

/** Each event judged on its own, nothing written: the valid ones, and the others with their problems. */
async function judgeEvents(deps: ServiceDeps, admin: Actor | null, source: string, events: ReceivedEvent[]) {
  const { db, cipher } = deps;
  const rejected: BatchResult['rejected'] = [];
  const valid: JudgedEvent[] = [];
  const unitCodes = [...new Set(events.flatMap((r) => ('event' in r && r.event.toUnitCode ? [r.event.toUnitCode] : [])))];
  const knownUnits = new Set(
    unitCodes.length === 0 ? [] : (await db.select({ code: orgUnits.code }).from(orgUnits).where(inArray(orgUnits.code, unitCodes))).map((u) => u.code),
  );
  for (const [index, received] of events.entries()) {
    if (!('event' in received)) {
      rejected.push({ index, eventId: received.eventId, errors: received.errors });
      continue;
    }
    const e = received.event;
    const at = `events.${index}`;
    const errors: FieldError[] = [];
    if (!admin && e.eventId.startsWith('account:'))
      errors.push({ path: `${at}.eventId`, message: 'eventId must not start with "account:" (the admins\' reports)' });
    if (!isValidCitizenId(e.citizenId)) errors.push({ path: `${at}.citizenId`, message: 'citizenId is not a valid Thai citizen ID (check digit)' });
    if (e.type === 'transfer' && !e.toUnitCode) errors.push({ path: `${at}.toUnitCode`, message: 'a transfer needs toUnitCode' });
    if (e.toUnitCode && !knownUnits.has(e.toUnitCode)) errors.push({ path: `${at}.toUnitCode`, message: `unit ${e.toUnitCode} does not exist` });
    if (e.type !== 'transfer' && e.toUnitCode) errors.push({ path: `${at}.toUnitCode`, message: 'toUnitCode goes only with a transfer' });
    const hash = errors.length === 0 ? cipher.lookupHash(e.citizenId) : '';
    if (errors.length === 0 && admin && hash === admin.citizenIdHash) {
      errors.push({ path: `${at}.citizenId`, message: "you cannot report a change about yourself: your unit's other admins or HR do" });
    }
    if (errors.length === 0 && admin) {
      const [account] = await db.select({ unitCode: accounts.unitCode }).from(accounts).where(eq(accounts.citizenIdHash, hash));
      const inScope = account && (account.unitCode ? await mayActFor(db, admin, account.unitCode) : admin.central);
      if (!inScope) errors.push({ path: `${at}.citizenId`, message: 'this person has no account in the units you administer' });
    }
    if (errors.length > 0) rejected.push({ index, eventId: e.eventId, errors });
    else valid.push({ e, hash, id: storedEventId(source, e.eventId), index });
  }
  return { valid, rejected };
}

export interface BatchCheck {
  /** What sending the batch now would refuse, row by row. */
  rejected: BatchResult['rejected'];
  /** Valid events whose id was received before (or comes earlier in the batch): sending them changes nothing. */
  duplicates: { index: number; eventId: string }[];
}

/** An admin's batch judged as `receivePersonnelEvents` would judge it, with nothing stored or sent: the console's preview. */
export async function checkPersonnelEvents(deps: ServiceDeps, actor: Actor, events: ReceivedEvent[]): Promise<BatchCheck> {
  requireReportingAdmin(actor);
  const { valid, rejected } = await judgeEvents(deps, actor, actorOf(actor.id), events);
  const ids = [...new Set(valid.map((v) => v.id))];
  const stored = new Set(
    ids.length === 0
      ? []
      : (await deps.db.select({ id: personnelEvents.eventId }).from(personnelEvents).where(inArray(personnelEvents.eventId, ids))).map((r) => r.id),
  );
  const seen = new Set<string>();
  const duplicates: BatchCheck['duplicates'] = [];
  for (const v of valid) {
    if (stored.has(v.id) || seen.has(v.id)) duplicates.push({ index: v.index, eventId: v.e.eventId });
    seen.add(v.id);
  }
  return { rejected, duplicates };
}

/**
 * Stores each valid event once and hands it to the person's workflow. When Temporal cannot take
 * them, the events not handed over are forgotten (a 503): the sender's retry brings them again.
 */
export async function receivePersonnelEvents(deps: ServiceDeps, sender: PersonnelSender, events: ReceivedEvent[], log: Log): Promise<BatchResult> {
  const { db, cipher } = deps;
  const admin = 'actor' in sender ? sender.actor : null;
  if (admin) requireReportingAdmin(admin);
  const source = admin ? actorOf(admin.id) : HR_FEED;
  const { valid, rejected } = await judgeEvents(deps, admin, source, events);
  // One statement: concurrent calls with the same eventId race on the primary key, and one wins.
  const insertedIds =
    valid.length === 0
      ? new Set<string>()
      : new Set(
          (
            await db
              .insert(personnelEvents)
              .values(
                valid.map((v, i) => ({
                  eventId: v.id,
                  type: v.e.type,
                  citizenIdHash: v.hash,
                  citizenIdEnc: cipher.encrypt(v.e.citizenId),
                  effectiveDate: v.e.effectiveDate,
                  toUnitCode: v.e.toUnitCode ?? null,
                  newPosition: v.e.newPosition ?? null,
                  note: v.e.note ?? null,
                  source,
                  // Apart by a microsecond each, in the batch's order: start-up hands over again in this order, so that a
                  // correction still comes after the event it corrects (one statement's now() is the same for every row).
                  receivedAt: sql`now() + ${i} * interval '1 microsecond'`,
                })),
              )
              .onConflictDoNothing()
              .returning({ eventId: personnelEvents.eventId })
          ).map((r) => r.eventId),
        );
  const fresh = valid.filter((v) => insertedIds.delete(v.id)); // delete: a repeat within the call counts once
  const duplicates = valid.length - fresh.length;
  const sent = new Set<string>();
  // A person's events go in one chunk, in the batch's order: a correction reaches the workflow after what it corrects.
  const byPerson = [...Map.groupBy(fresh, (v) => v.hash).values()];
  const handed = await Promise.allSettled(
    chunked(byPerson, 50).map(async (chunk) => {
      for (const v of chunk.flat()) {
        await handToPerson(deps.workflows, v.hash, {
          eventId: v.id,
          type: v.e.type,
          effectiveDate: v.e.effectiveDate,
          ...(v.e.toUnitCode ? { toUnitCode: v.e.toUnitCode } : {}),
          ...(admin ? { byAdmin: true } : {}),
        });
        sent.add(v.id);
      }
    }),
  );
  const failure = handed.find((n) => n.status === 'rejected');
  if (failure) {
    log.error({ err: failure.reason }, 'cannot hand personnel events to their workflows');
    // Unscheduled events must not look accepted: forget them so that the sender's retry brings them again.
    // A hand-over that timed out may have reached the workflow all the same: one it applied meanwhile is
    // kept (the retry finds it a duplicate); one still waiting there is skipped if the retry never comes.
    const unsent = fresh.filter((v) => !sent.has(v.id)).map((v) => v.id);
    const forgotten =
      unsent.length === 0
        ? []
        : await db
            .delete(personnelEvents)
            .where(and(inArray(personnelEvents.eventId, unsent), eq(personnelEvents.status, 'scheduled')))
            .returning({ eventId: personnelEvents.eventId });
    throw unavailable(
      `The workflow service is not reachable; ${fresh.length - forgotten.length} event(s) were scheduled, ${forgotten.length} were not kept: send the call again.`,
    );
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
  const admin = 'actor' in sender ? sender.actor : null;
  if (admin) requireReportingAdmin(admin);
  const own = admin ? actorOf(admin.id) : HR_FEED;
  // Every sender's event of that id: the caller's own first, then HR's, then other admins' reports.
  const rank = (e: { source: string }) => (e.source === own ? 0 : e.source === HR_FEED ? 1 : 2);
  const candidates = (
    await db
      .select()
      .from(personnelEvents)
      .where(
        or(
          eq(personnelEvents.eventId, eventId),
          and(sql`${personnelEvents.source} <> ${HR_FEED}`, eq(personnelEvents.eventId, sql`${personnelEvents.source} || '/' || ${eventId}::text`)),
        ),
      )
  ).sort((a, b) => rank(a) - rank(b));
  let ev: (typeof candidates)[number] | undefined;
  for (const candidate of candidates) {
    if (!admin || admin.central || candidate.source === own || (await aboutAdminsUnits(deps, admin, candidate))) {
      ev = candidate;
      break;
    }
  }
  if (!ev) throw notFound(candidates.length > 0 ? 'There is no such personnel event in your units.' : 'There is no such personnel event.');
  return {
    eventId: sentEventId(ev.eventId, ev.source),
    type: ev.type,
    status: ev.status,
    outcome: ev.outcome,
    effectiveDate: ev.effectiveDate,
    appliedAt: ev.appliedAt?.toISOString() ?? null,
    receivedAt: ev.receivedAt.toISOString(),
    reviewId: ev.reviewId,
  };
}

/**
 * Whether the event is about a person of the admin's units, or one moving into them. Before it applies
 * the event names its person by citizen ID only (as the list finds them); after, by the account it changed.
 */
async function aboutAdminsUnits(deps: ServiceDeps, admin: Actor, ev: typeof personnelEvents.$inferSelect): Promise<boolean> {
  const [account] = await deps.db
    .select({ unitCode: accounts.unitCode })
    .from(accounts)
    .where(ev.accountId ? eq(accounts.id, ev.accountId) : eq(accounts.citizenIdHash, ev.citizenIdHash));
  const units = [account?.unitCode, ev.toUnitCode].filter((c): c is string => !!c);
  return (await Promise.all(units.map((u) => mayActFor(deps.db, admin, u)))).some(Boolean);
}

export interface PersonnelEventListItem {
  eventId: string;
  type: PersonnelEventType;
  status: PersonnelEventStatus;
  effectiveDate: string;
  toUnitCode: string | null;
  accountId: string | null;
  username: string | null;
  unitCode: string | null;
  outcome: string | null;
  reviewId: string | null;
  receivedAt: string;
}

/** Where a list of events resumes: the last row's exact time (as PostgreSQL writes it) and id. */
export interface PersonnelEventPosition {
  receivedAt: string;
  eventId: string;
}

/** What the console's list narrows to (the API's list takes the status only). */
export interface PersonnelEventFilter {
  status?: PersonnelEventStatus | undefined;
  type?: PersonnelEventType | undefined;
  /** A name, username or event id (part of it), or a whole citizen ID. */
  text?: string | undefined;
  /** Events about people of this unit and below, or moving into them: one of the admin's units (else 403). */
  unitCode?: string | undefined;
}

/**
 * The events an admin may see (those they sent, and those about people of their units or moving
 * into them), newest first: `limit + 1` rows after `after`, for the caller to page; each with the
 * person's name as their account has it.
 */
export async function listPersonnelEvents(
  deps: ServiceDeps,
  actor: Actor,
  query: PersonnelEventFilter & { limit: number; after?: PersonnelEventPosition | undefined },
): Promise<
  {
    item: PersonnelEventListItem;
    position: PersonnelEventPosition;
    person: { firstNameTh: string; lastNameTh: string } | null;
    /** Sent by the HR system (else reported by an admin); the new position of a change of duties. */
    details: { fromHr: boolean; newPosition: string | null };
  }[]
> {
  requireReportingAdmin(actor);
  const { db, cipher } = deps;
  const { status, type, unitCode, limit, after } = query;
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  const scope = actor.central
    ? undefined
    : or(eq(personnelEvents.source, actorOf(actor.id)), withinScopeSql(actor, accounts.unitCode), withinScopeSql(actor, personnelEvents.toUnitCode));
  const text = query.text?.trim();
  let textFilter;
  if (text && /^\d{13}$/.test(text)) {
    textFilter = eq(personnelEvents.citizenIdHash, cipher.lookupHash(text));
  } else if (text) {
    const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    textFilter = or(
      ilike(accounts.username, like),
      ilike(sql`${accounts.firstNameTh} || ' ' || ${accounts.lastNameTh}`, like),
      ilike(sql`coalesce(${accounts.firstNameEn}, '') || ' ' || coalesce(${accounts.lastNameEn}, '')`, like),
      ilike(personnelEvents.eventId, like),
    );
  }
  const rows = await db
    .select({
      ev: personnelEvents,
      at: sql<string>`${personnelEvents.receivedAt}::text`,
      username: accounts.username,
      accountId: accounts.id,
      unitCode: accounts.unitCode,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
    })
    .from(personnelEvents)
    .leftJoin(accounts, eq(accounts.citizenIdHash, personnelEvents.citizenIdHash))
    .where(
      and(
        scope,
        status ? eq(personnelEvents.status, status) : undefined,
        type ? eq(personnelEvents.type, type) : undefined,
        unitCode ? or(sql`${accounts.unitCode} in ${subtreeSql([unitCode])}`, sql`${personnelEvents.toUnitCode} in ${subtreeSql([unitCode])}`) : undefined,
        textFilter,
        after ? sql`(${personnelEvents.receivedAt}, ${personnelEvents.eventId}) < (${after.receivedAt}::timestamptz, ${after.eventId})` : undefined,
      ),
    )
    .orderBy(desc(personnelEvents.receivedAt), desc(personnelEvents.eventId))
    .limit(limit + 1);
  return rows.map(({ ev, at, username, accountId, unitCode, firstNameTh, lastNameTh }) => ({
    item: {
      eventId: sentEventId(ev.eventId, ev.source),
      type: ev.type,
      status: ev.status,
      effectiveDate: ev.effectiveDate,
      toUnitCode: ev.toUnitCode,
      accountId: accountId ?? ev.accountId,
      username,
      unitCode,
      outcome: ev.outcome,
      reviewId: ev.reviewId,
      receivedAt: ev.receivedAt.toISOString(),
    },
    position: { receivedAt: at, eventId: ev.eventId },
    person: firstNameTh !== null && lastNameTh !== null ? { firstNameTh, lastNameTh } : null,
    details: { fromHr: ev.source === HR_FEED, newPosition: ev.newPosition },
  }));
}
