// The audit trail: who, what, when, why, with the record before and after. Written in the same
// transaction as the change it describes. Append-only and hash-chained: each event's hash covers
// its content and the hash of the event before, so an edit, a deletion or a reordering anywhere
// but at the very end breaks the chain (`npm run audit:verify`).
import { createHash } from 'node:crypto';
import { asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { auditEvents } from './schema.ts';

export interface AuditEntry {
  key: string;
  actorAccountId?: string | null | undefined;
  /** `account:<id>`, `applicant`, `system` (a workflow's own decision) or `hr-feed`. */
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  unitCode?: string | null | undefined;
  reason?: string | null | undefined;
  before?: unknown;
  after?: unknown;
}

/** Any constant of ours: serialises appends so that each links to the one before. */
const AUDIT_CHAIN_LOCK = 727_002;

/** JSON with keys sorted at every level: jsonb does not keep key order, the hash must not depend on it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

type StoredEvent = typeof auditEvents.$inferSelect;

/** The hash of an event: its id, time, content and the previous event's hash. */
export function auditHash(event: Omit<StoredEvent, 'hash'>): string {
  const { id, at, prevHash, key, actorAccountId, actor, action, subjectType, subjectId, unitCode, reason, before, after } = event;
  return createHash('sha256').update(canonicalJson({
    id, at: at.toISOString(), prevHash, key, actorAccountId, actor, action, subjectType, subjectId, unitCode, reason, before, after,
  })).digest('hex');
}

/** Appends an event unless one with the same key exists (a retried step writes nothing twice). */
export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
  const [existing] = await db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.key, entry.key));
  if (existing) return;
  const [last] = await db.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  const [{ id } = { id: 0 }] = await db.execute(sql`select nextval(pg_get_serial_sequence('audit_events', 'id'))::bigint as id`)
    .then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { id: string | number }[])
    .then((rows) => rows.map((r) => ({ id: Number(r.id) })));
  // Microseconds are what PostgreSQL keeps; a Date has milliseconds, so nothing is lost on the way back.
  const event = {
    id, at: new Date(), prevHash: last?.hash ?? null, key: entry.key,
    actorAccountId: entry.actorAccountId ?? null, actor: entry.actor, action: entry.action,
    subjectType: entry.subjectType, subjectId: entry.subjectId, unitCode: entry.unitCode ?? null, reason: entry.reason ?? null,
    before: normalise(entry.before), after: normalise(entry.after),
  };
  await db.insert(auditEvents).values({ ...event, hash: auditHash(event) });
}

/** What jsonb will give back: plain JSON (dates as strings, no undefined). */
function normalise(value: unknown): unknown {
  return value === undefined || value === null ? null : JSON.parse(JSON.stringify(value));
}

export const actorOf = (accountId: string | null | undefined) => (accountId ? `account:${accountId}` : 'system');

export interface ChainReport { checked: number; broken?: { id: number; problem: string } }

/** Walks the whole trail in order and names the first event whose hash or link does not hold. */
export async function verifyAuditChain(db: Db, batch = 5000): Promise<ChainReport> {
  let previous: string | null = null;
  let lastId = 0;
  let checked = 0;
  for (;;) {
    const rows: StoredEvent[] = await db.select().from(auditEvents).where(gt(auditEvents.id, lastId)).orderBy(asc(auditEvents.id)).limit(batch);
    for (const row of rows) {
      if (row.prevHash !== previous) {
        return { checked, broken: { id: row.id, problem: checked === 0 && row.prevHash !== null ? 'the first event links to one that is missing' : 'it does not link to the event before it (an event was deleted, inserted or moved)' } };
      }
      if (auditHash(row) !== row.hash) return { checked, broken: { id: row.id, problem: 'its content does not match its hash (it was edited)' } };
      previous = row.hash;
      lastId = row.id;
      checked++;
    }
    if (rows.length < batch) return { checked };
  }
}
