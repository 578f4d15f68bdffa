// The one Handlebars set-up of mails and pages: templates read once from templates/<kind>/, and the
// date helpers every template shares (Buddhist Era, Asia/Bangkok time).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';

const templatesDir = join(import.meta.dirname, '..', 'templates');

const BANGKOK = 'Asia/Bangkok';
const thaiDateTime = new Intl.DateTimeFormat('th-TH-u-ca-buddhist', { dateStyle: 'long', timeStyle: 'short', timeZone: BANGKOK });
const thaiDay = new Intl.DateTimeFormat('th-TH-u-ca-buddhist', { dateStyle: 'long', timeZone: BANGKOK });
const englishDateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: BANGKOK });

/** A date and time in the Buddhist Era, Bangkok time: "28 พฤศจิกายน 2569 เวลา 07:37". */
export const formatThaiDateTime = (value: Date | string | number) => thaiDateTime.format(new Date(value));
/** A day in the Buddhist Era: "28 พฤศจิกายน 2569". */
export const formatThaiDay = (value: Date | string | number) => thaiDay.format(new Date(value));
export const formatEnglishDateTime = (value: Date | string | number) => englishDateTime.format(new Date(value));

export const handlebars = Handlebars.create();
handlebars.registerHelper('thaiDate', (value: unknown) => formatThaiDateTime(value as string));
handlebars.registerHelper('thaiDay', (value: unknown) => formatThaiDay(value as string));
handlebars.registerHelper('englishDate', (value: unknown) => formatEnglishDateTime(value as string));
handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
handlebars.registerHelper('join', (value: unknown) => (Array.isArray(value) ? value.join(', ') : ''));

/** The source of `templates/<kind>/<name>.hbs` (names are checked: no path ever comes from a request). */
export function readTemplate(kind: 'mail' | 'pages', name: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad template name ${name}`);
  return readFileSync(join(templatesDir, kind, `${name}.hbs`), 'utf8');
}
