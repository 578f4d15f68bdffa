// The personnel feed (HR): changes of people, often dated ahead. Signed with HMAC by the HR system,
// or sent by an admin for the people of their own units (JSON or CSV). Each event is read here
// against its schema; services/personnel.ts judges, stores and hands it over.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PERSONNEL_EVENT_TYPES, type PersonnelEventStatus } from '../../db/schema.ts';
import { badRequest, forbidden, Problem, unauthorized, unavailable } from '../../lib/problem.ts';
import type { Actor } from '../../services/actor.ts';
import {
  listPersonnelEvents,
  receivePersonnelEvents,
  viewPersonnelEvent,
  type PersonnelEventInput,
  type PersonnelEventPosition,
  type PersonnelSender,
  type ReceivedEvent,
} from '../../services/personnel.ts';
import { listQuery, readCursor, toPage } from '../schemas.ts';
import { checker, validator } from '../uploads.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const MAX_SKEW_SECONDS = 300;

const eventSchema = {
  type: 'object',
  required: ['eventId', 'type', 'citizenId', 'effectiveDate'],
  additionalProperties: false,
  properties: {
    eventId: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[\\x21-\\x7e]+$' },
    type: { type: 'string', enum: [...PERSONNEL_EVENT_TYPES] },
    citizenId: { type: 'string', pattern: '^[0-9]{13}$' },
    effectiveDate: { type: 'string', format: 'date', christianEra: true },
    toUnitCode: { type: 'string', minLength: 1, maxLength: 32 },
    newPosition: { type: 'string', minLength: 1, maxLength: 200 },
    note: { type: 'string', maxLength: 2000 },
  },
} as const;
const checkEvent = checker(eventSchema);
const readBatch = validator<{ events: unknown[] }>({
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: { events: { type: 'array', minItems: 1, maxItems: 1000 } },
});

/** Each event against its schema, on its own: one bad event does not refuse the batch. */
const readEvents = (events: unknown[]): ReceivedEvent[] =>
  events.map((raw, index) => {
    const errors = checkEvent(raw, `events.${index}`);
    if (errors.length === 0) return { event: raw as PersonnelEventInput };
    const eventId = (raw as { eventId?: unknown } | null)?.eventId;
    return { eventId: typeof eventId === 'string' ? eventId : null, errors };
  });

const CSV_COLUMNS = ['eventId', 'type', 'citizenId', 'effectiveDate', 'toUnitCode', 'newPosition', 'note'];

export default async function personnelEventRoutes(app: FastifyInstance) {
  const { config } = app.deps;

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

  /** True for a valid HR signature; false when the call is not signed; 401/503 else. */
  function signedByHr(request: FastifyRequest): boolean {
    const signature = request.headers['x-hr-signature'];
    const timestamp = request.headers['x-hr-timestamp'];
    if (signature === undefined && timestamp === undefined) return false;
    if (!config.hrFeedSecret) throw unavailable('The personnel feed is disabled: HR_FEED_SECRET is not set.');
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) {
      throw unauthorized('Send X-HR-Timestamp (Unix seconds) and X-HR-Signature: sha256=<hex>.');
    }
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS)
      throw unauthorized('The signature is older than 300 s (or from the future): sign again.');
    // A POST signs its body; a GET has none, so it signs what it asks for (else one signed timestamp would open any event for 300 s).
    const signedPart = request.method === 'GET' ? Buffer.from(`${request.method} ${request.url}`) : (request.rawBody ?? Buffer.alloc(0));
    const expected = createHmac('sha256', config.hrFeedSecret).update(`${timestamp}.`).update(signedPart).digest();
    const given = /^sha256=([0-9a-f]{64})$/i.exec(signature);
    if (!given || !timingSafeEqual(Buffer.from(given[1]!, 'hex'), expected)) {
      throw unauthorized(
        request.method === 'GET'
          ? 'The signature does not match the request (sign timestamp + "." + "GET " + path).'
          : 'The signature does not match the body.',
      );
    }
    return true;
  }

  /** An admin's token (before the body is read: who may not send hears so first). */
  function adminCaller(request: FastifyRequest): Actor {
    const me = request.account;
    if (!me)
      throw config.hrFeedSecret
        ? unauthorized('Sign the call (X-HR-Signature) or sign in as an SSO admin.')
        : unavailable('The personnel feed is disabled: HR_FEED_SECRET is not set; admins may send events with their token.');
    if (!me.central && me.adminUnits.length === 0) throw forbidden('Only SSO admins may report personnel changes.');
    return me;
  }

  const senderOf = (request: FastifyRequest): PersonnelSender => (signedByHr(request) ? { hrFeed: true } : { actor: adminCaller(request) });

  app.post(
    '/personnel-events',
    {
      schema: {
        tags: ['personnel'],
        description:
          'Signed by the HR system (X-HR-Timestamp, X-HR-Signature = sha256=HMAC-SHA256(HR_FEED_SECRET, timestamp + "." + raw body)), or sent with an admin\'s token for the people of their units. Body { events: [...] }, 1–1000.',
      },
    },
    async (request, reply) => {
      const sender = senderOf(request);
      const { events } = readBatch(request.body);
      return reply.status(202).send(await receivePersonnelEvents(app.deps, sender, readEvents(events), request.log));
    },
  );

  app.post<{ Body: string }>(
    '/personnel-events/csv',
    {
      schema: {
        tags: ['personnel'],
        security: [{ bearer: [] }],
        consumes: ['text/csv'],
        description: `An admin's CSV with a header row: ${CSV_COLUMNS.join(',')}.`,
      },
    },
    async (request, reply) => {
      const me = adminCaller(request);
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
      return reply.status(202).send(await receivePersonnelEvents(app.deps, { actor: me }, readEvents(events), request.log));
    },
  );

  app.get<{ Querystring: { status?: PersonnelEventStatus; limit: number; cursor?: string } }>(
    '/personnel-events',
    {
      preValidation: app.requireAdmin,
      schema: {
        tags: ['personnel'],
        security: [{ bearer: [] }],
        description: 'Newest first: the events you sent and those about people of your units.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['scheduled', 'applied', 'failed', 'superseded'] }, ...listQuery },
        },
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      const rows = await listPersonnelEvents(app.deps, request.account!, {
        status,
        limit,
        after: readCursor<PersonnelEventPosition>(cursor, { receivedAt: 'time', eventId: 'string' }),
      });
      return toPage(
        rows,
        limit,
        (r) => r.item,
        (last) => last.position,
      );
    },
  );

  app.get<{ Params: { eventId: string } }>(
    '/personnel-events/:eventId',
    {
      schema: {
        tags: ['personnel'],
        params: { type: 'object', properties: { eventId: { type: 'string', maxLength: 100 } } },
        description:
          'Signed by the HR system (X-HR-Timestamp, X-HR-Signature = sha256=HMAC-SHA256(HR_FEED_SECRET, timestamp + "." + "GET " + path as sent, e.g. "GET /api/v1/personnel-events/ret-1")), or with an admin\'s token.',
      },
    },
    async (request) => viewPersonnelEvent(app.deps, senderOf(request), request.params.eventId),
  );
}
