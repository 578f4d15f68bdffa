// What a sender of personnel events sends, as JSON schemas and CSV columns: each event read on its
// own, so that one bad event does not refuse the batch. Shared by the API (`/personnel-events`, JSON
// and CSV) and the console's report form and CSV upload.
import { parse as parseCsv } from 'csv-parse/sync';
import { PERSONNEL_EVENT_TYPES } from '../db/schema.ts';
import { badRequest } from '../lib/problem.ts';
import type { PersonnelEventInput, ReceivedEvent } from '../services/personnel.ts';
import { checker } from './uploads.ts';

export const MAX_EVENTS = 1000;

export const personnelEventSchema = {
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
const checkEvent = checker(personnelEventSchema);

/** Each event against its schema, on its own (problems under `events.<index>`). */
export const readEvents = (events: unknown[]): ReceivedEvent[] =>
  events.map((raw, index) => {
    const errors = checkEvent(raw, `events.${index}`);
    if (errors.length === 0) return { event: raw as PersonnelEventInput };
    const eventId = (raw as { eventId?: unknown } | null)?.eventId;
    return { eventId: typeof eventId === 'string' ? eventId : null, errors };
  });

export const CSV_COLUMNS = ['eventId', 'type', 'citizenId', 'effectiveDate', 'toUnitCode', 'newPosition', 'note'];

/**
 * The rows of an events CSV (a header row naming CSV_COLUMNS), empty cells left out, as events to
 * check; a 400 for a file that is not such a CSV, or has no rows or more than MAX_EVENTS.
 */
export function readEventsCsv(csv: string | Buffer): Record<string, string>[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(csv, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw badRequest(`The CSV cannot be read: ${(error as Error).message}`);
  }
  const unknown = rows.length > 0 ? Object.keys(rows[0]!).filter((c) => !CSV_COLUMNS.includes(c)) : [];
  if (unknown.length > 0) throw badRequest(`Unknown CSV column(s): ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(', ')}.`);
  if (rows.length < 1 || rows.length > MAX_EVENTS) throw badRequest(`Send 1 to ${MAX_EVENTS} rows.`);
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '')));
}
