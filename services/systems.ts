// The catalogue of connected systems (ระบบที่เชื่อมโยง), the roles each one knows, and each one as an
// OpenID Connect client of the single sign-on. DLA central keeps it.
import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { actorOf, writeAudit } from '../db/audit.ts';
import { systems } from '../db/schema.ts';
import { randomSecret } from '../lib/crypto.ts';
import { forbidden } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { forgetClient } from '../lib/sso/oidc-adapter.ts';

export interface OidcInput {
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  public?: boolean;
  rotateSecret?: boolean;
}
/** `oidc` omitted keeps the client as it is; null removes it. */
export interface SystemInput {
  nameTh: string;
  nameEn?: string | null;
  url: string;
  roles: string[];
  oidc?: OidcInput | null;
}

/** A system as shown: never its client secret. */
const view = (s: typeof systems.$inferSelect) => ({
  code: s.code,
  nameTh: s.nameTh,
  nameEn: s.nameEn,
  url: s.url,
  roles: s.roles,
  ...(s.oidc
    ? {
        oidc: {
          clientId: s.oidc.clientId,
          redirectUris: s.oidc.redirectUris,
          postLogoutRedirectUris: s.oidc.postLogoutRedirectUris,
          backchannelLogoutUri: s.oidc.backchannelLogoutUri,
          public: s.oidc.public,
        },
      }
    : {}),
});

export type SystemView = ReturnType<typeof view>;

/**
 * Creates or replaces a system, audited. A confidential client keeps its secret across updates unless
 * asked to rotate it; a new secret is returned once (`clientSecret`).
 */
export async function putSystem(
  deps: ServiceDeps,
  actor: Actor,
  code: string,
  input: SystemInput,
): Promise<SystemView & { clientId?: string; clientSecret?: string }> {
  if (!actor.central) throw forbidden('Only DLA central admins may do this.');
  let clientSecret: string | undefined;
  const row = await deps.db.transaction(async (tx) => {
    const [before] = await tx.select().from(systems).where(eq(systems.code, code));
    let oidc = before?.oidc ?? null;
    if (input.oidc === null) oidc = null;
    else if (input.oidc) {
      const isPublic = input.oidc.public ?? false;
      let secretEnc = isPublic ? null : (oidc?.clientSecretEnc ?? null);
      if (!isPublic && (!secretEnc || input.oidc.rotateSecret)) {
        clientSecret = randomSecret(32);
        secretEnc = deps.cipher.encrypt(clientSecret);
      }
      oidc = {
        clientId: code,
        redirectUris: input.oidc.redirectUris,
        postLogoutRedirectUris: input.oidc.postLogoutRedirectUris ?? [],
        backchannelLogoutUri: input.oidc.backchannelLogoutUri ?? null,
        public: isPublic,
        clientSecretEnc: secretEnc,
      };
    }
    const values = { nameTh: input.nameTh, nameEn: input.nameEn ?? null, url: input.url, roles: input.roles, oidc };
    const [after] = await tx
      .insert(systems)
      .values({ code, ...values })
      .onConflictDoUpdate({ target: systems.code, set: { ...values, updatedAt: sql`now()` } })
      .returning();
    await writeAudit(tx, {
      key: `system:${code}:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: before ? 'system.updated' : 'system.created',
      subjectType: 'system',
      subjectId: code,
      before: before ? view(before) : null,
      after: view(after!),
    });
    return after!;
  });
  forgetClient(deps.db, code); // its client id is its code
  const shown = view(row);
  return shown.oidc ? { ...shown, clientId: shown.oidc.clientId, ...(clientSecret ? { clientSecret } : {}) } : shown;
}

/** Every connected system, by code: a catalogue of tens. */
export async function listSystems(deps: ServiceDeps): Promise<SystemView[]> {
  return (await deps.db.select().from(systems).orderBy(asc(systems.code))).map(view);
}

/**
 * The catalogue as the caller may see it. DLA central, who keep the systems, see each one whole; anyone
 * else, signed in or not, sees what access is asked for by (code, names, roles), not the systems'
 * addresses nor their sign-in redirect and logout URLs.
 */
export async function systemCatalogue(deps: ServiceDeps, actor: Actor | null | undefined) {
  const all = await listSystems(deps);
  return actor?.central ? all : all.map(({ code, nameTh, nameEn, roles }) => ({ code, nameTh, nameEn, roles }));
}
