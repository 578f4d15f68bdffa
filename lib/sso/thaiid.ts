// ThaiID (DOPA's ThaiD) as the relying party sees it, with openid-client: the authorisation code
// flow, client_secret_basic plus ThaiD's API-key header at the token endpoint, `state` always,
// nonce and PKCE only when configured (ThaiD does not document them). The claims (`pid`, names,
// birthdate) may come in the ID token or beside it in the token response; both are read.
import * as oidc from 'openid-client';
import type { ThaiIdConfig } from '../config.ts';
import { isValidCitizenId } from '../citizen-id.ts';

/** The claims ThaiD verified: `pid` is the 13-digit citizen ID. */
export interface VerifiedClaims {
  pid: string;
  given_name?: string;
  family_name?: string;
  given_name_en?: string;
  family_name_en?: string;
  birthdate?: string;
}

/** The registration fields that verified claims fill (and that may then not be edited). */
export function verifiedFields(claims: VerifiedClaims) {
  return {
    citizenId: claims.pid,
    ...(claims.given_name ? { firstNameTh: claims.given_name } : {}),
    ...(claims.family_name ? { lastNameTh: claims.family_name } : {}),
    ...(claims.given_name_en ? { firstNameEn: claims.given_name_en } : {}),
    ...(claims.family_name_en ? { lastNameEn: claims.family_name_en } : {}),
  } as { citizenId: string; firstNameTh?: string; lastNameTh?: string; firstNameEn?: string; lastNameEn?: string };
}

/** What the browser carries between the redirect to ThaiD and the callback (in a signed cookie). */
export interface ThaiIdFlow {
  state: string;
  nonce?: string;
  codeVerifier?: string;
  interaction?: string;
  returnTo?: string;
}

export interface ResolvedThaiIdConfig extends ThaiIdConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export class ThaiIdError extends Error {}
/** ThaiD could not be reached or did not answer as an OpenID provider: the person should try again later. */
export class ThaiIdUnavailable extends Error {}

/** A failure to reach ThaiD at all, or ThaiD failing (5xx), rather than a sign-in it refused. */
function unreachable(error: unknown): boolean {
  for (
    let e = error as { cause?: unknown; status?: unknown; code?: unknown; name?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (e.name === 'TypeError' || e.name === 'AbortError' || e.name === 'TimeoutError') return true; // fetch failed
    if (typeof e.code === 'string' && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EHOSTUNREACH|UND_ERR)/.test(e.code)) return true;
    if (typeof e.status === 'number' && e.status >= 500) return true;
  }
  return false;
}

export function createThaiIdClient(settings: ResolvedThaiIdConfig, redirectUri: string) {
  let configuration: Promise<oidc.Configuration> | undefined;

  async function configure(): Promise<oidc.Configuration> {
    const auth = oidc.ClientSecretBasic(settings.clientSecret);
    const insecure = settings.issuer.startsWith('http://');
    let config: oidc.Configuration;
    if (settings.authorizationEndpoint && settings.tokenEndpoint) {
      config = new oidc.Configuration(
        {
          issuer: settings.issuer,
          authorization_endpoint: settings.authorizationEndpoint,
          token_endpoint: settings.tokenEndpoint,
          ...(settings.jwksUri ? { jwks_uri: settings.jwksUri } : {}),
        },
        settings.clientId,
        undefined,
        auth,
      );
      if (insecure) oidc.allowInsecureRequests(config);
    } else {
      config = await oidc.discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        auth,
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    }
    // ThaiD wants its API key on every call to it (the token endpoint above all).
    config[oidc.customFetch] = (url, options) =>
      fetch(url, {
        ...options,
        headers: {
          ...Object.fromEntries(new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).entries()),
          ...(settings.apiKey ? { 'x-imauth-apikey': settings.apiKey } : {}),
        },
      } as RequestInit);
    return config;
  }
  const ready = () =>
    (configuration ??= configure().catch((error: unknown) => {
      configuration = undefined;
      throw new ThaiIdUnavailable(`ThaiD discovery failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }));

  return {
    /** Where to send the browser, and the flow to keep for the callback. */
    async start(extra: Pick<ThaiIdFlow, 'interaction' | 'returnTo'>): Promise<{ url: string; flow: ThaiIdFlow }> {
      const config = await ready();
      const flow: ThaiIdFlow = { state: oidc.randomState(), ...extra };
      const params: Record<string, string> = { redirect_uri: redirectUri, scope: settings.scope, response_type: 'code', state: flow.state };
      if (settings.useNonce) params.nonce = flow.nonce = oidc.randomNonce();
      if (settings.usePkce) {
        flow.codeVerifier = oidc.randomPKCECodeVerifier();
        params.code_challenge = await oidc.calculatePKCECodeChallenge(flow.codeVerifier);
        params.code_challenge_method = 'S256';
      }
      return { url: oidc.buildAuthorizationUrl(config, params).href, flow };
    },

    /** Exchanges the code and returns the verified claims; throws ThaiIdError on anything wrong. */
    async finish(callbackUrl: URL, flow: ThaiIdFlow): Promise<VerifiedClaims> {
      const config = await ready();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          expectedState: flow.state,
          ...(flow.nonce ? { expectedNonce: flow.nonce } : {}),
          ...(flow.codeVerifier ? { pkceCodeVerifier: flow.codeVerifier } : {}),
          idTokenExpected: settings.scope.split(' ').includes('openid'),
        });
      } catch (error) {
        if (unreachable(error))
          throw new ThaiIdUnavailable(`ThaiD token endpoint: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        throw new ThaiIdError(error instanceof Error ? error.message : String(error));
      }
      const claims = { ...(tokens as unknown as Record<string, unknown>), ...(tokens.claims() ?? {}) } as Record<string, unknown>;
      const pid = String(claims.pid ?? '');
      if (!isValidCitizenId(pid)) throw new ThaiIdError('ThaiID returned no valid citizen ID (pid)');
      const text = (name: string) => (typeof claims[name] === 'string' && claims[name] ? String(claims[name]) : undefined);
      return {
        pid,
        given_name: text('given_name'),
        family_name: text('family_name'),
        given_name_en: text('given_name_en'),
        family_name_en: text('family_name_en'),
        birthdate: text('birthdate'),
      };
    },
  };
}

export type ThaiIdClient = ReturnType<typeof createThaiIdClient>;
