// A local STAND-IN for DOPA's ThaiD, used when no THAIID_ISSUER is configured (the real ThaiD
// cannot be reached from a development machine or from the tests). Built on oidc-provider, with
// ThaiD's shape and quirks: client_secret_basic only, the `x-imauth-apikey` header required at the
// token endpoint, the claims `pid`, `given_name`, `family_name`, `given_name_en`, `family_name_en`,
// `birthdate`, and `expire_in` (a Unix time) in the token response instead of `expires_in`.
// Its sign-in page lets the tester type the person's identity: it verifies nothing.
import { randomBytes } from 'node:crypto';
import Provider, { type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResolvedThaiIdConfig, VerifiedClaims } from './thaiid.ts';
import type { SigningKeys } from './keys.ts';

export const STANDIN_PATH = '/thaid-standin';
const THAID_CLAIMS = ['pid', 'given_name', 'family_name', 'given_name_en', 'family_name_en', 'birthdate'] as const;

export interface ThaidStandin {
  provider: Provider;
  /** What the relying party needs to talk to the stand-in. */
  settings: ResolvedThaiIdConfig;
  /** The identity typed on the stand-in's page, kept in memory by `pid`. */
  people: Map<string, VerifiedClaims>;
}

/** The stand-in keeps its sessions and codes in memory: a restart signs everyone out of it. */
const stores = new Map<string, Map<string, AdapterPayload>>();
class MemoryAdapter implements Adapter {
  private readonly store: Map<string, AdapterPayload>;
  constructor(model: string) {
    this.store = stores.get(model) ?? new Map();
    stores.set(model, this.store);
  }
  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    this.store.set(id, { ...payload, ...(expiresIn ? { exp: Math.floor(Date.now() / 1000) + expiresIn } : {}) });
  }
  async find(id: string) {
    const found = this.store.get(id);
    return found && (!found.exp || found.exp * 1000 > Date.now()) ? found : undefined;
  }
  async findByUid(uid: string) {
    return [...this.store.values()].find((p) => p.uid === uid);
  }
  async findByUserCode(userCode: string) {
    return [...this.store.values()].find((p) => p.userCode === userCode);
  }
  async consume(id: string) {
    const found = this.store.get(id);
    if (found) found.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    this.store.delete(id);
  }
  async revokeByGrantId(grantId: string) {
    for (const [id, p] of this.store) if (p.grantId === grantId) this.store.delete(id);
  }
}

export function createThaidStandin(publicUrl: string, redirectUri: string, scope: string, keys: SigningKeys): ThaidStandin {
  const issuer = `${publicUrl}${STANDIN_PATH}`;
  const settings: ResolvedThaiIdConfig = {
    issuer,
    clientId: 'sso-lifecycle-standin',
    clientSecret: randomBytes(24).toString('base64url'),
    apiKey: randomBytes(16).toString('hex'),
    scope,
    authorizationEndpoint: undefined,
    tokenEndpoint: undefined,
    jwksUri: undefined,
    usePkce: false,
    useNonce: false,
    standin: true,
  };
  const people = new Map<string, VerifiedClaims>();
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: [
      {
        client_id: settings.clientId,
        client_secret: settings.clientSecret,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    clientAuthMethods: ['client_secret_basic'],
    jwks: { keys: keys.keys as never },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', ...THAID_CLAIMS],
    claims: { openid: ['sub'], ...Object.fromEntries(THAID_CLAIMS.map((c) => [c, [c]])) },
    conformIdTokenClaims: false,
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `${STANDIN_PATH}/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, ...people.get(sub) }) }),
    // ThaiD asks the person once and grants what was asked for.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope(String(ctx.oidc.params!.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
  });
  // ThaiD's quirks at the token endpoint.
  provider.use(async (ctx, next) => {
    const atToken = ctx.path === '/token' && ctx.method === 'POST';
    if (atToken && ctx.get('x-imauth-apikey') !== settings.apiKey) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: 'missing or wrong x-imauth-apikey' };
      return;
    }
    await next();
    if (atToken && ctx.status === 200 && ctx.body && typeof ctx.body === 'object' && 'expires_in' in ctx.body) {
      const { expires_in: expiresIn, ...rest } = ctx.body as Record<string, unknown>;
      ctx.body = { ...rest, expire_in: Math.floor(Date.now() / 1000) + Number(expiresIn) };
    }
  });
  return { provider, settings, people };
}
