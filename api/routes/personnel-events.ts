// The personnel feed (HR): changes of people, often dated ahead. Signed with HMAC by the HR system,
// or sent by an admin for the people of their own units (JSON or CSV). Each event is validated on
// its own, stored once per eventId, and handed to the person's workflow.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { parse as parseCsv } from 'csv-parse/sync';
import { eq, inArray } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.ts';
import { accounts, orgUnits, PERSONNEL_EVENT_TYPES, personnelEvents, type PersonnelEventType } from '../../db/schema.ts';
import { isValidCitizenId } from '../../lib/citizen-id.ts';
import type { Config } from '../../lib/config.ts';
import type { PersonalDataCipher } from '../../lib/crypto.ts';
import { handToPerson } from '../../services/workflows.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { badRequest, forbidden, notFound, Problem, unauthorized, unavailable, type FieldError } from '../../lib/problem.ts';
import { checker, validator } from '../uploads.ts';

declare module 'fastify' {
  interface FastifyRequest { rawBody?: Buffer }
}

export interface PersonnelEventInput {
  eventId: string; type: PersonnelEventType; citizenId: string; effectiveDate: string;
  toUnitCode?: string; newPosition?: string; note?: string;
}

const MAX_SKEW_SECONDS = 300;

const eventSchema = {
  type: 'object', required: ['eventId', 'type', 'citizenId', 'effectiveDate'], additionalProperties: false,
  properties: {
    eventId: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[\\x21-\\x7e]+$' },
    type: { type: 'string', enum: [...PERSONNEL_EVENT_TYPES] },
    citizenId: { type: 'string', pattern: '^[0-9]{13}$' },
    effectiveDate: { type: 'string', format: 'date' },
    toUnitCode: { type: 'string', minLength: 1, maxLength: 32 },
    newPosition: { type: 'string', minLength: 1, maxLength: 200 },
    note: { type: 'string', maxLength: 2000 },
  },
} as const;
const checkEvent = checker(eventSchema);
const readBatch = validator<{ events: unknown[] }>({
  type: 'object', required: ['events'], additionalProperties: false,
  properties: { events: { type: 'array', minItems: 1, maxItems: 1000 } },
});

export interface BatchResult { accepted: number; duplicates: number; rejected: { index: number; eventId: string | null; errors: FieldError[] }[] }

/** Stores each valid event once and tells the person's workflow; the HR feed and admins share this. */
export async function receivePersonnelEvents(
  deps: { db: Db; temporal: Client; config: Config; cipher: PersonalDataCipher }, events: unknown[], source: string,
  inScope?: (accountUnitCode: string | null) => Promise<boolean>,
): Promise<BatchResult> {
  const { db, temporal, config, cipher } = deps;
  const rejected: BatchResult['rejected'] = [];
  const valid: { index: number; e: PersonnelEventInput; hash: string }[] = [];
  const unitCodes = [...new Set(events.map((e) => (e as { toUnitCode?: unknown })?.toUnitCode).filter((c): c is string => typeof c === 'string'))];
  const knownUnits = new Set(unitCodes.length === 0 ? [] : (await db.select({ code: orgUnits.code }).from(orgUnits).where(inArray(orgUnits.code, unitCodes))).map((u) => u.code));
  for (const [index, raw] of events.entries()) {
    const eventId = typeof (raw as { eventId?: unknown })?.eventId === 'string' ? (raw as { eventId: string }).eventId : null;
    const errors: FieldError[] = checkEvent(raw, `events.${index}`);
    if (errors.length === 0) {
      const e = raw as PersonnelEventInput;
      if (!isValidCitizenId(e.citizenId)) errors.push({ path: `events.${index}.citizenId`, message: 'citizenId is not a valid Thai citizen ID (check digit)' });
      if (e.type === 'transfer' && !e.toUnitCode) errors.push({ path: `events.${index}.toUnitCode`, message: 'a transfer needs toUnitCode' });
      if (e.toUnitCode && !knownUnits.has(e.toUnitCode)) errors.push({ path: `events.${index}.toUnitCode`, message: `unit ${e.toUnitCode} does not exist` });
      if (e.type !== 'transfer' && e.toUnitCode) errors.push({ path: `events.${index}.toUnitCode`, message: 'toUnitCode goes only with a transfer' });
    }
    if (errors.length === 0) {
      const e = raw as PersonnelEventInput;
      const hash = cipher.lookupHash(e.citizenId);
      if (inScope) {
        const [account] = await db.select({ unitCode: accounts.unitCode }).from(accounts).where(eq(accounts.citizenIdHash, hash));
        if (!account || !(await inScope(account.unitCode))) errors.push({ path: `events.${index}.citizenId`, message: 'this person has no account in the units you administer' });
      }
      if (errors.length === 0) valid.push({ index, e, hash });
    }
    if (errors.length > 0) rejected.push({ index, eventId, errors });
  }
  // One statement: concurrent calls with the same eventId race on the primary key, and one wins.
  const insertedIds = valid.length === 0 ? new Set<string>() : new Set((await db.insert(personnelEvents).values(valid.map((v) => ({
    eventId: v.e.eventId, type: v.e.type, citizenIdHash: v.hash, citizenIdEnc: cipher.encrypt(v.e.citizenId), effectiveDate: v.e.effectiveDate,
    toUnitCode: v.e.toUnitCode ?? null, newPosition: v.e.newPosition ?? null, note: v.e.note ?? null, source,
  }))).onConflictDoNothing().returning({ eventId: personnelEvents.eventId })).map((r) => r.eventId));
  const fresh = valid.filter((v) => insertedIds.delete(v.e.eventId)); // delete: a repeat within the call counts once
  const duplicates = valid.length - fresh.length;
  const notified = await Promise.allSettled(chunked(fresh, 50).map(async (chunk) => {
    for (const v of chunk) {
      await handToPerson({ client: temporal, config }, v.hash, { eventId: v.e.eventId, type: v.e.type, effectiveDate: v.e.effectiveDate });
      (v as { sent?: boolean }).sent = true;
    }
  }));
  if (notified.some((n) => n.status === 'rejected')) {
    // Unscheduled events must not look accepted: forget them so that the sender's retry brings them again.
    const unsent = fresh.filter((v) => !(v as { sent?: boolean }).sent).map((v) => v.e.eventId);
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

const CSV_COLUMNS = ['eventId', 'type', 'citizenId', 'effectiveDate', 'toUnitCode', 'newPosition', 'note'];

export default async function personnelEventRoutes(app: FastifyInstance) {
  const { db, config } = app.deps;

  // The signature covers the raw body: keep it as it came.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 2 * 1024 * 1024 }, (request, body, done) => {
    request.rawBody = body as Buffer;
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch {
      done(new Problem(400, 'Bad Request', 'The body is not valid JSON.'), undefined);
    }
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 }, (_request, body, done) => done(null, body));

  /** 'hr-feed' for a valid signature; an admin's token otherwise; 401/503 else. */
  function hrSignature(request: FastifyRequest): 'hr-feed' | null {
    const signature = request.headers['x-hr-signature'];
    const timestamp = request.headers['x-hr-timestamp'];
    if (signature === undefined && timestamp === undefined) return null;
    if (!config.hrFeedSecret) throw unavailable('The personnel feed is disabled: HR_FEED_SECRET is not set.');
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) {
      throw unauthorized('Send X-HR-Timestamp (Unix seconds) and X-HR-Signature: sha256=<hex>.');
    }
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) throw unauthorized('The signature is older than 300 s (or from the future): sign again.');
    const expected = createHmac('sha256', config.hrFeedSecret).update(`${timestamp}.`).update(request.rawBody ?? Buffer.alloc(0)).digest();
    const given = /^sha256=([0-9a-f]{64})$/i.exec(signature);
    if (!given || !timingSafeEqual(Buffer.from(given[1]!, 'hex'), expected)) throw unauthorized('The signature does not match the body.');
    return 'hr-feed';
  }

  const adminScope = (me: SignedInAccount) => async (unitCode: string | null) => (unitCode ? app.mayActFor(me, unitCode) : me.central);

  function requireAdminCaller(request: FastifyRequest): SignedInAccount {
    const me = request.account;
    if (!me) throw config.hrFeedSecret ? unauthorized('Sign the call (X-HR-Signature) or sign in as an SSO admin.') : unavailable('The personnel feed is disabled: HR_FEED_SECRET is not set; admins may send events with their token.');
    if (!me.central && me.adminUnits.length === 0) throw forbidden('Only SSO admins may report personnel changes.');
    return me;
  }

  app.post('/personnel-events', {
    schema: {
      tags: ['personnel'],
      description: 'Signed by the HR system (X-HR-Timestamp, X-HR-Signature = sha256=HMAC-SHA256(HR_FEED_SECRET, timestamp + "." + raw body)), or sent with an admin\'s token for the people of their units. Body { events: [...] }, 1–1000.',
    },
  }, async (request, reply) => {
    const signed = hrSignature(request);
    const me = signed ? null : requireAdminCaller(request);
    const body = readBatch(request.body);
    const result = await receivePersonnelEvents(app.deps, body.events, signed ?? `account:${me!.id}`, me ? adminScope(me) : undefined);
    return reply.status(202).send(result);
  });

  app.post<{ Body: string }>('/personnel-events/csv', {
    schema: { tags: ['personnel'], security: [{ bearer: [] }], consumes: ['text/csv'], description: `An admin's CSV with a header row: ${CSV_COLUMNS.join(',')}.` },
  }, async (request, reply) => {
    const me = requireAdminCaller(request);
    if (typeof request.body !== 'string') throw new Problem(415, 'Unsupported Media Type', 'Send text/csv.');
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(request.body, { columns: true, skip_empty_lines: true, trim: true, bom: true });
    } catch (error) {
      throw badRequest(`The CSV cannot be read: ${(error as Error).message}`);
    }
    const unknown = rows.length > 0 ? Object.keys(rows[0]!).filter((c) => !CSV_COLUMNS.includes(c)) : [];
    if (unknown.length > 0) throw badRequest(`Unknown CSV column(s): ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(', ')}.`);
    if (rows.length < 1 || rows.length > 1000) throw badRequest('Send 1 to 1000 rows.');
    const events = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '')));
    return reply.status(202).send(await receivePersonnelEvents(app.deps, events, `account:${me.id}`, adminScope(me)));
  });

  app.get<{ Params: { eventId: string } }>('/personnel-events/:eventId', {
    schema: { tags: ['personnel'], params: { type: 'object', properties: { eventId: { type: 'string', maxLength: 100 } } } },
  }, async (request) => {
    const signed = hrSignature(request);
    const [ev] = await db.select().from(personnelEvents).where(eq(personnelEvents.eventId, request.params.eventId));
    if (!signed) {
      const me = requireAdminCaller(request);
      if (ev && !me.central) {
        const [account] = ev.accountId ? await db.select({ unitCode: accounts.unitCode }).from(accounts).where(eq(accounts.id, ev.accountId)) : [];
        const units = [account?.unitCode, ev.toUnitCode].filter((c): c is string => !!c);
        const allowed = ev.source === `account:${me.id}` || (await Promise.all(units.map((u) => app.mayActFor(me, u)))).some(Boolean);
        if (!allowed) throw notFound('There is no such personnel event in your units.');
      }
    }
    if (!ev) throw notFound('There is no such personnel event.');
    return {
      eventId: ev.eventId, type: ev.type, status: ev.status, outcome: ev.outcome, effectiveDate: ev.effectiveDate,
      appliedAt: ev.appliedAt?.toISOString() ?? null, receivedAt: ev.receivedAt.toISOString(), reviewId: ev.reviewId,
    };
  });
}
