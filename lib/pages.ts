// The few web pages of the service (sign-in, portal, registration with ThaiID, messages), rendered
// on the server from templates/pages/*.hbs inside one layout. Dates are shown in the Buddhist Era.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';

const pagesDir = join(import.meta.dirname, '..', 'templates', 'pages');
const hbs = Handlebars.create();
const thaiDate = new Intl.DateTimeFormat('th-TH-u-ca-buddhist', { dateStyle: 'long', timeZone: 'Asia/Bangkok' });
hbs.registerHelper('thaiDate', (value: unknown) => thaiDate.format(new Date(value as string)));
hbs.registerHelper('join', (value: unknown) => (Array.isArray(value) ? value.join(', ') : ''));

const compiled = new Map<string, Handlebars.TemplateDelegate>();
function template(name: string): Handlebars.TemplateDelegate {
  const cached = compiled.get(name);
  if (cached) return cached;
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad page name ${name}`);
  const page = hbs.compile(readFileSync(join(pagesDir, `${name}.hbs`), 'utf8'));
  compiled.set(name, page);
  return page;
}

/** A whole HTML document: the page's template inside the layout. `title` is required. */
export function renderPage(name: string, data: Record<string, unknown> & { title: string }): string {
  return template('layout')({ ...data, body: template(name)(data) });
}
