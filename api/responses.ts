// What an operation may answer beside its own answers, declared once for the OpenAPI document: the
// problems that the body parser, the bearer-token hook (plugins/auth.ts), the throttles (throttle.ts)
// and the error handler (plugins/problems.ts) give any route they stand before. Routes declare only
// their own successes and the problems of their own rules (403, 404, 409...), with `problem()`.
import type { RouteOptions } from 'fastify';

/** A problem answer (RFC 9457) in a route's `response`, under the media type the error handler sends. */
export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });

/** A page answer (the browser's routes: ThaiID sign-in). */
export const pageAnswer = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

/** A redirect, to where `Location` says. */
export const redirect = (description: string) => ({ description, headers: { location: { schema: { type: 'string' } } } });

/** The mark of a throttle's hook: a route that runs one may answer 429. */
export const THROTTLE = Symbol('throttle');

const TAKES_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hooksOf(route: RouteOptions): unknown[] {
  return [route.onRequest, route.preParsing, route.preValidation, route.preHandler].flat().filter(Boolean);
}

/** Who may call a route (api/scope.ts) when it is not everyone: a signed-in account outside it gets 403. */
const OPEN = new Set(['public', 'credentials', 'signed-in', 'applicant']);

/** onRoute: adds the common problems to a documented route's responses (pages are hidden from the document). */
export function declareCommonResponses(route: RouteOptions): void {
  const schema = route.schema as (RouteOptions['schema'] & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
  if (!schema || schema.hide) return;
  const response = (schema.response ??= {});
  const add = (status: number, description: string) => {
    response[status] ??= problem(description);
  };
  const takesBody = [route.method].flat().some((m) => TAKES_BODY.has(m));
  const api = route.url.startsWith('/api/');
  if (takesBody || schema.body || schema.querystring || schema.params || schema.headers) {
    add(400, 'The request is malformed or a field is invalid: `errors` names each field and what is wrong.');
  }
  if (route.url.includes(':')) add(414, 'A path parameter is longer than any this API takes.');
  // The bearer-token hook reads every /api request that carries an Authorization header.
  if (api) add(401, 'Sign in first: no token, or the Authorization header is not "Bearer <token>", or its token is unknown, expired or revoked.');
  const scope = (route.config as { scope?: string } | undefined)?.scope;
  if (api && scope && !OPEN.has(scope)) add(403, 'The signed-in account may not do this (see who may, in the description).');
  if (takesBody) {
    add(413, 'The body is larger than this operation takes.');
    add(415, 'The body is of a media type this operation does not take.');
  }
  if (hooksOf(route).some((hook) => typeof hook === 'function' && THROTTLE in hook))
    add(429, 'Too many requests from this address or for this name; Retry-After says when to try again.');
  if (api) add(503, 'The database or Temporal cannot be reached just now: nothing was changed; Retry-After says when to try again.');
}
