// The storage adapter of the OpenID Connect provider: sessions, grants, codes and tokens in
// PostgreSQL (table `oidc_payloads`), and connected systems' clients read from `systems`.
// The provider's adapter contract: https://github.com/panva/node-oidc-provider (lib/adapters).
import { and, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { PersonalDataCipher } from '../crypto.ts';
import type { Db } from '../../db/client.ts';
import { oidcPayloads, systems } from '../../db/schema.ts';

/** The client metadata the provider sees for a connected system (its code is its client id). */
export function clientMetadataOf(system: typeof systems.$inferSelect, cipher: PersonalDataCipher): AdapterPayload | undefined {
  const oidc = system.oidc;
  if (!oidc) return undefined;
  return {
    client_id: oidc.clientId,
    client_name: system.nameEn ?? system.nameTh,
    redirect_uris: oidc.redirectUris,
    post_logout_redirect_uris: oidc.postLogoutRedirectUris,
    ...(oidc.backchannelLogoutUri ? { backchannel_logout_uri: oidc.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    // Systems learn when the person actually signed in (single sign-on may reuse an older sign-in).
    require_auth_time: true,
    response_types: ['code'],
    ...(oidc.public || !oidc.clientSecretEnc
      ? { token_endpoint_auth_method: 'none' }
      : { token_endpoint_auth_method: 'client_secret_basic', client_secret: cipher.decrypt(oidc.clientSecretEnc) }),
  } as AdapterPayload;
}

export function oidcAdapterFactory(db: Db, cipher: PersonalDataCipher) {
  return class PostgresOidcAdapter implements Adapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const row = {
        id,
        model: this.model,
        payload: payload as Record<string, unknown>,
        accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
        grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
        expiresAt,
      };
      await db
        .insert(oidcPayloads)
        .values(row)
        .onConflictDoUpdate({
          target: [oidcPayloads.model, oidcPayloads.id],
          set: { payload: row.payload, accountId: row.accountId, grantId: row.grantId, uid: row.uid, userCode: row.userCode, expiresAt },
        });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const [system] = await db
          .select()
          .from(systems)
          .where(sql`${systems.oidc}->>'clientId' = ${id}`);
        return system ? clientMetadataOf(system, cipher) : undefined;
      }
      return this.findWhere(eq(oidcPayloads.id, id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findWhere(eq(oidcPayloads.uid, uid));
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findWhere(eq(oidcPayloads.userCode, userCode));
    }

    private async findWhere(condition: ReturnType<typeof eq>): Promise<AdapterPayload | undefined> {
      const [row] = await db
        .select()
        .from(oidcPayloads)
        .where(and(eq(oidcPayloads.model, this.model), condition));
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
      return { ...row.payload, ...(row.consumedAt ? { consumed: Math.floor(row.consumedAt.getTime() / 1000) } : {}) } as AdapterPayload;
    }

    /** Once only: of two requests redeeming the same code or refresh token at once, one loses. */
    async consume(id: string): Promise<void> {
      const consumed = await db
        .update(oidcPayloads)
        .set({ consumedAt: new Date() })
        .where(and(eq(oidcPayloads.model, this.model), eq(oidcPayloads.id, id), isNull(oidcPayloads.consumedAt)))
        .returning({ id: oidcPayloads.id });
      if (consumed.length === 0) throw new errors.InvalidGrant('grant request is invalid');
    }

    async destroy(id: string): Promise<void> {
      await db.delete(oidcPayloads).where(and(eq(oidcPayloads.model, this.model), eq(oidcPayloads.id, id)));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.delete(oidcPayloads).where(and(eq(oidcPayloads.model, this.model), eq(oidcPayloads.grantId, grantId)));
    }
  };
}

/** Expired artefacts are dead already (find ignores them); this only reclaims the space. */
export async function deleteExpiredOidcPayloads(db: Db): Promise<void> {
  await db.delete(oidcPayloads).where(and(isNotNull(oidcPayloads.expiresAt), lt(oidcPayloads.expiresAt, new Date())));
}
