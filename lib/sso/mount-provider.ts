// Mounting a Koa-based OpenID Connect provider (oidc-provider: ours, and the ThaiD stand-in) inside
// the Fastify app.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';

/** Hands a request to a Koa-based OIDC provider, bodies unread (it parses them itself). */
export async function mountProvider(app: FastifyInstance, provider: Provider, paths: string[], mountPath = '') {
  const callback = provider.callback();
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });
    const handle = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const raw = request.raw as typeof request.raw & { originalUrl?: string };
      if (mountPath) {
        raw.originalUrl = raw.url;
        raw.url = raw.url!.slice(mountPath.length) || '/';
      }
      void callback(raw, reply.raw);
    };
    for (const path of paths) scope.route({ method: ['GET', 'POST', 'OPTIONS'], url: path, handler: handle, schema: { hide: true } });
  });
}
