// RFC 9457 problem details: every error the API returns has this shape.
export interface FieldError {
  path: string;
  message: string;
}

export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  constructor(status: number, title: string, detail?: string, errors?: FieldError[]) {
    super(detail ?? title);
    this.status = status;
    this.title = title;
    this.errors = errors;
  }
}

/** What a sign-in lacks of its second factor (CONTRACT.md, Sign-in → Second factor): a code, or enrolment first. */
export type SecondFactorStep = 'required' | 'enrolment_required';

/** 401 carrying `"mfa": "required" | "enrolment_required"` beside the usual problem members. */
export class SecondFactorProblem extends Problem {
  readonly mfa: SecondFactorStep;
  constructor(mfa: SecondFactorStep, detail: string) {
    super(401, 'Unauthorized', detail);
    this.mfa = mfa;
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new Problem(400, 'Bad Request', detail, errors);
export const invalid = (path: string, message: string) => badRequest(message, [{ path, message }]);
export const unauthorized = (detail = 'Sign in first.') => new Problem(401, 'Unauthorized', detail);
export const forbidden = (detail: string) => new Problem(403, 'Forbidden', detail);
export const notFound = (detail: string) => new Problem(404, 'Not Found', detail);
export const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
export const unavailable = (detail: string) => new Problem(503, 'Service Unavailable', detail);

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    mfa: { type: 'string', enum: ['required', 'enrolment_required'] },
    instance: { type: 'string', description: 'The path that answered.' },
  },
  required: ['type', 'title', 'status', 'detail'],
} as const;

/** One Ajv error as JSON Schema validators report it (Fastify's and our own). */
interface SchemaError {
  instancePath: string;
  message?: string | undefined;
  params?: unknown;
}

/**
 * Schema errors as field errors, the one wording of the API's and the uploads' validation: the
 * path dotted (under `root` when given, else `fallback` for the value itself), a missing or
 * unknown property named.
 */
export function fieldErrorsOf(errors: readonly SchemaError[] | null | undefined, root = '', fallback = root): FieldError[] {
  return (errors ?? []).map((e) => {
    const params = (e.params ?? {}) as { missingProperty?: string; additionalProperty?: string };
    const name = params.missingProperty ?? params.additionalProperty;
    const path = [root, e.instancePath.replace(/^\//, '').replace(/\//g, '.'), name].filter(Boolean).join('.') || fallback;
    const message = params.additionalProperty ? `${path} is not a known field` : `${path} ${e.message ?? 'is invalid'}`;
    return { path, message };
  });
}
