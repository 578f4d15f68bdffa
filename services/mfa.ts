// The second factor of SSO admins (CONTRACT.md, Sign-in → Second factor): a TOTP (RFC 6238: SHA-1,
// 6 digits, 30 s) enrolled on first sign-in, with single-use recovery codes. The secret is kept
// encrypted like citizen IDs; recovery codes only hashed. ThaiID counts as a second factor.
import { randomUUID } from 'node:crypto';
import { and, count, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import { actorOf, writeAudit } from '../db/audit.ts';
import type { Queryable } from '../db/client.ts';
import { authTokens, mfaRecoveryCodes, totpEnrolments } from '../db/schema.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { conflict } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';

const ISSUER = 'SSO DLA';
const PERIOD_S = 30;
const RECOVERY_CODES = 10;

/** Whether this account needs a second factor to sign in with a password: it administers a unit (or is DLA central). */
export function needsSecondFactor(deps: Pick<ServiceDeps, 'config'>, actor: Pick<Actor, 'central' | 'adminUnits'>): boolean {
  return deps.config.adminMfa.mode === 'required' && (actor.central || actor.adminUnits.length > 0);
}

function totpOf(secret: string, username: string): TOTP {
  return new TOTP({ issuer: ISSUER, label: username, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** Whether the account has a confirmed TOTP. */
export async function isEnrolled(db: Queryable, accountId: string): Promise<boolean> {
  const [row] = await db.select({ confirmedAt: totpEnrolments.confirmedAt }).from(totpEnrolments).where(eq(totpEnrolments.accountId, accountId));
  return row?.confirmedAt != null;
}

/**
 * Starts (or starts again) the enrolment of a TOTP: a new secret, kept until confirmed with a code.
 * 409 once enrolled: the secret is never shown again.
 */
export async function beginTotpEnrolment(
  deps: ServiceDeps,
  account: { id: string; username: string },
  options: { keep?: number | undefined } = {},
): Promise<{ secret: string; otpauthUri: string; startedAt: number }> {
  const [row] = await deps.db.select().from(totpEnrolments).where(eq(totpEnrolments.accountId, account.id));
  if (row?.confirmedAt) throw conflict('ยืนยันตัวตนสองขั้นตอนไว้แล้ว / A second factor is enrolled already.');
  // The enrolment page shown again (a wrong code, a reload) keeps the secret the person may have scanned, but
  // only the one this browser was shown (`keep`: when it was started): a secret someone else started with the
  // password alone (over the API) is replaced, never shown to the admin to scan.
  if (row && options.keep === row.createdAt.getTime()) {
    const kept = deps.cipher.decrypt(row.secretEnc);
    return { secret: kept, otpauthUri: totpOf(kept, account.username).toString(), startedAt: row.createdAt.getTime() };
  }
  const secret = new Secret({ size: 20 }).base32;
  const secretEnc = deps.cipher.encrypt(secret);
  const createdAt = new Date();
  // Only an unconfirmed enrolment is replaced (a confirmed one made meanwhile stays).
  await deps.db
    .insert(totpEnrolments)
    .values({ accountId: account.id, secretEnc, createdAt })
    .onConflictDoUpdate({
      target: totpEnrolments.accountId,
      set: { secretEnc, lastStep: null, createdAt },
      where: isNull(totpEnrolments.confirmedAt),
    });
  return { secret, otpauthUri: totpOf(secret, account.username).toString(), startedAt: createdAt.getTime() };
}

/** The time step a TOTP code is valid for now (one step of drift either way), or null. */
function stepOf(secret: string, username: string, code: string): number | null {
  const totp = totpOf(secret, username);
  const now = Date.now();
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : totp.counter({ timestamp: now }) + delta;
}

const normaliseCode = (code: string) => code.replace(/[\s-]/g, '').toLowerCase();

/** New recovery codes in place of any the account had: returned to be shown once, stored hashed. */
async function replaceRecoveryCodes(tx: Queryable, accountId: string): Promise<string[]> {
  await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.accountId, accountId));
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const raw = new Secret({ size: 7 }).base32.slice(0, 10).toLowerCase();
    return `${raw.slice(0, 5)}-${raw.slice(5)}`;
  });
  await tx.insert(mfaRecoveryCodes).values(codes.map((c) => ({ accountId, codeHash: sha256Hex(normaliseCode(c)) })));
  return codes;
}

/**
 * Confirms the enrolment with a code from the authenticator: the recovery codes (shown once,
 * stored hashed). False for a wrong code (the caller counts it as a failed sign-in); 409 without
 * an enrolment started or when one is confirmed already.
 */
export async function confirmTotpEnrolment(
  deps: ServiceDeps,
  account: { id: string; username: string; unitCode: string | null },
  otp: string,
  options: { startedAt?: number | undefined } = {},
): Promise<string[] | false> {
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.accountId, account.id)).for('update');
    if (!row || row.confirmedAt) throw conflict('เริ่มการลงทะเบียนก่อน / Start the enrolment first (POST /api/v1/auth/mfa/totp).');
    // A browser confirms only the secret it was shown: one started again elsewhere meanwhile takes no code from it.
    if (options.startedAt !== undefined && options.startedAt !== row.createdAt.getTime()) return false;
    const step = stepOf(deps.cipher.decrypt(row.secretEnc), account.username, normaliseCode(otp));
    if (step === null) return false;
    await tx.update(totpEnrolments).set({ confirmedAt: new Date(), lastStep: step }).where(eq(totpEnrolments.accountId, account.id));
    const codes = await replaceRecoveryCodes(tx, account.id);
    await writeAudit(tx, {
      key: `account:${account.id}:mfa-enrolled:${row.createdAt.getTime()}`,
      actor: actorOf(account.id),
      action: 'account.mfa_enrolled',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      after: { method: 'totp' },
    });
    return codes;
  });
}

/**
 * Checks a second factor: a TOTP code (accepted once: a code of a step already used is refused)
 * or an unused recovery code (used up now). Nothing for an account without a confirmed TOTP.
 */
export async function checkSecondFactor(deps: ServiceDeps, account: { id: string; username: string }, otp: string): Promise<boolean> {
  const code = normaliseCode(otp);
  if (/^\d{6}$/.test(code)) {
    const [row] = await deps.db.select().from(totpEnrolments).where(eq(totpEnrolments.accountId, account.id));
    if (!row?.confirmedAt) return false;
    const step = stepOf(deps.cipher.decrypt(row.secretEnc), account.username, code);
    if (step === null) return false;
    // One statement: of two sign-ins with the same code at once, one wins.
    const used = await deps.db
      .update(totpEnrolments)
      .set({ lastStep: step })
      .where(and(eq(totpEnrolments.accountId, account.id), or(isNull(totpEnrolments.lastStep), lt(totpEnrolments.lastStep, step))))
      .returning({ accountId: totpEnrolments.accountId });
    return used.length > 0;
  }
  if (code.length !== 10 || !(await isEnrolled(deps.db, account.id))) return false;
  const used = await deps.db
    .update(mfaRecoveryCodes)
    .set({ usedAt: new Date() })
    .where(and(eq(mfaRecoveryCodes.codeHash, sha256Hex(code)), eq(mfaRecoveryCodes.accountId, account.id), isNull(mfaRecoveryCodes.usedAt)))
    .returning({ codeHash: mfaRecoveryCodes.codeHash });
  return used.length > 0;
}

/** Records that this sign-in showed its second factor again now (a code, or ThaiID). */
export async function markSecondFactor(db: Queryable, token: string): Promise<void> {
  await db
    .update(authTokens)
    .set({ secondFactorAt: sql`now()` })
    .where(eq(authTokens.tokenHash, sha256Hex(token)));
}

/**
 * Whether an action that needs a recent second factor may go ahead for this sign-in: always with
 * ADMIN_MFA=off; otherwise when the sign-in showed one within ADMIN_MFA_RECONFIRM_AFTER.
 */
export function secondFactorIsRecent(deps: Pick<ServiceDeps, 'config'>, secondFactorAt: Date | null | undefined): boolean {
  if (deps.config.adminMfa.mode === 'off') return true;
  return secondFactorAt != null && Date.now() - secondFactorAt.getTime() <= deps.config.adminMfa.reconfirmAfterMs;
}

/** What the account has of a second factor: since when its TOTP is confirmed (null: none), and its unused recovery codes. */
export interface SecondFactorState {
  enrolledAt: Date | null;
  recoveryCodesLeft: number;
}

export async function secondFactorState(db: Queryable, accountId: string): Promise<SecondFactorState> {
  const [row] = await db.select({ confirmedAt: totpEnrolments.confirmedAt }).from(totpEnrolments).where(eq(totpEnrolments.accountId, accountId));
  const [codes] = await db
    .select({ n: count() })
    .from(mfaRecoveryCodes)
    .where(and(eq(mfaRecoveryCodes.accountId, accountId), isNull(mfaRecoveryCodes.usedAt)));
  return { enrolledAt: row?.confirmedAt ?? null, recoveryCodesLeft: codes?.n ?? 0 };
}

/**
 * Removes the account's second factor in the caller's transaction: its TOTP (confirmed or only
 * started) and every recovery code. What it had, or null when it had nothing.
 */
export async function removeSecondFactor(tx: Queryable, accountId: string): Promise<SecondFactorState | null> {
  const had = await secondFactorState(tx, accountId);
  const totp = await tx.delete(totpEnrolments).where(eq(totpEnrolments.accountId, accountId)).returning({ accountId: totpEnrolments.accountId });
  const codes = await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.accountId, accountId)).returning({ codeHash: mfaRecoveryCodes.codeHash });
  return totp.length > 0 || codes.length > 0 ? had : null;
}

/**
 * The person sets up a new authenticator themselves (their sign-in showed a second factor recently,
 * e.g. ThaiID after losing the phone): the TOTP and recovery codes they had stop working now, and a
 * new secret waits for its first code (confirmTotpEnrolment). Audited.
 */
export async function restartTotpEnrolment(
  deps: ServiceDeps,
  account: { id: string; username: string; unitCode: string | null },
): Promise<{ secret: string; otpauthUri: string; startedAt: number }> {
  await deps.db.transaction(async (tx) => {
    const had = await removeSecondFactor(tx, account.id);
    if (!had?.enrolledAt) return;
    await writeAudit(tx, {
      key: `account:${account.id}:mfa-removed:${had.enrolledAt.getTime()}`,
      actor: actorOf(account.id),
      action: 'account.mfa_removed',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason: 'a new authenticator set up by the person',
      before: { method: 'totp', enrolledAt: had.enrolledAt.toISOString(), recoveryCodesLeft: had.recoveryCodesLeft },
    });
  });
  return beginTotpEnrolment(deps, account);
}

/** New recovery codes for an enrolled person (their sign-in showed a second factor recently); the old ones stop working. 409 without a TOTP. */
export async function renewRecoveryCodes(deps: ServiceDeps, account: { id: string; unitCode: string | null }): Promise<string[]> {
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.accountId, account.id)).for('update');
    if (!row?.confirmedAt) throw conflict('ยังไม่ได้ตั้งค่าการยืนยันตัวตนสองขั้นตอน / No second factor is set up: set up an authenticator first.');
    const codes = await replaceRecoveryCodes(tx, account.id);
    await writeAudit(tx, {
      key: `account:${account.id}:mfa-recovery-codes:${randomUUID()}`,
      actor: actorOf(account.id),
      action: 'account.mfa_recovery_codes_renewed',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      after: { recoveryCodes: codes.length },
    });
    return codes;
  });
}
