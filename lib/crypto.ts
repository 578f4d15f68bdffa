// Personal data at rest: AES-256-GCM for citizen IDs, an HMAC keyed hash for lookup and uniqueness.
// Both keys are derived from ENCRYPTION_KEY, so a stolen database alone reveals nothing.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PersonalDataCipher {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Deterministic keyed hash (hex): the same citizen ID always gives the same value. */
  lookupHash(plain: string): string;
}

export function createCipher(masterKey: Buffer): PersonalDataCipher {
  if (masterKey.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32));
  const encKey = derive('sso-lifecycle/personal-data/aes-256-gcm');
  const hashKey = derive('sso-lifecycle/personal-data/lookup-hmac');
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || !body) throw new Error('unknown ciphertext format');
      const decipher = createDecipheriv('aes-256-gcm', encKey, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    },
    lookupHash(plain) {
      return createHmac('sha256', hashKey).update(plain).digest('hex');
    },
  };
}

/**
 * ENCRYPTION_KEY when set; otherwise, in the embedded mode only, a key generated once and kept in
 * DATA_DIR. Against a shared database (DATABASE_URL) a missing key is refused.
 */
export function loadMasterKey(encryptionKey: string | undefined, dataDir: string, embedded: boolean): Buffer {
  if (encryptionKey) {
    const key = Buffer.from(encryptionKey, 'base64');
    if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes, base64-encoded');
    return key;
  }
  if (!embedded) {
    // Against a shared database every process must use one key: a key of this machine's DATA_DIR would not be it.
    throw new Error(
      'ENCRYPTION_KEY is not set: with DATABASE_URL every process needs the same key (32 bytes, base64; ' +
        '`openssl rand -base64 32` makes one). Refusing to start.',
    );
  }
  const file = join(dataDir, 'encryption.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/** A secret of its own for one purpose (`info`), derived from the master key. */
export function deriveSecret(masterKey: Buffer, info: string): string {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32)).toString('base64url');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** URL-safe random secret (tokens, tracking codes). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
