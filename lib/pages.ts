// The web pages of the service, rendered on the server from templates/pages/*.hbs inside one
// layout. Dates are shown in the Buddhist Era (helpers in lib/templates.ts).
import type Handlebars from 'handlebars';
import { handlebars, readTemplate } from './templates.ts';

// Pieces more than one page shows, each written once.
handlebars.registerPartial('pdf-in-page', readTemplate('pages', 'pdf-in-page'));

const compiled = new Map<string, Handlebars.TemplateDelegate>();
function template(name: string): Handlebars.TemplateDelegate {
  let page = compiled.get(name);
  if (!page) {
    page = handlebars.compile(readTemplate('pages', name));
    compiled.set(name, page);
  }
  return page;
}

/** A whole HTML document: the page's template inside a layout (the console has its own). `title` is required. */
export function renderPage(name: string, data: Record<string, unknown> & { title: string }, layout: 'layout' | 'console-layout' = 'layout'): string {
  return template(layout)({ ...data, body: template(name)(data) });
}
