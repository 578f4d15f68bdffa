// Turns every error into application/problem+json; bad input is a 4xx a person can act on, never a 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderPage } from '../../lib/pages.ts';
import fp from 'fastify-plugin';
import { fieldErrorsOf, Problem, SecondFactorProblem, type FieldError } from '../../lib/problem.ts';
import { isDatabaseUnreachable, isUnstorableText, withoutQueryValues } from '../../lib/query-errors.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  423: 'Locked',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A browser on one of the pages (not the API) is answered with a page, not JSON. */
function wantsPage(request: FastifyRequest): boolean {
  return !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

/** The answer to a request refused with `status`: a page for a browser on the pages, else problem+json. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  members: { errors?: FieldError[]; mfa?: string } = {},
): void {
  if (status === 429) reply.header('retry-after', reply.getHeader('retry-after') ?? '60');
  if (status === 503) reply.header('retry-after', reply.getHeader('retry-after') ?? '30');
  if (wantsPage(request)) {
    void reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(renderPage('message', { title: TITLES[status] ?? 'Error', message: detail, error: true }));
    return;
  }
  void reply
    .status(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...members, instance: request.url.split('?')[0] });
}

/**
 * Fastify's own refusals before any route is found (a path that is not valid URL encoding, a path
 * parameter over its length limit) as problems too, with the status Fastify gives them.
 */
export function frameworkProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [status, detail] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'A part of the path is longer than any this API takes.']
      : error.code === 'FST_ERR_BAD_URL'
        ? [400, 'The path is not valid URL encoding.']
        : [500, 'Something went wrong on our side; the request id helps us find it.'];
  sendProblem(request, reply, status, detail);
}

export default fp(async function problems(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status: number;
    let detail: string;
    let errors: FieldError[] | undefined;
    if (error instanceof Problem) {
      status = error.status;
      detail = error.message;
      errors = error.errors;
    } else if (error.validation) {
      status = 400;
      errors = fieldErrorsOf(error.validation, '', error.validationContext ?? 'body');
      detail = errors?.map((e) => e.message).join('; ') ?? error.message;
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      detail = error.message;
    } else if (isUnstorableText(error)) {
      status = 400;
      detail = 'A field holds a character that cannot be stored (such as U+0000); remove it and send the request again.';
    } else if (isDatabaseUnreachable(error)) {
      status = 503;
      detail = 'The database cannot be reached just now: nothing was changed, send the request again in a minute.';
      request.log.error({ err: withoutQueryValues(error) }, 'database unreachable');
    } else {
      status = 500;
      detail = 'Something went wrong on our side; the request id helps us find it.';
      request.log.error({ err: withoutQueryValues(error) }, 'unhandled error');
    }
    sendProblem(request, reply, status, detail, {
      ...(errors ? { errors } : {}),
      ...(error instanceof SecondFactorProblem ? { mfa: error.mfa } : {}),
    });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `${request.method} ${request.url.split('?')[0]} does not exist`,
      });
  });
});
