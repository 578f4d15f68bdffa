// The personnel feed (HR): changes of people, often dated ahead. Signed with HMAC by the HR system,
// or sent by an admin for the people of their own units (JSON or CSV). Each event is read against its
// schema (api/personnel-input.ts, shared with the console); services/personnel.ts judges, stores and hands it over.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PERSONNEL_EVENT_TYPES, type PersonnelEventStatus } from '../../db/schema.ts';
import { forbidden, Problem, unauthorized, unavailable } from '../../lib/problem.ts';
import type { Actor } from '../../services/actor.ts';
import {
  listPersonnelEvents,
  receivePersonnelEvents,
  viewPersonnelEvent,
  type PersonnelEventPosition,
  type PersonnelSender,
} from '../../services/personnel.ts';
import { problem } from '../responses.ts';
import { answer, listQuery, nullableText, nullableTime, pageOf, readCursor, text, time, toPage } from '../schemas.ts';
import { CSV_COLUMNS, MAX_EVENTS, readEvents, readEventsCsv } from '../personnel-input.ts';
import { validator } from '../uploads.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const MAX_SKEW_SECONDS = 300;
const eventStatus = { type: 'string', enum: ['scheduled', 'applied', 'failed', 'superseded'] } as const;

const readBatch = validator<{ events: unknown[] }>({
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: { events: { type: 'array', minItems: 1, maxItems: MAX_EVENTS } },
});

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

  const received = {
    202: answer({
      accepted: { type: 'integer' },
      duplicates: { type: 'integer' },
      rejected: {
        type: 'array',
        items: answer({ index: { type: 'integer' }, eventId: nullableText, errors: { type: 'array', items: answer({ path: text, message: text }) } }),
      },
    }),
    503: problem('The database or Temporal cannot be reached, or (unsigned, without a token) the feed is disabled: HR_FEED_SECRET is not set.'),
  } as const;

  const senderOf = (request: FastifyRequest): PersonnelSender => (signedByHr(request) ? { hrFeed: true } : { actor: adminCaller(request) });

  app.post(
    '/personnel-events',
    {
      config: { scope: 'hr-feed' },
      schema: {
        tags: ['personnel'],
        description:
          'Signed by the HR system (X-HR-Timestamp, X-HR-Signature = sha256=HMAC-SHA256(HR_FEED_SECRET, timestamp + "." + raw body)), or sent with an admin\'s token for the people of their units. Body { events: [...] }, 1–1000.',
        response: received,
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
      config: { scope: 'hr-feed' },
      schema: {
        tags: ['personnel'],
        security: [{ bearer: [] }],
        consumes: ['text/csv'],
        description: `An admin's CSV with a header row: ${CSV_COLUMNS.join(',')}.`,
        response: received,
      },
    },
    async (request, reply) => {
      const me = adminCaller(request);
      if (typeof request.body !== 'string') throw new Problem(415, 'Unsupported Media Type', 'Send text/csv.');
      const events = readEventsCsv(request.body);
      return reply.status(202).send(await receivePersonnelEvents(app.deps, { actor: me }, readEvents(events), request.log));
    },
  );

  app.get<{ Querystring: { status?: PersonnelEventStatus; limit: number; cursor?: string } }>(
    '/personnel-events',
    {
      config: { scope: 'admin' },
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
        response: {
          200: pageOf(
            answer({
              eventId: text,
              type: { type: 'string', enum: [...PERSONNEL_EVENT_TYPES] },
              status: eventStatus,
              effectiveDate: text,
              toUnitCode: nullableText,
              accountId: nullableText,
              username: nullableText,
              unitCode: nullableText,
              outcome: nullableText,
              reviewId: nullableText,
              receivedAt: time,
            }),
          ),
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
      config: { scope: 'hr-feed' },
      schema: {
        tags: ['personnel'],
        params: { type: 'object', properties: { eventId: { type: 'string', maxLength: 100 } } },
        response: {
          200: answer({
            eventId: text,
            type: { type: 'string', enum: [...PERSONNEL_EVENT_TYPES] },
            status: eventStatus,
            outcome: nullableText,
            effectiveDate: text,
            appliedAt: nullableTime,
            receivedAt: time,
            reviewId: nullableText,
          }),
          404: problem('There is no such personnel event (in your units).'),
          503: problem('The database cannot be reached, or (unsigned, without a token) the feed is disabled: HR_FEED_SECRET is not set.'),
        },
        description:
          'Signed by the HR system (X-HR-Timestamp, X-HR-Signature = sha256=HMAC-SHA256(HR_FEED_SECRET, timestamp + "." + "GET " + path as sent, e.g. "GET /api/v1/personnel-events/ret-1")), or with an admin\'s token.',
      },
    },
    async (request) => viewPersonnelEvent(app.deps, senderOf(request), request.params.eventId),
  );
}
