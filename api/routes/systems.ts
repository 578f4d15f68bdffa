// The catalogue of connected systems (ระบบที่เชื่อมโยง) and the roles each one knows.
import { asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { actorOf, writeAudit } from '../../db/audit.ts';
import { systems } from '../../db/schema.ts';
import { randomSecret } from '../../lib/crypto.ts';
import { systemCode } from '../schemas.ts';

interface OidcBody { redirectUris: string[]; postLogoutRedirectUris?: string[]; backchannelLogoutUri?: string | null; public?: boolean; rotateSecret?: boolean }
interface SystemBody { nameTh: string; nameEn?: string | null; url: string; roles: string[]; oidc?: OidcBody | null }

const view = (s: typeof systems.$inferSelect) => ({
  code: s.code, nameTh: s.nameTh, nameEn: s.nameEn, url: s.url, roles: s.roles,
  ...(s.oidc ? { oidc: {
    clientId: s.oidc.clientId, redirectUris: s.oidc.redirectUris, postLogoutRedirectUris: s.oidc.postLogoutRedirectUris,
    backchannelLogoutUri: s.oidc.backchannelLogoutUri, public: s.oidc.public,
  } } : {}),
});

const httpUrl = { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2000 } as const;

export default async function systemRoutes(app: FastifyInstance) {
  const { db, cipher } = app.deps;

  app.put<{ Params: { code: string }; Body: SystemBody }>('/systems/:code', {
    preValidation: app.requireCentralAdmin,
    schema: {
      tags: ['systems'], security: [{ bearer: [] }],
      params: { type: 'object', properties: { code: systemCode } },
      body: {
        type: 'object', required: ['nameTh', 'url', 'roles'], additionalProperties: false,
        properties: {
          nameTh: { type: 'string', minLength: 1, maxLength: 200 }, nameEn: { type: ['string', 'null'], maxLength: 200 },
          url: { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2000 },
          roles: { type: 'array', minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' } },
          oidc: {
            type: ['object', 'null'], required: ['redirectUris'], additionalProperties: false,
            description: 'The system as an OpenID Connect client of the single sign-on. Omit to keep it as it is; null removes it.',
            properties: {
              redirectUris: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: httpUrl },
              postLogoutRedirectUris: { type: 'array', maxItems: 20, uniqueItems: true, items: httpUrl },
              backchannelLogoutUri: { anyOf: [httpUrl, { type: 'null' }] },
              public: { type: 'boolean', description: 'A client without a secret (a browser or mobile app): PKCE is required.' },
              rotateSecret: { type: 'boolean', description: 'Issue a new client secret (shown once in the response).' },
            },
          },
        },
      },
    },
  }, async (request) => {
    const { code } = request.params;
    const body = request.body;
    let clientSecret: string | undefined;
    const row = await db.transaction(async (tx) => {
      const [before] = await tx.select().from(systems).where(eq(systems.code, code));
      let oidc = before?.oidc ?? null;
      if (body.oidc === null) oidc = null;
      else if (body.oidc) {
        const isPublic = body.oidc.public ?? false;
        // A confidential client keeps its secret across updates unless asked to rotate it.
        let secretEnc = isPublic ? null : (oidc?.clientSecretEnc ?? null);
        if (!isPublic && (!secretEnc || body.oidc.rotateSecret)) {
          clientSecret = randomSecret(32);
          secretEnc = cipher.encrypt(clientSecret);
        }
        oidc = {
          clientId: code, redirectUris: body.oidc.redirectUris, postLogoutRedirectUris: body.oidc.postLogoutRedirectUris ?? [],
          backchannelLogoutUri: body.oidc.backchannelLogoutUri ?? null, public: isPublic, clientSecretEnc: secretEnc,
        };
      }
      const values = { nameTh: body.nameTh, nameEn: body.nameEn ?? null, url: body.url, roles: body.roles, oidc };
      const [after] = await tx.insert(systems).values({ code, ...values })
        .onConflictDoUpdate({ target: systems.code, set: { ...values, updatedAt: sql`now()` } })
        .returning();
      await writeAudit(tx, {
        key: `system:${code}:${request.id}`, actorAccountId: request.account!.id, actor: actorOf(request.account!.id),
        action: before ? 'system.updated' : 'system.created', subjectType: 'system', subjectId: code,
        before: before ? view(before) : null, after: view(after!),
      });
      return after!;
    });
    const shown = view(row);
    return shown.oidc ? { ...shown, clientId: shown.oidc.clientId, ...(clientSecret ? { clientSecret } : {}) } : shown;
  });

  app.get('/systems', { schema: { tags: ['systems'] } }, async () => ({
    // A catalogue of tens of systems: one page, in the list shape every list has.
    items: (await db.select().from(systems).orderBy(asc(systems.code))).map(view),
    nextCursor: null,
  }));
}
