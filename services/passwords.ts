// Passwords people manage (issue 13): changing one's own (the current one required; every other
// sign-in ends), "forgot password" by a single-use link mailed to the account's address (its token
// kept only hashed, never logged, never in Temporal; one answer whether or not the account exists),
// setting a new one from that link, and the link an SSO admin has sent from the console.
import { randomUUID } from 'node:crypto';
import { and, count, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { actorOf, writeAudit } from '../db/audit.ts';
import { accounts, authTokens, passwordResets } from '../db/schema.ts';
import { endSignIns } from '../db/sso-sessions.ts';
import type { Config } from '../lib/config.ts';
import { randomSecret, sha256Hex } from '../lib/crypto.ts';
import { createMailTransport, renderMail } from '../lib/mail.ts';
import { hashNewPassword, verifyPassword } from '../lib/passwords.ts';
import { badRequest, conflict, invalid, notFound } from '../lib/problem.ts';
import { administeredAccount, reasonOf } from './accounts.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { clearFailures, deliverLogouts, normaliseUsername, type SignInDeps } from './sign-in.ts';

/** The log line written when a link could not be mailed (pino's shape). */
export interface Log {
  error(object: object, message: string): void;
}

/** A person asking for links for an account more often than this in an hour gets the same answer and no mail. */
const LINKS_PER_ACCOUNT_PER_HOUR = 3;

export const RESET_REQUESTED =
  'หากมีบัญชีที่ตรงกับข้อมูลนี้ ระบบได้ส่งลิงก์สำหรับตั้งรหัสผ่านใหม่ไปยังอีเมลของบัญชีแล้ว ลิงก์ใช้ได้ครั้งเดียวภายในเวลาที่กำหนด / ' +
  "If an account matches, a link to set a new password was mailed to the account's address. It works once, for a short time.";

export const BAD_RESET_LINK =
  'ลิงก์นี้ใช้ไม่ได้ (ใช้ไปแล้ว หมดอายุ หรือไม่ถูกต้อง) กรุณาขอลิงก์ใหม่ / This link cannot be used (used already, expired or unknown); ask for a new one.';

type AccountRow = Pick<typeof accounts.$inferSelect, 'id' | 'username' | 'email' | 'firstNameTh' | 'lastNameTh' | 'status' | 'unitCode'>;

const accountColumns = {
  id: accounts.id,
  username: accounts.username,
  email: accounts.email,
  firstNameTh: accounts.firstNameTh,
  lastNameTh: accounts.lastNameTh,
  status: accounts.status,
  unitCode: accounts.unitCode,
};

/** One connection per link (no pool): a reset mail is rare, and nothing is left open after it. */
function oneShotMail(config: Config) {
  if (!config.smtpUrl) return createMailTransport(config);
  const url = new URL(config.smtpUrl);
  url.searchParams.set('pool', 'false');
  return createMailTransport({ ...config, smtpUrl: url.toString() });
}

/**
 * Sends one mail after the answer, straight to the person (not through the outbox: see mailLink);
 * a failure is logged, without the mail. The notices of changes to how a person signs in go so too.
 */
export function mailSoon(deps: ServiceDeps, log: Log, to: { id: string; email: string }, key: string, template: string, data: Record<string, unknown>): void {
  const { config } = deps;
  const rendered = renderMail(template, data);
  setImmediate(() => {
    const transport = oneShotMail(config);
    transport
      .send({ key, from: config.mailFrom, to: to.email, ...rendered })
      .catch((error: unknown) =>
        log.error({ err: { message: error instanceof Error ? error.message : String(error) }, accountId: to.id, template }, 'sign-in mail not sent'),
      )
      .finally(() => transport.close());
  });
}

/**
 * Mails the link straight to the account's address, after the answer (the time of an SMTP
 * round trip would tell who has an account). Not through the outbox: the link would lie there in
 * clear. A link that could not be sent is logged (without itself); the person asks again.
 */
function mailLink(deps: ServiceDeps, log: Log, account: AccountRow, token: string, linkId: string, expiresAt: Date, byAdmin: boolean): void {
  mailSoon(deps, log, account, `password-reset.${linkId}`, 'password-reset', {
    firstNameTh: account.firstNameTh,
    lastNameTh: account.lastNameTh,
    username: account.username,
    link: `${deps.config.publicUrl}/password/reset?token=${encodeURIComponent(token)}`,
    expiresAt: expiresAt.toISOString(),
    minutes: Math.round(deps.config.passwordResetTtlMs / 60_000),
    byAdmin,
  });
}

/** Tells the person their password changed, so that a change they did not make does not go unnoticed. */
async function mailChanged(deps: ServiceDeps, log: Log, accountId: string, byLink: boolean): Promise<void> {
  const [account] = await deps.db.select(accountColumns).from(accounts).where(eq(accounts.id, accountId));
  if (!account) return;
  const at = new Date();
  mailSoon(deps, log, account, `password-changed.${account.id}.${at.getTime()}`, 'password-changed', {
    firstNameTh: account.firstNameTh,
    lastNameTh: account.lastNameTh,
    username: account.username,
    at: at.toISOString(),
    byLink,
  });
}

/** A new link for the account (stored hashed), or null when the account had its share this hour. */
async function newLink(deps: ServiceDeps, accountId: string, requestedBy: string | null): Promise<{ token: string; linkId: string; expiresAt: Date } | null> {
  const { db, config } = deps;
  const [recent] = await db
    .select({ n: count() })
    .from(passwordResets)
    .where(and(eq(passwordResets.accountId, accountId), gt(passwordResets.createdAt, new Date(Date.now() - 3_600_000))));
  // An admin's link is not counted against the person's own requests.
  if (!requestedBy && (recent?.n ?? 0) >= LINKS_PER_ACCOUNT_PER_HOUR) return null;
  const token = randomSecret(32);
  const tokenHash = sha256Hex(token);
  const expiresAt = new Date(Date.now() + config.passwordResetTtlMs);
  await db.insert(passwordResets).values({ tokenHash, accountId, expiresAt, requestedBy });
  // Links a day past their end are of no use to anyone: dropped as new ones come.
  await db.delete(passwordResets).where(lt(passwordResets.expiresAt, new Date(Date.now() - 86_400_000)));
  return { token, linkId: tokenHash.slice(0, 16), expiresAt };
}

/**
 * "Forgot password": by username or e-mail address. The same answer whatever happens: an active
 * account found gets a link mailed to its address; nothing else does.
 */
export async function requestPasswordReset(deps: ServiceDeps, input: { login: string }, log: Log): Promise<void> {
  const login = normaliseUsername(input.login);
  if (!login || login.length > 254) return;
  const found = await deps.db
    .select(accountColumns)
    .from(accounts)
    .where(or(eq(sql`lower(${accounts.username})`, login), login.includes('@') ? eq(sql`lower(${accounts.email})`, login) : undefined))
    .limit(5);
  for (const account of found) {
    if (account.status !== 'active') continue;
    const link = await newLink(deps, account.id, null);
    if (link) mailLink(deps, log, account, link.token, link.linkId, link.expiresAt, false);
  }
}

/** The SSO admin over the account's unit has a link mailed to the person (helpdesk), with a reason, audited. */
export async function sendPasswordResetLink(
  deps: ServiceDeps,
  actor: Actor,
  accountId: string,
  input: { reason: string },
  log: Log,
): Promise<{ email: string }> {
  reasonOf(input.reason);
  const account = await administeredAccount(deps.db, actor, accountId);
  if (account.status !== 'active') throw conflict('บัญชีนี้ไม่ได้ใช้งานอยู่ เปิดใช้งานก่อน / The account is not active: reactivate it first.');
  const link = (await newLink(deps, account.id, actor.id))!;
  await deps.db.transaction(async (tx) => {
    await writeAudit(tx, {
      key: `account:${account.id}:password-reset-sent:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.password_reset_sent',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason: input.reason.trim(),
      after: { email: account.email, expiresAt: link.expiresAt.toISOString() },
    });
  });
  mailLink(deps, log, account, link.token, link.linkId, link.expiresAt, true);
  return { email: account.email };
}

/** The reset link's row, while unused and fresh; null otherwise. */
async function liveLink(deps: ServiceDeps, token: string) {
  if (!token || token.length > 200) return null;
  const [row] = await deps.db
    .select({ accountId: passwordResets.accountId, username: accounts.username })
    .from(passwordResets)
    .innerJoin(accounts, eq(accounts.id, passwordResets.accountId))
    .where(and(eq(passwordResets.tokenHash, sha256Hex(token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, new Date())));
  return row ?? null;
}

/** Whose password a link sets (for its page), or null for a used, expired or unknown link. */
export async function passwordResetTarget(deps: ServiceDeps, token: string): Promise<{ username: string } | null> {
  const link = await liveLink(deps, token);
  return link ? { username: link.username } : null;
}

/**
 * Sets a new password from a link: 400 for a used, expired or unknown link, or a password the
 * policy refuses (the link stays usable then). Every sign-in of the person ends, their other links
 * die, and a lock after failed sign-ins is lifted (they proved they read the account's mail).
 */
export async function resetPassword(deps: SignInDeps, input: { token: string; newPassword: string }, log: Log): Promise<void> {
  const link = await liveLink(deps, input.token);
  if (!link) throw badRequest(BAD_RESET_LINK, [{ path: 'token', message: BAD_RESET_LINK }]);
  const passwordHash = await hashNewPassword(input.newPassword, link.username, 'newPassword');
  await deps.db.transaction(async (tx) => {
    // Single use even against two submissions at once: only one of them marks it used.
    const used = await tx
      .update(passwordResets)
      .set({ usedAt: new Date() })
      .where(and(eq(passwordResets.tokenHash, sha256Hex(input.token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, new Date())))
      .returning({ accountId: passwordResets.accountId });
    if (used.length === 0) throw badRequest(BAD_RESET_LINK, [{ path: 'token', message: BAD_RESET_LINK }]);
    await tx
      .update(passwordResets)
      .set({ usedAt: new Date() })
      .where(and(eq(passwordResets.accountId, link.accountId), isNull(passwordResets.usedAt)));
    const [account] = await tx
      .update(accounts)
      .set({ passwordHash, updatedAt: new Date() })
      .where(eq(accounts.id, link.accountId))
      .returning({ id: accounts.id, unitCode: accounts.unitCode, username: accounts.username });
    if (!account) throw notFound('There is no such account.');
    await endSignIns(tx, account.id, 'password reset');
    await clearFailures(tx, normaliseUsername(account.username));
    await writeAudit(tx, {
      key: `account:${account.id}:password-reset:${randomUUID()}`,
      actorAccountId: account.id,
      actor: actorOf(account.id),
      action: 'account.password_reset',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason: 'password set from a reset link',
    });
  });
  await deliverLogouts(deps, link.accountId);
  await mailChanged(deps, log, link.accountId, true);
}

/**
 * The signed-in person changes their password: the current one required (a wrong one is a 400 on
 * `currentPassword`), the new one meeting the policy. Every other sign-in of theirs ends: API
 * tokens, single sign-on sessions and refresh tokens; `keepToken` (the sign-in asking) stays.
 */
export async function changePassword(
  deps: SignInDeps,
  accountId: string,
  keepToken: string | undefined,
  input: { currentPassword: string; newPassword: string },
  log: Log,
): Promise<void> {
  const { db } = deps;
  const [account] = await db
    .select({ id: accounts.id, username: accounts.username, passwordHash: accounts.passwordHash, unitCode: accounts.unitCode })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  if (!account) throw notFound('There is no such account.');
  if (!(await verifyPassword(account.passwordHash, input.currentPassword))) {
    throw invalid('currentPassword', 'รหัสผ่านปัจจุบันไม่ถูกต้อง / The current password is wrong.');
  }
  if (input.newPassword === input.currentPassword) {
    throw invalid('newPassword', 'รหัสผ่านใหม่ต้องต่างจากรหัสผ่านเดิม / The new password must differ from the current one.');
  }
  const passwordHash = await hashNewPassword(input.newPassword, account.username, 'newPassword');
  await db.transaction(async (tx) => {
    await tx.update(accounts).set({ passwordHash, updatedAt: new Date() }).where(eq(accounts.id, account.id));
    await endSignIns(tx, account.id, 'password changed');
    // endSignIns revokes every token; the one that asked is given back in the same transaction (never seen revoked).
    if (keepToken) {
      await tx
        .update(authTokens)
        .set({ revokedAt: null })
        .where(and(eq(authTokens.tokenHash, sha256Hex(keepToken)), eq(authTokens.accountId, account.id), gt(authTokens.expiresAt, new Date())));
    }
    await tx
      .update(passwordResets)
      .set({ usedAt: new Date() })
      .where(and(eq(passwordResets.accountId, account.id), isNull(passwordResets.usedAt)));
    await writeAudit(tx, {
      key: `account:${account.id}:password-changed:${randomUUID()}`,
      actorAccountId: account.id,
      actor: actorOf(account.id),
      action: 'account.password_changed',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason: 'changed by the person',
    });
  });
  await deliverLogouts(deps, account.id);
  await mailChanged(deps, log, account.id, false);
}
