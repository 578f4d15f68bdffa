// The Thai government's fiscal year (ปีงบประมาณ), 1 October to 30 September, named by the Buddhist-Era
// year it ends in: fiscal year 2570 runs from 1 October 2569 (2026) to 30 September 2570 (2027).
// The satisfaction survey's rounds follow it.
import { BUDDHIST_ERA_OFFSET } from './dates.ts';

const BANGKOK_OFFSET_MS = 7 * 3_600_000;

/** The fiscal year (Buddhist Era) that `at` falls in, by the calendar in Asia/Bangkok. */
export function thaiFiscalYear(at: Date): number {
  const bangkok = new Date(at.getTime() + BANGKOK_OFFSET_MS);
  const year = bangkok.getUTCFullYear() + BUDDHIST_ERA_OFFSET;
  return bangkok.getUTCMonth() >= 9 ? year + 1 : year; // October (month 9) opens the next year's
}

/** The first and last instants of a fiscal year: 1 October 00:00 to 1 October 00:00 of the next, Asia/Bangkok. */
export function fiscalYearBounds(fiscalYear: number): { from: Date; to: Date } {
  const endYear = fiscalYear - BUDDHIST_ERA_OFFSET;
  return {
    from: new Date(Date.UTC(endYear - 1, 9, 1) - BANGKOK_OFFSET_MS),
    to: new Date(Date.UTC(endYear, 9, 1) - BANGKOK_OFFSET_MS),
  };
}
