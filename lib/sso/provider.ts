// This service as the OpenID Connect provider of the connected systems: one configuration surface.
// Clients are the systems registered by DLA central (PUT /api/v1/systems/:code with `oidc`); the
// sign-in interaction is our own (password or ThaiID, api/routes/sso.ts); every artefact lives in
// PostgreSQL (oidc-adapter.ts). A system sees only the person's roles at that system, and only
// a person with an active right to it gets through (loadExistingGrant, and the consent step).
import { eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { perDatabase, qualified, type Db } from '../../db/client.ts';
import { oidcAdapterFactory } from './oidc-adapter.ts';
import { accounts, entitlements, systems } from '../../db/schema.ts';
import type { Config } from '../config.ts';
import type { PersonalDataCipher } from '../crypto.ts';
import type { SigningKeys } from './keys.ts';
import { renderPage } from '../pages.ts';

export const SSO_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  end_session: '/oidc/session/end',
  revocation: '/oidc/token/revocation',
  introspection: '/oidc/token/introspection',
  pushed_authorization_request: '/oidc/request',
} as const;

/** The roles `accountId` holds at `systemCode`, from their active rights, as an SQL array (sorted). */
const activeRolesSql = (accountId: SQL | Placeholder, systemCode: SQL | Placeholder) =>
  sql<string[]>`coalesce((select array_agg(distinct e.role order by e.role) from ${entitlements} e
    where e.account_id = ${accountId} and e.system_code = ${systemCode} and e.status = 'active'), '{}')`;

const statements = perDatabase((db) => ({
  roles: db
    .select({ roles: activeRolesSql(sql.placeholder('accountId'), sql.placeholder('systemCode')) })
    .from(sql`(select 1) as one`)
    .prepare('sso_roles_at'),
  // The account the provider asks for, with its roles at the system asking (the claims need them).
  account: db
    .select({
      id: accounts.id,
      username: accounts.username,
      status: accounts.status,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
      email: accounts.email,
      unitCode: accounts.unitCode,
      roles: activeRolesSql(qualified(accounts.id), sql.placeholder('systemCode')),
    })
    .from(accounts)
    .where(eq(accounts.id, sql.placeholder('id')))
    .prepare('sso_find_account'),
}));

/** The roles a person holds at one system, from their active rights (several times per sign-in). */
export async function rolesAt(db: Db, accountId: string, systemCode: string): Promise<string[]> {
  const [row] = await statements(db).roles.execute({ accountId, systemCode });
  return row!.roles;
}

export interface SsoProviderDeps {
  config: Config;
  db: Db;
  cipher: PersonalDataCipher;
  signingKeys: SigningKeys;
  cookieKeys: string[];
}

export function createSsoProvider({ config, db, cipher, signingKeys, cookieKeys }: SsoProviderDeps): Provider {
  const secure = config.publicUrl.startsWith('https://');
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
  // One request asks for a person's roles up to three times (the ID token's claims, the access
  // token's, the grant's check): read once per request, with the account when the provider loads it.
  const rolesOfRequest = new WeakMap<object, Map<string, Promise<string[]>>>();
  const knownRoles = (ctx: object) => {
    let known = rolesOfRequest.get(ctx);
    if (!known) rolesOfRequest.set(ctx, (known = new Map()));
    return known;
  };
  const rolesFor = (ctx: object, accountId: string, clientId: string) => {
    const known = knownRoles(ctx);
    const key = `${accountId} ${clientId}`;
    let roles = known.get(key);
    if (!roles) known.set(key, (roles = rolesAt(db, accountId, clientId)));
    return roles;
  };

  const configuration: Configuration = {
    adapter: oidcAdapterFactory(db, cipher),
    clients: [],
    jwks: { keys: signingKeys.keys as never },
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure, signed: true },
    },
    routes: SSO_ROUTES,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'roles'],
    responseTypes: ['code'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email'],
      roles: ['roles', 'unit_code'],
    },
    // Roles travel in the ID token itself: connected systems decide on them at sign-in.
    conformIdTokenClaims: false,
    async findAccount(ctx: KoaContextWithOIDC, sub: string) {
      const systemCode = ctx.oidc.client?.clientId ?? null;
      const [account] = await statements(db).account.execute({ id: sub, systemCode });
      if (!account || account.status !== 'active') return undefined;
      if (systemCode) knownRoles(ctx).set(`${sub} ${systemCode}`, Promise.resolve(account.roles));
      return {
        accountId: sub,
        async claims() {
          const clientId = ctx.oidc.client?.clientId;
          return {
            sub,
            preferred_username: account.username,
            name: `${account.firstNameTh} ${account.lastNameTh}`,
            given_name: account.firstNameTh,
            family_name: account.lastNameTh,
            email: account.email,
            unit_code: account.unitCode,
            roles: clientId ? await rolesFor(ctx, sub, clientId) : [],
          };
        },
      };
    },
    async extraTokenClaims(ctx, token) {
      const accountId = (token as { accountId?: string }).accountId;
      const clientId = (token as { clientId?: string }).clientId;
      if (!accountId || !clientId) return undefined;
      return { roles: await rolesFor(ctx, accountId, clientId) };
    },
    // A grant stands only while the person holds an active right to that system; without one
    // the consent step runs, and refuses (api/routes/sso.ts).
    async loadExistingGrant(ctx) {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (!accountId || !clientId) return undefined;
      if ((await rolesFor(ctx, accountId, clientId)).length === 0) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = renderPage('sso-logout', { title: 'ออกจากระบบ / Sign out', form });
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = renderPage('sso-logged-out', { title: 'ออกจากระบบแล้ว / Signed out' });
        },
      },
    },
    ttl: {
      Session: seconds(config.sso.sessionTtlMs),
      Grant: seconds(config.sso.sessionTtlMs),
      AccessToken: seconds(config.sso.accessTokenTtlMs),
      IdToken: seconds(config.sso.accessTokenTtlMs),
      RefreshToken: seconds(config.sso.refreshTokenTtlMs),
      AuthorizationCode: 60,
      Interaction: 600,
    },
    // The provider refuses to call private addresses (SSRF protection), but connected systems live
    // on DLA's internal networks: a back-channel logout URI that DLA central registered may be one.
    async fetch(url, options) {
      const target = String(url);
      if (options?.method === 'POST') {
        const [registered] = await db
          .select({ code: systems.code })
          .from(systems)
          .where(sql`${systems.oidc}->>'backchannelLogoutUri' = ${target}`)
          .limit(1);
        if (registered) delete (options as { dispatcher?: unknown }).dispatcher;
      }
      return globalThis.fetch(url, options);
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = renderPage('sso-error', { title: 'เข้าสู่ระบบไม่สำเร็จ / Sign-in failed', error: out.error, description: out.error_description });
    },
  };
  const provider = new Provider(config.publicUrl, configuration);
  // Koa believes X-Forwarded-* when `proxy` is set; with a number of hops, only that many addresses.
  provider.proxy = config.trustProxy !== false;
  if (typeof config.trustProxy === 'number') provider.maxIpsCount = config.trustProxy;
  return provider;
}
