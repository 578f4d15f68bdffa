// Signing in and out, once for every door (the API, the sign-in page, a connected system's sign-in,
// ThaiID): the password check, the token a sign-in gets, its revocation, and ending a person's
// sign-ins everywhere with the back-channel logouts that follow.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { actorOf, writeAudit } from '../db/audit.ts';
import { perDatabase, rowsOf, type Db, type Queryable } from '../db/client.ts';
import { accounts, authTokens, identityVerifications, signInEvents, signInFailures, type AccountStatus, type SignInMethod } from '../db/schema.ts';
import { endSignIns } from '../db/sso-sessions.ts';
import { randomSecret, sha256Hex } from '../lib/crypto.ts';
import { hashPassword, needsRehash, verifyPassword } from '../lib/passwords.ts';
import { Problem, SecondFactorProblem, unauthorized, type SecondFactorStep } from '../lib/problem.ts';
import { deliverSsoLogouts, type LogoutSigner } from '../lib/sso/backchannel-logout.ts';
import type { VerifiedClaims } from '../lib/sso/thaiid.ts';
import { actorColumns, actorOfRow, loadActor, type Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { checkSecondFactor, confirmTotpEnrolment, isEnrolled, needsSecondFactor } from './mfa.ts';

/** Ending sign-ins sends logout notices to the connected systems: signed with the provider's key. */
export interface SignInDeps extends ServiceDeps {
  sso: { logoutSigner: LogoutSigner };
}

export const WRONG_CREDENTIALS = 'ชื่อผู้ใช้งานหรือรหัสผ่านไม่ถูกต้อง / The username or password is wrong.';
/** Said beside WRONG_CREDENTIALS while a username is locked: the same 401, so a lock tells nothing about the password. */
export const LOCKED_HINT =
  'มีการใส่รหัสผ่านผิดหลายครั้ง การเข้าสู่ระบบด้วยชื่อผู้ใช้งานนี้ถูกพักไว้ชั่วคราว ลองใหม่ภายหลัง ตั้งรหัสผ่านใหม่ เข้าสู่ระบบด้วย ThaiID หรือติดต่อผู้ดูแลระบบ SSO ของหน่วยงาน / ' +
  'After many failed attempts, password sign-in for this username is paused for a while: try again later, reset your password, sign in with ThaiID, or ask the SSO admin of your unit.';
const VERIFICATION_TTL_MS = 30 * 60_000;
export const CODE_REQUIRED = 'ผู้ดูแลระบบต้องใส่รหัสยืนยันจากแอปยืนยันตัวตน (หรือรหัสกู้คืน) / An admin signs in with a code from the authenticator app (or a recovery code).';
export const WRONG_CODE = 'รหัสยืนยันไม่ถูกต้องหรือใช้ไปแล้ว / The code is wrong or was used already.';
export const ENROLMENT_REQUIRED =
  'ผู้ดูแลระบบต้องลงทะเบียนการยืนยันตัวตนสองขั้นตอนก่อน (POST /api/v1/auth/mfa/totp) หรือเข้าสู่ระบบด้วย ThaiID / ' +
  'An admin enrols a second factor first (POST /api/v1/auth/mfa/totp), or signs in with ThaiID.';

/** 423: the account exists and the credentials are right, but it may not sign in. */
export const cannotSignIn = (status: AccountStatus) =>
  new Problem(423, 'Locked', `บัญชีนี้ถูกระงับการใช้งาน กรุณาติดต่อผู้ดูแลระบบ SSO ของหน่วยงาน / This account is ${status}; ask the SSO admin of your unit.`);

export interface SignedIn {
  account: Actor;
  token: string;
  expiresAt: Date;
}

/** Where a sign-in happens: for a connected system (its OIDC client id), or the portal or API (none). */
export interface SignInContext {
  system?: string | undefined;
}

// The statements every sign-in or signed-in request runs, prepared once (db/client.ts, perDatabase).
const statements = perDatabase((db) => {
  const p = sql.placeholder;
  const issued = db.$with('issued').as(
    db
      .insert(authTokens)
      // Times as ISO text: the prepared statement's parameters skip the columns' own encoding.
      .values({
        tokenHash: p('tokenHash'),
        accountId: p('accountId'),
        expiresAt: sql`${p('expiresAt')}::timestamptz`,
        secondFactorAt: sql`${p('secondFactorAt')}::timestamptz`,
      })
      .returning({ accountId: authTokens.accountId }),
  );
  return {
    // A data-modifying WITH runs whether or not the statement reads it (PostgreSQL's rule).
    issueSignIn: db
      .with(issued)
      .insert(signInEvents)
      .values({ accountId: p('accountId'), method: p('method'), clientId: p('clientId') })
      .prepare('sign_in_issue'),
    tokenSignIn: db
      .select({ ...actorColumns(), signedInAt: authTokens.createdAt, secondFactorAt: authTokens.secondFactorAt })
      .from(authTokens)
      .innerJoin(accounts, eq(accounts.id, authTokens.accountId))
      .where(and(eq(authTokens.tokenHash, p('tokenHash')), isNull(authTokens.revokedAt), gt(authTokens.expiresAt, p('now'))))
      .prepare('sign_in_of_token'),
    passwordStep: db
      .select({
        account: { ...actorColumns(), passwordHash: accounts.passwordHash },
        failures: { counted: signInFailures.failures, lockedUntil: signInFailures.lockedUntil },
      })
      .from(sql`(select 1) as one`)
      .leftJoin(accounts, eq(sql`lower(${accounts.username})`, p('name')))
      .leftJoin(signInFailures, eq(signInFailures.username, p('name')))
      .prepare('sign_in_password_step'),
  };
});

/**
 * A new sign-in token (stored hashed), valid for TOKEN_TTL, and the sign-in recorded by the same
 * statement (a sign-in storm's every round trip counts).
 */
async function issueToken(
  deps: Pick<ServiceDeps, 'db' | 'config'>,
  accountId: string,
  options: { ttlMs: number; secondFactorAt: Date | null; signInEvent: { method: SignInMethod; clientId: string | null } },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomSecret(32);
  const expiresAt = new Date(Date.now() + options.ttlMs);
  await statements(deps.db).issueSignIn.execute({
    tokenHash: sha256Hex(token),
    accountId,
    expiresAt: expiresAt.toISOString(),
    secondFactorAt: options.secondFactorAt?.toISOString() ?? null,
    ...options.signInEvent,
  });
  return { token, expiresAt };
}

/** Revokes one token (a sign-out); unknown or revoked already is no error. */
export async function revokeToken(db: Queryable, token: string): Promise<void> {
  await db
    .update(authTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(authTokens.tokenHash, sha256Hex(token)), isNull(authTokens.revokedAt)));
}

/**
 * The sign-in a token stands for, while it is neither revoked nor expired: its account as an actor
 * (null when the account is no longer active), since when, and its last second factor. One
 * statement: every signed-in request asks it.
 */
export async function tokenSignIn(db: Db, token: string): Promise<{ actor: Actor | null; signedInAt: Date; secondFactorAt: Date | null } | null> {
  const [row] = await statements(db).tokenSignIn.execute({ tokenHash: sha256Hex(token), now: new Date().toISOString() });
  if (!row) return null;
  const { signedInAt, secondFactorAt, ...account } = row;
  return { actor: actorOfRow(account), signedInAt, secondFactorAt };
}

/** The signed-in account behind a token, or null. */
export async function signedInWith(db: Db, token: string): Promise<(Actor & { signedInAt: Date; secondFactorAt: Date | null }) | null> {
  const signIn = await tokenSignIn(db, token);
  return signIn?.actor ? { ...signIn.actor, signedInAt: signIn.signedInAt, secondFactorAt: signIn.secondFactorAt } : null;
}

/** How usernames are compared and counted everywhere: `" Admin"` and `"admin"` are one username. */
export const normaliseUsername = (username: string) => username.trim().toLowerCase();

/** The end of the lock on this (normalised) username, while it lasts; null otherwise. */
export async function lockedUntil(db: Queryable, name: string): Promise<Date | null> {
  const [row] = await db
    .select({ lockedUntil: signInFailures.lockedUntil })
    .from(signInFailures)
    .where(and(eq(signInFailures.username, name), gt(signInFailures.lockedUntil, new Date())));
  return row?.lockedUntil ?? null;
}

/**
 * Counts a failed password sign-in of a (normalised) username, in one statement so that parallel
 * attempts on several API processes count each: a window older than the configured one, or a lock
 * that has ended, starts the count again. The failure that reaches the limit locks the username
 * (audited on the account, when there is one). Returns whether the username is locked now.
 */
export async function countFailure(deps: ServiceDeps, name: string): Promise<boolean> {
  const { failures, windowMs, durationMs } = deps.config.signInLockout;
  return deps.db.transaction(async (tx) => {
    const window = sql`make_interval(secs => ${windowMs / 1000})`;
    const lock = sql`now() + make_interval(secs => ${durationMs / 1000})`;
    const stale = sql`(f.window_started_at < now() - ${window} or f.locked_until <= now())`;
    const counted = sql`(case when ${stale} then 1 else f.failures + 1 end)`;
    const [row] = rowsOf<{ failures: number; locked_until: Date | string | null }>(
      await tx.execute(sql`
      insert into ${signInFailures} as f (username, failures, window_started_at, locked_until)
      values (${name}, 1, now(), case when 1 >= ${failures}::int then ${lock} end)
      on conflict (username) do update set
        failures = ${counted},
        window_started_at = case when ${stale} then now() else f.window_started_at end,
        locked_until = case when ${counted} >= ${failures}::int then ${lock} end
      returning failures, locked_until`),
    );
    // The failure that reached the limit is the one that locked it: audited once.
    const lockedNow = row?.locked_until != null && Number(row.failures) === failures;
    if (!row?.locked_until) return false;
    if (lockedNow) {
      const [account] = await tx
        .select({ id: accounts.id, unitCode: accounts.unitCode })
        .from(accounts)
        .where(eq(sql`lower(${accounts.username})`, name));
      if (account) {
        const until = new Date(row.locked_until);
        await writeAudit(tx, {
          key: `account:${account.id}:locked:${until.getTime()}`,
          actor: actorOf(null),
          action: 'account.locked',
          subjectType: 'account',
          subjectId: account.id,
          unitCode: account.unitCode,
          reason: `${row.failures} failed password sign-ins`,
          after: { lockedUntil: until.toISOString() },
        });
      }
    }
    return true;
  });
}

/** A successful sign-in or a new password starts the count of failures again. */
export async function clearFailures(db: Queryable, name: string): Promise<void> {
  await db.delete(signInFailures).where(eq(signInFailures.username, name));
}

/**
 * What the password step reads, in one statement: the account of a (normalised) username, when
 * there is one, and the failures counted on the name (a lock may stand on a name without account).
 */
async function passwordStepRow(db: Db, name: string) {
  const [row] = await statements(db).passwordStep.execute({ name });
  return row!;
}

/**
 * The sign-in of an account whose credentials held: refused unless active, recorded (when, how, for
 * which system). An admin's sign-in lasts ADMIN_TOKEN_TTL; `secondFactor` says it showed one (a
 * TOTP code or ThaiID) now.
 */
async function signIn(
  deps: ServiceDeps,
  account: { id: string; status: AccountStatus },
  method: SignInMethod,
  context: SignInContext,
  secondFactor = false,
  known?: Actor | null,
): Promise<SignedIn> {
  if (account.status !== 'active') throw cannotSignIn(account.status);
  const actor = known ?? (await loadActor(deps.db, account.id));
  if (!actor) throw cannotSignIn(account.status);
  const admin = actor.central || actor.adminUnits.length > 0;
  const issued = await issueToken(deps, account.id, {
    ttlMs: admin ? Math.min(deps.config.tokenTtlMs, deps.config.adminMfa.sessionTtlMs) : deps.config.tokenTtlMs,
    secondFactorAt: secondFactor ? new Date() : null,
    signInEvent: { method, clientId: context.system ?? null },
  });
  return { account: actor, ...issued };
}

/** A password that held, before any second factor: the account, and whether (and how) it still needs one. */
export interface PasswordChecked {
  account: { id: string; status: AccountStatus };
  actor: Actor | null;
  secondFactor: SecondFactorStep | null;
  /** Failures were counted on the username: the sign-in that completes clears them. */
  failuresCounted: boolean;
}

/**
 * The password step of a sign-in: 401 for an unknown user or a wrong password alike, 423 for an
 * account that may not sign in. A username locked after too many failures gets the same 401 with a
 * hint, whatever the password (the lock ends by itself, or an admin lifts it). A password hashed
 * with older parameters is hashed again with today's.
 */
export async function checkPasswordStep(deps: ServiceDeps, input: { username: string; password: string }): Promise<PasswordChecked> {
  const name = normaliseUsername(input.username);
  const row = name ? await passwordStepRow(deps.db, name) : undefined;
  if (row?.failures?.lockedUntil && row.failures.lockedUntil > new Date()) throw unauthorized(`${WRONG_CREDENTIALS} ${LOCKED_HINT}`);
  const found = row?.account;
  // verifyPassword spends the same time for an unknown user as for a wrong password.
  const ok = await verifyPassword(found?.passwordHash ?? undefined, input.password);
  if (!found || !ok) {
    const locked = name ? await countFailure(deps, name) : false;
    throw unauthorized(locked ? `${WRONG_CREDENTIALS} ${LOCKED_HINT}` : WRONG_CREDENTIALS);
  }
  if (found.status !== 'active') throw cannotSignIn(found.status);
  if (needsRehash(found.passwordHash!)) {
    await deps.db
      .update(accounts)
      .set({ passwordHash: await hashPassword(input.password) })
      .where(eq(accounts.id, found.id));
  }
  const actor = actorOfRow(found);
  let secondFactor: SecondFactorStep | null = null;
  if (actor && needsSecondFactor(deps, actor)) secondFactor = (await isEnrolled(deps.db, found.id)) ? 'required' : 'enrolment_required';
  return { account: { id: found.id, status: found.status }, actor, secondFactor, failuresCounted: row?.failures?.counted != null };
}

/**
 * Checks the second factor of a sign-in whose password held: a wrong code counts as a failed
 * sign-in of the username (the same lockout as passwords); a locked username is refused first.
 */
export async function verifySecondFactor(deps: ServiceDeps, actor: Actor, otp: string): Promise<void> {
  const name = normaliseUsername(actor.username);
  if (await lockedUntil(deps.db, name)) throw new SecondFactorProblem('required', `${WRONG_CODE} ${LOCKED_HINT}`);
  if (await checkSecondFactor(deps, actor, otp)) return;
  const locked = await countFailure(deps, name);
  throw new SecondFactorProblem('required', locked ? `${WRONG_CODE} ${LOCKED_HINT}` : WRONG_CODE);
}

/**
 * Signs in with a username and password (and, for an admin, `otp`: a TOTP code or a recovery
 * code). An admin without `otp` or with a wrong one: 401 `mfa: required`; one not enrolled yet:
 * 401 `mfa: enrolment_required` (CONTRACT.md, Second factor).
 */
export async function signInWithPassword(
  deps: ServiceDeps,
  input: { username: string; password: string; otp?: string | undefined },
  context: SignInContext = {},
): Promise<SignedIn> {
  const checked = await checkPasswordStep(deps, input);
  if (checked.secondFactor === 'enrolment_required') throw new SecondFactorProblem('enrolment_required', ENROLMENT_REQUIRED);
  if (checked.secondFactor === 'required') {
    if (!input.otp) throw new SecondFactorProblem('required', CODE_REQUIRED);
    await verifySecondFactor(deps, checked.actor!, input.otp);
  }
  if (checked.failuresCounted) await clearFailures(deps.db, normaliseUsername(input.username));
  return signIn(deps, checked.account, 'password', context, checked.secondFactor !== null, checked.actor);
}

/** Signs in after a password step that needs no second factor (the browser's form). */
export async function signInChecked(deps: ServiceDeps, checked: PasswordChecked, context: SignInContext = {}): Promise<SignedIn> {
  if (checked.secondFactor) throw new SecondFactorProblem(checked.secondFactor, checked.secondFactor === 'required' ? CODE_REQUIRED : ENROLMENT_REQUIRED);
  if (checked.actor && checked.failuresCounted) await clearFailures(deps.db, normaliseUsername(checked.actor.username));
  return signIn(deps, checked.account, 'password', context, false, checked.actor);
}

/**
 * Confirms a TOTP enrolment with its first code: the recovery codes. A wrong code counts as a failed
 * sign-in (401 `mfa: required`).
 */
export async function confirmEnrolment(deps: ServiceDeps, actor: Actor, otp: string, options: { startedAt?: number | undefined } = {}): Promise<string[]> {
  const name = normaliseUsername(actor.username);
  if (await lockedUntil(deps.db, name)) throw new SecondFactorProblem('required', `${WRONG_CODE} ${LOCKED_HINT}`);
  const codes = await confirmTotpEnrolment(deps, actor, otp, options);
  if (codes) return codes;
  const locked = await countFailure(deps, name);
  throw new SecondFactorProblem('required', locked ? `${WRONG_CODE} ${LOCKED_HINT}` : WRONG_CODE);
}

/** The browser's second step: the password held earlier (a signed cookie says so), now the code. */
export async function signInWithSecondFactor(deps: ServiceDeps, accountId: string, otp: string, context: SignInContext = {}): Promise<SignedIn> {
  const actor = await loadActor(deps.db, accountId);
  if (!actor) throw unauthorized(WRONG_CREDENTIALS);
  await verifySecondFactor(deps, actor, otp);
  await clearFailures(deps.db, normaliseUsername(actor.username));
  return signIn(deps, { id: accountId, status: 'active' }, 'password', context, true);
}

/** A sign-in without a second factor to check (the browser's, right after enrolling one with a code). */
export async function signInAfterEnrolment(deps: ServiceDeps, accountId: string, context: SignInContext = {}): Promise<SignedIn> {
  const actor = await loadActor(deps.db, accountId);
  if (!actor) throw unauthorized(WRONG_CREDENTIALS);
  await clearFailures(deps.db, normaliseUsername(actor.username));
  return signIn(deps, { id: accountId, status: 'active' }, 'password', context, true);
}

/**
 * Signs in the person ThaiD verified, found by their citizen ID's keyed hash; a person without an
 * account gets a one-time verification (30 minutes) that fills and locks the registration form.
 */
export async function signInWithThaiId(
  deps: ServiceDeps,
  claims: VerifiedClaims,
  context: SignInContext = {},
): Promise<{ signedIn: SignedIn } | { verification: string }> {
  const { db, cipher } = deps;
  const citizenIdHash = cipher.lookupHash(claims.pid);
  const [account] = await db.select({ id: accounts.id, status: accounts.status }).from(accounts).where(eq(accounts.citizenIdHash, citizenIdHash));
  // ThaiID is a second factor in itself: an admin's sign-in through it needs no code.
  if (account) return { signedIn: await signIn(deps, account, 'thaiid', context, true) };
  const verification = randomSecret(32);
  await db.insert(identityVerifications).values({
    tokenHash: sha256Hex(verification),
    provider: 'thaiid',
    citizenIdHash,
    claimsEnc: cipher.encrypt(JSON.stringify(claims)),
    expiresAt: new Date(Date.now() + VERIFICATION_TTL_MS),
  });
  return { verification };
}

/** Sends the logout notices queued for the account (by `endSignIns`) now, after the change committed. */
export async function deliverLogouts(deps: SignInDeps, accountId: string): Promise<void> {
  await deliverSsoLogouts(deps.db, deps.sso.logoutSigner, { accountId });
}

/** Signs the person out of every system: their tokens, single sign-on sessions, and the systems told. */
export async function signOutEverywhere(deps: SignInDeps, accountId: string, reason: string): Promise<void> {
  const queued = await deps.db.transaction(async (tx) => endSignIns(tx, accountId, reason));
  if (queued > 0) await deliverLogouts(deps, accountId);
}

/** What ThaiD verified for a registration (the token its sign-in gave), while unused and fresh; null otherwise. */
export async function verifiedIdentity(deps: Pick<ServiceDeps, 'db' | 'cipher'>, verification: string): Promise<VerifiedClaims | null> {
  const [row] = await deps.db
    .select({ claimsEnc: identityVerifications.claimsEnc })
    .from(identityVerifications)
    .where(
      and(eq(identityVerifications.tokenHash, sha256Hex(verification)), isNull(identityVerifications.usedAt), gt(identityVerifications.expiresAt, new Date())),
    );
  return row ? (JSON.parse(deps.cipher.decrypt(row.claimsEnc)) as VerifiedClaims) : null;
}
