// A failed query's error carries every bound value (names, e-mail addresses, keyed hashes,
// ciphertexts) in its message and its `params`, and the driver's error may too (`detail`,
// `parameters`): what reaches a log or Temporal keeps the SQL text and PostgreSQL's code only.
// A database that cannot be reached is told apart, for a 503 the caller can retry.
import { DrizzleQueryError } from 'drizzle-orm/errors';

export class QueryFailed extends Error {
  /** PostgreSQL's SQLSTATE, or the driver's code (ECONNREFUSED, CONNECTION_CLOSED…). */
  readonly code: string | undefined;
  constructor(query: string, code: string | undefined, reason: string | undefined) {
    super(`Failed query: ${query}${reason ? ` (${reason})` : ''}`);
    this.name = 'QueryFailed';
    this.code = code;
  }
}

/** The error without the values it was given: a DrizzleQueryError becomes a QueryFailed; anything else is left as it is. */
export function withoutQueryValues(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  // PostgreSQL names a value only after a colon ('invalid input syntax for type uuid: "…"'); the rest is kept.
  const reason = typeof cause?.message === 'string' ? cause.message.replace(/:\s*["'(].*$/s, '') : undefined;
  return new QueryFailed(error.query, code, reason);
}

/** Driver codes and SQLSTATEs of a database that is down, restarting or full: worth a retry, not a 500. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** Whether the error says the database cannot be reached now (directly, or as a failed query's cause). */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE.has(code) || code.startsWith('08'))) return true;
  }
  return false;
}

/** SQLSTATEs of a value PostgreSQL cannot store as text: a NUL character (22021), an untranslatable one (22P05). */
const UNSTORABLE = new Set(['22021', '22P05']);

/** Whether a query failed on text the request carried that the database cannot hold: bad input, a 400. */
export function isUnstorableText(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNSTORABLE.has(code)) return true;
  }
  return false;
}
