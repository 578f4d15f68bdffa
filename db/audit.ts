// The audit trail: who, what, when, why, with the record before and after. Written in the same
// transaction as the change it describes. Append-only and hash-chained: each event's hash covers
// its content and the hash of the event before, so an edit, a deletion or a reordering anywhere
// but at the very end breaks the chain (`npm run audit:verify`).
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Queryable, Tx } from './client.ts';
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

/**
 * Appends to one chain are serialised (each links to the one before), and the lock is held until
 * the transaction commits. One chain would cap the whole service at one commit at a time, so
 * events are spread over parallel chains, each verified on its own. A transaction keeps to one
 * chain (the first event's): holding two chain locks in different orders could deadlock.
 */
export const AUDIT_CHAINS = 16;
const AUDIT_CHAIN_LOCK = 727_100; // any constant of ours; chain n locks AUDIT_CHAIN_LOCK + n

export function chainOf(subjectType: string, subjectId: string): number {
  return createHash('sha256').update(`${subjectType}:${subjectId}`).digest().readUInt32BE(0) % AUDIT_CHAINS;
}

const chainOfTransaction = new WeakMap<object, number>();

const isTransaction = (db: Queryable): db is Tx => typeof (db as { rollback?: unknown }).rollback === 'function';

/** The chain this transaction appends to, locked until it commits. */
async function lockChain(tx: Tx, preferred: number): Promise<number> {
  const held = chainOfTransaction.get(tx);
  if (held !== undefined) return held;
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK + preferred})`);
  chainOfTransaction.set(tx, preferred);
  return preferred;
}

/** JSON with keys sorted at every level: jsonb does not keep key order, the hash must not depend on it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

type StoredEvent = typeof auditEvents.$inferSelect;

/** The hash of an event: its id, time, content and the previous event's hash. */
export function auditHash(event: Omit<StoredEvent, 'hash'>): string {
  const { id, at, chain, prevHash, key, actorAccountId, actor, action, subjectType, subjectId, unitCode, reason, before, after } = event;
  return createHash('sha256')
    .update(
      canonicalJson({
        id,
        at: at.toISOString(),
        chain,
        prevHash,
        key,
        actorAccountId,
        actor,
        action,
        subjectType,
        subjectId,
        unitCode,
        reason,
        before,
        after,
      }),
    )
    .digest('hex');
}

/** An entry's own columns, as the hash covers them (the chain's columns come from where it is appended). */
function entryFields(entry: AuditEntry) {
  return {
    key: entry.key,
    actorAccountId: entry.actorAccountId ?? null,
    actor: entry.actor,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    unitCode: entry.unitCode ?? null,
    reason: entry.reason ?? null,
    before: normalise(entry.before),
    after: normalise(entry.after),
  };
}

/** Appends an event unless one with the same key exists (a retried step writes nothing twice). */
export async function writeAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  // Outside a transaction the lock would end with its own statement and two writers would link to one previous event (a fork).
  if (!isTransaction(db)) return db.transaction((tx) => writeAudit(tx, entry));
  const chain = await lockChain(db, chainOf(entry.subjectType, entry.subjectId));
  // One round trip: is the key there already, the chain's last hash, and the next id (a gap in
  // the ids when the key exists is harmless: the chain links by hash, not by id).
  const [state] = await db
    .execute(
      sql`select
      exists(select 1 from audit_events where key = ${entry.key}) as "exists",
      (select hash from audit_events where chain = ${chain} order by id desc limit 1) as "prev",
      nextval(pg_get_serial_sequence('audit_events', 'id'))::bigint as "id"`,
    )
    .then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { exists: boolean; prev: string | null; id: string | number }[]);
  if (!state || state.exists) return;
  const id = Number(state.id);
  const last = state.prev === null ? undefined : { hash: state.prev };
  // Microseconds are what PostgreSQL keeps; a Date has milliseconds, so nothing is lost on the way back.
  const event = {
    id,
    at: new Date(),
    chain,
    prevHash: last?.hash ?? null,
    ...entryFields(entry),
  };
  await db.insert(auditEvents).values({ ...event, hash: auditHash(event) });
}

/** What jsonb will give back: plain JSON (dates as strings, no undefined). */
function normalise(value: unknown): unknown {
  return value === undefined || value === null ? null : JSON.parse(JSON.stringify(value));
}

const ACCOUNT_ACTOR = 'account:';
/** The actor an account's act is written under (`account:<id>`), `system` for a workflow's own. */
export const actorOf = (accountId: string | null | undefined) => (accountId ? `${ACCOUNT_ACTOR}${accountId}` : 'system');
/** The account behind an actor written by `actorOf`, or null (`system`, `hr-feed`, `schedule:<name>`, `applicant`). */
export const accountOfActor = (actor: string): string | null => (actor.startsWith(ACCOUNT_ACTOR) ? actor.slice(ACCOUNT_ACTOR.length) : null);

export interface ChainReport {
  checked: number;
  broken?: { id: number; problem: string };
}

/** Where a chain's check stands: the last event that held, and how many held so far. */
export interface ChainPosition {
  lastId: number;
  previousHash: string | null;
  checked: number;
}

/** How many events the trail holds (the denominator of a verification's progress). */
export async function countAuditEvents(db: Queryable): Promise<number> {
  const [row] = await db.select({ n: sql<string | number>`count(*)` }).from(auditEvents);
  return Number(row?.n ?? 0);
}

/**
 * Walks one chain in order, in batches, from the start or from `from` (where an interrupted walk
 * stood), calling `onBatch` after each batch; names the first event whose hash or link does not hold.
 */
export async function verifyChain(
  db: Queryable,
  chain: number,
  options: { from?: ChainPosition | undefined; batch?: number; onBatch?: (position: ChainPosition) => void | Promise<void> } = {},
): Promise<ChainReport> {
  const batch = options.batch ?? 5000;
  let { lastId, previousHash: previous, checked } = options.from ?? { lastId: 0, previousHash: null, checked: 0 };
  for (;;) {
    const rows: StoredEvent[] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.chain, chain), gt(auditEvents.id, lastId)))
      .orderBy(asc(auditEvents.id))
      .limit(batch);
    for (const row of rows) {
      let problem: string | undefined;
      if (row.prevHash !== previous) {
        problem =
          previous === null && row.prevHash !== null
            ? 'the first event of its chain links to one that is missing (an event was deleted)'
            : 'it does not link to the event before it (an event was deleted, inserted or moved)';
      } else if (auditHash(row) !== row.hash) {
        problem = 'its content does not match its hash (it was edited or moved)';
      }
      if (problem) return { checked, broken: { id: row.id, problem } };
      previous = row.hash;
      lastId = row.id;
      checked++;
    }
    await options.onBatch?.({ lastId, previousHash: previous, checked });
    if (rows.length < batch) return { checked };
  }
}

/** Walks every chain in order and names the first event whose hash or link does not hold. */
export async function verifyAuditChain(db: Queryable, batch = 5000): Promise<ChainReport> {
  let checked = 0;
  let firstBroken: ChainReport['broken'];
  for (let chain = 0; chain < AUDIT_CHAINS; chain++) {
    const report = await verifyChain(db, chain, { batch });
    checked += report.checked;
    if (report.broken && (!firstBroken || report.broken.id < firstBroken.id)) firstBroken = report.broken;
  }
  return firstBroken ? { checked, broken: firstBroken } : { checked };
}

/**
 * Appends many events at once (a campaign's rule over thousands of rights): one lock, one read of
 * the last hash, the links computed here, inserts in bulk.
 */
export async function writeAuditBatch(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (!isTransaction(db)) return db.transaction((tx) => writeAuditBatch(tx, entries));
  const chain = await lockChain(db, chainOf(entries[0]!.subjectType, entries[0]!.subjectId));
  const known = new Set<string>();
  for (let i = 0; i < entries.length; i += 5000) {
    const keys = entries.slice(i, i + 5000).map((e) => e.key);
    for (const r of await db.select({ key: auditEvents.key }).from(auditEvents).where(inArray(auditEvents.key, keys))) known.add(r.key);
  }
  const fresh = entries.filter((e) => !known.has(e.key));
  if (fresh.length === 0) return;
  const [last] = await db.select({ hash: auditEvents.hash }).from(auditEvents).where(eq(auditEvents.chain, chain)).orderBy(desc(auditEvents.id)).limit(1);
  const ids = (
    await db
      .execute(sql`select nextval(pg_get_serial_sequence('audit_events', 'id'))::bigint as id from generate_series(1, ${fresh.length})`)
      .then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { id: string | number }[])
  )
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);
  let prevHash = last?.hash ?? null;
  const at = new Date();
  const rows = fresh.map((entry, i) => {
    const event = {
      id: ids[i]!,
      at,
      chain,
      prevHash,
      ...entryFields(entry),
    };
    const hash = auditHash(event);
    prevHash = hash;
    return { ...event, hash };
  });
  for (let i = 0; i < rows.length; i += 2000) await db.insert(auditEvents).values(rows.slice(i, i + 2000));
}
