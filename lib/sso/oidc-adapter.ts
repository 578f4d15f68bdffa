// The storage adapter of the OpenID Connect provider: sessions, grants, codes and tokens in
// PostgreSQL (table `oidc_payloads`), and connected systems' clients read from `systems`.
// The provider's adapter contract: https://github.com/panva/node-oidc-provider (lib/adapters).
import { and, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { PersonalDataCipher } from '../crypto.ts';
import { perDatabase, type Db } from '../../db/client.ts';
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

/**
 * The adapter's statements, built once per database (drizzle's prepared queries): the provider runs
 * some twenty of them per sign-in, and building each one's SQL again cost more CPU than running it.
 */
const statementsOf = perDatabase((db) => {
  const p = sql.placeholder;
  const ofModel = (column: typeof oidcPayloads.id | typeof oidcPayloads.uid | typeof oidcPayloads.userCode) =>
    db
      .select()
      .from(oidcPayloads)
      .where(and(eq(oidcPayloads.model, p('model')), eq(column, p('value'))))
      .prepare(`oidc_find_by_${column.name}`);
  const excluded = (column: string) => sql.raw(`excluded.${column}`);
  return {
    client: db
      .select()
      .from(systems)
      .where(sql`${systems.oidc}->>'clientId' = ${p('id')}`)
      .prepare('oidc_find_client'),
    byId: ofModel(oidcPayloads.id),
    byUid: ofModel(oidcPayloads.uid),
    byUserCode: ofModel(oidcPayloads.userCode),
    upsert: db
      .insert(oidcPayloads)
      .values({
        id: p('id'),
        model: p('model'),
        payload: p('payload'),
        accountId: p('accountId'),
        grantId: p('grantId'),
        uid: p('uid'),
        userCode: p('userCode'),
        expiresAt: p('expiresAt'),
      })
      .onConflictDoUpdate({
        target: [oidcPayloads.model, oidcPayloads.id],
        set: {
          payload: excluded('payload'),
          accountId: excluded('account_id'),
          grantId: excluded('grant_id'),
          uid: excluded('uid'),
          userCode: excluded('user_code'),
          expiresAt: excluded('expires_at'),
        },
      })
      .prepare('oidc_upsert'),
    consume: db
      .update(oidcPayloads)
      .set({ consumedAt: sql`now()` })
      .where(and(eq(oidcPayloads.model, p('model')), eq(oidcPayloads.id, p('id')), isNull(oidcPayloads.consumedAt)))
      .returning({ id: oidcPayloads.id })
      .prepare('oidc_consume'),
    destroy: db
      .delete(oidcPayloads)
      .where(and(eq(oidcPayloads.model, p('model')), eq(oidcPayloads.id, p('id'))))
      .prepare('oidc_destroy'),
    revokeByGrantId: db
      .delete(oidcPayloads)
      .where(and(eq(oidcPayloads.model, p('model')), eq(oidcPayloads.grantId, p('grantId'))))
      .prepare('oidc_revoke_by_grant'),
  };
});

/**
 * Connected systems' client metadata, kept a few seconds: the provider asks for the client on each
 * of a sign-in's four steps. A change made through this process is seen at once (forgetClient);
 * other API replicas see it within CLIENT_TTL_MS.
 */
const CLIENT_TTL_MS = 5_000;
const clientCacheOf = perDatabase(() => new Map<string, { metadata: AdapterPayload | undefined; until: number }>());

/** A system's client changed (its secret, URIs, or itself): the next request reads it again. */
export function forgetClient(db: Db, clientId: string): void {
  clientCacheOf(db).delete(clientId);
}

export function oidcAdapterFactory(db: Db, cipher: PersonalDataCipher) {
  const statements = statementsOf(db);
  const clients = clientCacheOf(db);
  // Every token request authenticates the system with its secret: decrypted once per ciphertext,
  // not per request (the provider keeps the clients it built in memory just the same).
  const secrets = new Map<string, string>();
  const secretOf = (sealed: string) => {
    let secret = secrets.get(sealed);
    if (secret === undefined) {
      if (secrets.size >= 1000) secrets.clear();
      secret = cipher.decrypt(sealed);
      secrets.set(sealed, secret);
    }
    return secret;
  };
  const memoCipher: PersonalDataCipher = { ...cipher, decrypt: secretOf };

  return class PostgresOidcAdapter implements Adapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const text = (value: unknown) => (typeof value === 'string' ? value : null);
      await statements.upsert.execute({
        id,
        model: this.model,
        payload,
        accountId: text(payload.accountId),
        grantId: text(payload.grantId),
        uid: text(payload.uid),
        userCode: text(payload.userCode),
        expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const cached = clients.get(id);
        if (cached && cached.until > Date.now()) return cached.metadata;
        const [system] = await statements.client.execute({ id });
        const metadata = system ? clientMetadataOf(system, memoCipher) : undefined;
        if (clients.size >= 1000) clients.clear();
        clients.set(id, { metadata, until: Date.now() + CLIENT_TTL_MS });
        return metadata;
      }
      return this.found(await statements.byId.execute({ model: this.model, value: id }));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.found(await statements.byUid.execute({ model: this.model, value: uid }));
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.found(await statements.byUserCode.execute({ model: this.model, value: userCode }));
    }

    private found([row]: (typeof oidcPayloads.$inferSelect)[]): AdapterPayload | undefined {
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
      return { ...row.payload, ...(row.consumedAt ? { consumed: Math.floor(row.consumedAt.getTime() / 1000) } : {}) } as AdapterPayload;
    }

    /** Once only: of two requests redeeming the same code or refresh token at once, one loses. */
    async consume(id: string): Promise<void> {
      const consumed = await statements.consume.execute({ model: this.model, id });
      if (consumed.length === 0) throw new errors.InvalidGrant('grant request is invalid');
    }

    async destroy(id: string): Promise<void> {
      await statements.destroy.execute({ model: this.model, id });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await statements.revokeByGrantId.execute({ model: this.model, grantId });
    }
  };
}

/** Expired artefacts are dead already (find ignores them); this only reclaims the space. */
export async function deleteExpiredOidcPayloads(db: Db): Promise<void> {
  await db.delete(oidcPayloads).where(and(isNotNull(oidcPayloads.expiresAt), lt(oidcPayloads.expiresAt, new Date())));
}
