// npm run demo, signing in: with ADMIN_MFA=required (the default) an admin signs in over the API with a
// TOTP code. An admin the demo signs in as who has no second factor yet is enrolled by the demo, and the
// authenticator secret is kept (DATA_DIR/demo-authenticators.json, readable by its owner only) so that a
// second run signs in again, and printed so that a person can add it to an authenticator app.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { freshTotpCode, skipUsedSteps } from './support/totp.ts';

/** Authenticator secrets by username. */
export interface AuthenticatorSecrets {
  get(username: string): string | undefined;
  set(username: string, secret: string): void;
  /** Those enrolled by this run. */
  enrolled: Map<string, string>;
}

export function secretsInMemory(): AuthenticatorSecrets {
  const all = new Map<string, string>();
  const enrolled = new Map<string, string>();
  return { get: (u) => all.get(u), set: (u, s) => void (all.set(u, s), enrolled.set(u, s)), enrolled };
}

export function secretsInDataDir(dataDir: string): AuthenticatorSecrets {
  const file = join(dataDir, 'demo-authenticators.json');
  const all = new Map<string, string>(existsSync(file) ? Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : []);
  const enrolled = new Map<string, string>();
  return {
    get: (u) => all.get(u),
    set(u, s) {
      all.set(u, s);
      enrolled.set(u, s);
      writeFileSync(file, JSON.stringify(Object.fromEntries(all), null, 2), { mode: 0o600 });
    },
    enrolled,
  };
}

/** The otpauth URI an authenticator app takes (as text or a QR code). */
export const otpauthUri = (username: string, secret: string) =>
  new TOTP({ issuer: 'sso-lifecycle demo', label: username, algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).toString();

async function post(baseUrl: string, path: string, json: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * Signs in over the API and returns the token, or null when the account cannot sign in (unknown, suspended).
 * An admin without a second factor is enrolled first; one whose secret the demo does not know needs `otp`.
 */
export async function demoSignIn(baseUrl: string, username: string, password: string, secrets: AuthenticatorSecrets, otp?: string): Promise<string | null> {
  let answer = await post(baseUrl, '/api/v1/auth/login', { username, password });
  if (answer.status === 401 && answer.body?.mfa === 'enrolment_required') {
    const started = await post(baseUrl, '/api/v1/auth/mfa/totp', { username, password });
    if (started.status !== 200) throw new Error(`enrolling ${username}'s second factor: ${started.status} ${started.body?.detail ?? ''}`);
    const secret = started.body.secret as string;
    const confirmed = await post(baseUrl, '/api/v1/auth/mfa/totp/confirm', { username, password, otp: await freshTotpCode(secret) });
    if (confirmed.status !== 200) throw new Error(`confirming ${username}'s second factor: ${confirmed.status} ${confirmed.body?.detail ?? ''}`);
    secrets.set(username, secret);
    answer = { status: 401, body: { mfa: 'required' } };
  }
  if (answer.status === 401 && answer.body?.mfa === 'required') {
    const secret = secrets.get(username);
    if (!secret && !otp) throw new Error(`${username} signs in with a second factor the demo does not know: give a current code (DEMO_ADMIN_OTP)`);
    answer = await post(baseUrl, '/api/v1/auth/login', { username, password, otp: secret ? await freshTotpCode(secret) : otp });
    // A code is taken once: a run just before this one may have used this step's and the next; try later steps.
    for (let tries = 0; secret && tries < 2 && answer.status === 401 && answer.body?.mfa === 'required'; tries++) {
      skipUsedSteps(secret);
      answer = await post(baseUrl, '/api/v1/auth/login', { username, password, otp: await freshTotpCode(secret) });
    }
  }
  return answer.status === 200 ? (answer.body.token as string) : null;
}
