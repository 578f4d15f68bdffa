// Test data that passes the service's own checks: valid citizen IDs, real file signatures.
import { randomInt } from 'node:crypto';
import { withCheckDigit } from '../../lib/citizen-id.ts';

export function randomCitizenId(): string {
  let first12 = String(randomInt(1, 9));
  while (first12.length < 12) first12 += String(randomInt(0, 10));
  return withCheckDigit(first12);
}

/** A citizen ID whose check digit is wrong. */
export function withWrongCheckDigit(valid: string): string {
  return valid.slice(0, 12) + String((Number(valid[12]) + 1) % 10);
}

export const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
export const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
]);
/** Text pretending to be a PDF by its name and declared type. */
export const DISGUISED_PDF = Buffer.from('MZ this is really an executable, not a PDF\n');

let counter = 0;
export const uniqueName = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${randomInt(1000)}`;
