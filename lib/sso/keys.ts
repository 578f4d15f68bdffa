// The keys that sign ID tokens and logout tokens. Rotation is by configuration: SSO_SIGNING_KEYS
// is a JWKS of private keys, the first signs and the rest stay published so that tokens signed
// before the rotation still verify. Without it, one key is generated once and kept in DATA_DIR.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { signingKeysProblem } from '../config.ts';

export interface SigningKeys {
  keys: JWK[];
}

/** Who signs back-channel logout tokens: this service as issuer, with the first signing key. */
export interface LogoutSigner {
  issuer: string;
  keys: SigningKeys;
}

/** A new private signing key (RS256) with a key id, as SSO_SIGNING_KEYS holds them. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

export async function loadSigningKeys(configured: string | undefined, dataDir: string, embedded: boolean): Promise<SigningKeys> {
  if (configured) {
    const problem = signingKeysProblem(configured);
    if (problem) throw new Error(`SSO_SIGNING_KEYS ${problem}`);
    return { keys: (JSON.parse(configured) as { keys: JWK[] }).keys };
  }
  const file = join(dataDir, 'sso-signing-keys.json');
  if (!existsSync(file)) {
    if (!embedded) console.warn(`SSO_SIGNING_KEYS is not set: tokens are signed with the key in ${file}; every process needs the same keys.`);
    const jwk = await generateSigningKey();
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, JSON.stringify({ keys: [jwk] }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process wrote it first
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as SigningKeys;
}

/** What signs tokens and cookies of the single sign-on, the same in every process. */
export interface SsoSecrets {
  signingKeys: SigningKeys;
  /** Keys of the provider's signed cookies, derived from the master key. */
  cookieKeys: string[];
  logoutSigner: LogoutSigner;
}
