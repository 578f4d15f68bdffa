// JSON schemas shared by several routes.
import { PASSWORD_RULE } from '../lib/passwords.ts';
import { invalid } from '../lib/problem.ts';
import { ENTITLEMENT_STATUSES, UNIT_KINDS } from '../db/schema.ts';

export const uuidParam = (name: string) =>
  ({
    type: 'object',
    required: [name],
    properties: { [name]: { type: 'string', format: 'uuid' } },
  }) as const;

export const unitCode = { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' } as const;
export const systemCode = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' } as const;
export const citizenId = { type: 'string', pattern: '^[0-9]{13}$', description: 'Thai citizen ID, 13 digits with a valid check digit' } as const;
export const username = { type: 'string', minLength: 3, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' } as const;
export const password = { type: 'string', ...PASSWORD_RULE } as const;
export const email = { type: 'string', format: 'email', maxLength: 254 } as const;
export const thaiName = { type: 'string', minLength: 1, maxLength: 100 } as const;

export const accessList = {
  type: 'array',
  maxItems: 50,
  items: {
    type: 'object',
    required: ['system', 'role'],
    additionalProperties: false,
    properties: { system: systemCode, role: { type: 'string', minLength: 1, maxLength: 64 } },
  },
} as const;

export const listQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  cursor: { type: 'string', maxLength: 200 },
} as const;

/** Opaque cursors for keyset pagination. */
const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What each field of a cursor holds: checked before it reaches a query (a forged value would fail there, a 500). */
export type CursorField = 'string' | 'uuid' | 'time' | 'integer';
/** An ISO time, or PostgreSQL's text of a timestamptz (`2026-11-28 01:44:38.123456+00`). */
const TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const isCalendarDay = (day: string) => {
  const at = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().startsWith(day);
};
const CURSOR_FIELD: Record<CursorField, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  uuid: (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  time: (v) => typeof v === 'string' && TIME.test(v) && isCalendarDay(v.slice(0, 10)),
  integer: (v) => Number.isSafeInteger(v),
};

/**
 * Where a list resumes: the cursor a previous page gave, of the fields `shape` names, or a 400 for
 * one this API never made.
 */
export function readCursor<T>(cursor: string | undefined, shape: { [K in keyof T]-?: CursorField }): T | undefined {
  if (!cursor) return undefined;
  const refuse = () => invalid('cursor', 'cursor is not one this API returned');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse();
  const fields = value as Record<string, unknown>;
  const wanted = Object.entries(shape) as [string, CursorField][];
  if (Object.keys(fields).length !== wanted.length || !wanted.every(([name, kind]) => CURSOR_FIELD[kind](fields[name]))) throw refuse();
  return value as T;
}

/** A page of `limit` items from rows fetched with `limit + 1`, and the cursor after its last row. */
export function toPage<R, I>(rows: R[], limit: number, item: (row: R) => I, cursorOf: (last: R) => unknown): { items: I[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { items: page.map(item), nextCursor: rows.length > limit ? encodeCursor(cursorOf(page[page.length - 1]!)) : null };
}

/** One unit of the tree as `PUT /org-units` takes it (the console's CSV import checks its rows against it too). */
export const orgUnitItem = {
  type: 'object',
  required: ['code', 'kind', 'nameTh'],
  additionalProperties: false,
  properties: {
    code: unitCode,
    parentCode: { anyOf: [unitCode, { type: 'null' }] },
    kind: { type: 'string', enum: [...UNIT_KINDS] },
    nameTh: { type: 'string', minLength: 1, maxLength: 200 },
    nameEn: { type: ['string', 'null'], maxLength: 200 },
  },
} as const;

// What successes answer, for the OpenAPI document (`response` of each route). They document and never
// reshape: the serializer is plain JSON (app.ts), and test/integration/openapi.test.ts holds answers to them.
export const text = { type: 'string' } as const;
export const nullableText = { type: ['string', 'null'] } as const;
export const time = { type: 'string', format: 'date-time' } as const;
export const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
export const uuid = { type: 'string', format: 'uuid' } as const;

/** An object answer: every property listed is always there. */
export const answer = <P extends Record<string, unknown>>(properties: P, description?: string) =>
  ({ type: 'object', required: Object.keys(properties), properties, ...(description ? { description } : {}) }) as const;

/** A page of a list: `{ items, nextCursor }`. */
export const pageOf = (item: unknown, description?: string) => answer({ items: { type: 'array', items: item }, nextCursor: nullableText }, description);

/** One right of an account, as the API shows it. */
export const rightView = answer({ system: text, role: text, unitCode: text, status: { type: 'string', enum: [...ENTITLEMENT_STATUSES] } });
