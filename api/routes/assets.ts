// The browser files of the pages, served from the project itself (the Content-Security-Policy
// allows no other origin): read once, sent with a validator so browsers keep them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { page } from '../scope.ts';

const ASSETS: Record<string, string> = {
  'site.css': 'text/css; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'register.js': 'text/javascript; charset=utf-8',
};

export default async function assetRoutes(app: FastifyInstance) {
  const dir = join(import.meta.dirname, '..', '..', 'templates', 'assets');
  const files = new Map(
    Object.entries(ASSETS).map(([name, type]) => {
      const body = readFileSync(join(dir, name));
      return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }];
    }),
  );
  app.get<{ Params: { name: string } }>('/assets/:name', page('public'), async (request, reply) => {
    const file = files.get(request.params.name);
    if (!file) return reply.code(404).type('text/plain').send('not found');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.type).header('etag', file.etag).header('cache-control', 'public, max-age=3600').send(file.body);
  });
}
