// Dates as people type them: in Thailand often in the Buddhist Era (2569-10-01 for 2026-10-01),
// which a date check takes for a date 543 years ahead (a leaver keeping access for centuries).
// One check for the API's JSON, its uploads and CSV files: a JSON-schema keyword, `christianEra`.
import type { FuncKeywordDefinition } from 'ajv';

export const BUDDHIST_ERA_OFFSET = 543;
/** Christian-Era 2400 is far beyond anything this service schedules; Buddhist-Era 2400 was 1857. */
const FIRST_BUDDHIST_ERA_YEAR = 2400;

/** Why `value` (a date or date-time) looks Buddhist-Era, naming the likely Christian-Era date; null when it does not. */
export function buddhistEraProblem(value: string): string | null {
  const match = /^(\d{4})(-\d{2}-\d{2})?/.exec(value);
  if (!match) return null;
  const year = Number(match[1]);
  if (year < FIRST_BUDDHIST_ERA_YEAR) return null;
  const likely = `${year - BUDDHIST_ERA_OFFSET}${match[2] ?? ''}`;
  return `is in the Buddhist Era (${match[0]}): write the Christian-Era date, likely ${likely}`;
}

/** `{ type: 'string', format: 'date', christianEra: true }`: refuses a Buddhist-Era year with a message naming the likely date. */
export const christianEraKeyword: FuncKeywordDefinition = {
  keyword: 'christianEra',
  type: 'string',
  schemaType: 'boolean',
  errors: true,
  validate: function christianEra(wanted: boolean, value: string): boolean {
    const problem = wanted ? buddhistEraProblem(value) : null;
    (christianEra as { errors?: unknown }).errors = problem ? [{ keyword: 'christianEra', message: problem, params: {} }] : null;
    return problem === null;
  },
};
