// TOTP codes for scripts and tests that sign admins in (RFC 6238: SHA-1, 6 digits, 30 s), as an
// authenticator app makes them. The service takes each code once, and the next step's too.
import { Secret, TOTP } from 'otpauth';

const lastStep = new Map<string, number>();

/** A code this process has not used yet: this step's, else the next step's, else (both used) waits for the next step. */
export async function freshTotpCode(secret: string): Promise<string> {
  let now = Math.floor(Date.now() / 30_000);
  const step = Math.max(now, (lastStep.get(secret) ?? -1) + 1);
  while (step > now + 1) {
    await new Promise((r) => setTimeout(r, (now + 1) * 30_000 - Date.now() + 50));
    now = Math.floor(Date.now() / 30_000);
  }
  lastStep.set(secret, step);
  return new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: step * 30_000 });
}

/** Codes of this secret up to the current step (and the next) count as used, e.g. after another process may have used them. */
export function skipUsedSteps(secret: string): void {
  lastStep.set(secret, Math.max(lastStep.get(secret) ?? 0, Math.floor(Date.now() / 30_000) + 1));
}
