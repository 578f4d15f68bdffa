// The catalogue of connected systems (ระบบที่เชื่อมโยง) and the roles each one knows.
import { asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { actorOf, writeAudit } from '../../db/audit.ts';
import type { Db } from '../../db/client.ts';
import { systems } from '../../db/schema.ts';
import { systemCode } from '../schemas.ts';

interface SystemBody { nameTh: string; nameEn?: string | null; url: string; roles: string[] }

const view = (s: typeof systems.$inferSelect) => ({ code: s.code, nameTh: s.nameTh, nameEn: s.nameEn, url: s.url, roles: s.roles });

export default async function systemRoutes(app: FastifyInstance) {
  const { db } = app.deps;

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
        },
      },
    },
  }, async (request) => {
    const { code } = request.params;
    const body = request.body;
    const row = await db.transaction(async (tx) => {
      const [before] = await tx.select().from(systems).where(eq(systems.code, code));
      const [after] = await tx.insert(systems).values({ code, nameTh: body.nameTh, nameEn: body.nameEn ?? null, url: body.url, roles: body.roles })
        .onConflictDoUpdate({ target: systems.code, set: { nameTh: body.nameTh, nameEn: body.nameEn ?? null, url: body.url, roles: body.roles, updatedAt: sql`now()` } })
        .returning();
      await writeAudit(tx as unknown as Db, {
        key: `system:${code}:${request.id}`, actorAccountId: request.account!.id, actor: actorOf(request.account!.id),
        action: before ? 'system.updated' : 'system.created', subjectType: 'system', subjectId: code,
        before: before ? view(before) : null, after: view(after!),
      });
      return after!;
    });
    return view(row);
  });

  app.get('/systems', { schema: { tags: ['systems'] } }, async () => ({
    // A catalogue of tens of systems: one page, in the list shape every list has.
    items: (await db.select().from(systems).orderBy(asc(systems.code))).map(view),
    nextCursor: null,
  }));
}
