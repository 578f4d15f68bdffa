// The second factor of SSO admins (CONTRACT.md, Sign-in → Second factor) with ADMIN_MFA=required:
// the API's statuses and `mfa` values, enrolment, recovery codes, replay, the lockout, ThaiID, and
// in the browser an admin's first sign-in enrolling, the next one with a code, and re-confirmation
// before approving an appointment (which designates an admin).
import { eq, sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authTokens, totpEnrolments } from '../../db/schema.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { PDF } from '../../scripts/support/fixtures.ts';
import { expectAccessible, PHONE } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
const DOM = 'domcontentloaded' as const;

beforeAll(async () => {
  h = await startHarness({ ADMIN_MFA: 'required', SIGN_IN_LOCKOUT_FAILURES: '6', LOGIN_RATE_LIMIT_PER_USERNAME: '1000' }, { reachable: true });
  tree = await h.seedTree();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const login = (body: Record<string, unknown>) => h.request('POST', '/api/v1/auth/login', { json: body });

async function newAdmin(unitCode: string): Promise<TestAccount> {
  const account = await h.createAccount(unitCode);
  await h.designateAdmins(unitCode, [account]);
  return account;
}

/** Every sign-in of the account showed its second factor long ago (as if the re-confirmation window passed). */
async function staleSecondFactor(accountId: string) {
  await h.resources.database.db
    .update(authTokens)
    .set({ secondFactorAt: sql`now() - interval '1 hour'` })
    .where(eq(authTokens.accountId, accountId));
}

describe('second factor through the API', () => {
  it('an admin enrols, signs in with a code once, with a recovery code once; a person who administers nothing needs none', async () => {
    const admin = await newAdmin(tree.laoA);
    const who = { username: admin.username, password: admin.password };

    const unenrolled = await login(who);
    expect(unenrolled.status).toBe(401);
    expect(unenrolled.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(unenrolled.body).toMatchObject({ status: 401, mfa: 'enrolment_required' });
    // A wrong password is the usual 401, without `mfa` (nothing said about the account).
    const wrongPassword = await login({ ...who, password: 'not-the-password' });
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.body.mfa).toBeUndefined();
    expect((await h.request('POST', '/api/v1/auth/mfa/totp', { json: { ...who, password: 'not-the-password' } })).status).toBe(401);

    const first = await h.request('POST', '/api/v1/auth/mfa/totp', { json: who });
    expect(first.status).toBe(200);
    // Before confirming, a repeat gives a new secret: the last one counts.
    const started = await h.request('POST', '/api/v1/auth/mfa/totp', { json: who });
    expect(started.status).toBe(200);
    const { secret, otpauthUri } = started.body as { secret: string; otpauthUri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    // The secret is kept encrypted, never in the clear, and never logged.
    const [stored] = await h.resources.database.db.select().from(totpEnrolments).where(eq(totpEnrolments.accountId, admin.id));
    expect(stored!.secretEnc).not.toContain(secret);
    expect(h.resources.cipher.decrypt(stored!.secretEnc)).toBe(secret);

    const wrongConfirm = await h.request('POST', '/api/v1/auth/mfa/totp/confirm', { json: { ...who, otp: '12345' } });
    expect(wrongConfirm.status).toBe(401);
    expect(wrongConfirm.body.mfa).toBe('required');
    // The code computed with the library (otpauth, in the harness), as an authenticator app would.
    const firstCode = await h.totpCode(secret);
    const confirmed = await h.request('POST', '/api/v1/auth/mfa/totp/confirm', { json: { ...who, otp: firstCode } });
    expect(confirmed.status).toBe(200);
    const recoveryCodes = confirmed.body.recoveryCodes as string[];
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    // Enrolled: the secret is never given again.
    expect((await h.request('POST', '/api/v1/auth/mfa/totp', { json: who })).status).toBe(409);

    const withoutCode = await login(who);
    expect(withoutCode.status).toBe(401);
    expect(withoutCode.body.mfa).toBe('required');
    const wrongCode = await login({ ...who, otp: firstCode === '000000' ? '111111' : '000000' });
    expect(wrongCode.status).toBe(401);
    expect(wrongCode.body.mfa).toBe('required');
    // The code the enrolment used is spent: no replay within its window.
    const replayed = await login({ ...who, otp: firstCode });
    expect(replayed.status).toBe(401);
    expect(replayed.body.mfa).toBe('required');
    const code = await h.totpCode(secret);
    const signedIn = await login({ ...who, otp: code });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.account.roles).toContain('sso_admin');
    // An admin's sign-in is shorter than TOKEN_TTL (8 h): ADMIN_TOKEN_TTL, 4 h.
    const lasts = new Date(signedIn.body.expiresAt).getTime() - Date.now();
    expect(lasts).toBeGreaterThan(3.9 * 3_600_000);
    expect(lasts).toBeLessThanOrEqual(4 * 3_600_000);
    expect((await login({ ...who, otp: code })).status).toBe(401);

    // A recovery code signs in once, whatever its spelling (upper case, without the dash).
    const recovery = recoveryCodes[0]!;
    expect((await login({ ...who, otp: recovery.replace('-', '').toUpperCase() })).status).toBe(200);
    const again = await login({ ...who, otp: recovery });
    expect(again.status).toBe(401);
    expect(again.body.mfa).toBe('required');
    expect((await login({ ...who, otp: recoveryCodes[1] })).status).toBe(200);
    expect(h.logs.join('\n')).not.toContain(secret);

    // A person who administers nothing signs in with the password alone.
    const staff = await h.createAccount(tree.laoA);
    expect((await login({ username: staff.username, password: staff.password })).status).toBe(200);
  });

  it('wrong codes count toward the lockout of the username', async () => {
    const admin = await newAdmin(tree.laoA2);
    const { secret } = await h.enrolTotp(admin);
    const who = { username: admin.username, password: admin.password };
    for (let i = 0; i < 6; i++) expect((await login({ ...who, otp: '99999' })).status).toBe(401);
    const locked = await login({ ...who, otp: await h.totpCode(secret) });
    expect(locked.status).toBe(401);
    expect(locked.body.detail).toMatch(/paused for a while/);
  });

  it('changing a system and designating admins need a second factor confirmed recently', async () => {
    const system = { nameTh: 'ระบบทดสอบ', url: 'https://mfa.example.test', roles: ['user'] };
    const code = `mfa-${Date.now()}`;
    expect((await h.request('PUT', `/api/v1/systems/${code}`, { token: h.central.token, json: system })).status).toBe(200);
    await staleSecondFactor(h.central.id);
    const stale = await h.request('PUT', `/api/v1/systems/${code}`, { token: h.central.token, json: system });
    expect(stale.status).toBe(401);
    expect(stale.body.mfa).toBe('required');
    const staff = await h.createAccount(tree.laoB);
    const designate = () => h.request('PUT', `/api/v1/org-units/${tree.laoB}/admins`, { token: h.central.token, json: [{ accountId: staff.id }] });
    expect((await designate()).body.mfa).toBe('required');

    const wrong = await h.request('POST', '/api/v1/auth/mfa/confirm', { token: h.central.token, json: { otp: '12345' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.mfa).toBe('required');
    expect(
      (await h.request('POST', '/api/v1/auth/mfa/confirm', { token: h.central.token, json: { otp: await h.totpCode(h.central.totpSecret!) } })).status,
    ).toBe(204);
    expect((await h.request('PUT', `/api/v1/systems/${code}`, { token: h.central.token, json: system })).status).toBe(200);
    expect((await designate()).status).toBe(200);
  });
});

/** An appointment letter for a new account of `unitCode`, uploaded by a clerk of that unit: its id. */
async function uploadAppointment(unitCode: string): Promise<string> {
  const clerk = await h.createAccount(unitCode);
  const appointee = await h.createAccount(unitCode);
  const form = new FormData();
  form.append('data', JSON.stringify({ accountId: appointee.id }));
  form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'order.pdf');
  const uploaded = await h.request('POST', `/api/v1/org-units/${unitCode}/admin-appointments`, { token: clerk.token, body: form });
  expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
  return uploaded.body.id as string;
}

describe('re-confirmation of an appointment decision through the API', () => {
  it('approving needs a second factor confirmed recently (as in the console); rejecting does not', async () => {
    const admin = await newAdmin(tree.districtA);
    const { secret } = await h.enrolTotp(admin);
    const signedIn = await login({ username: admin.username, password: admin.password, otp: await h.totpCode(secret) });
    expect(signedIn.status).toBe(200);
    const token = signedIn.body.token as string;
    const [toApprove, toReject] = await Promise.all([uploadAppointment(tree.laoA2), uploadAppointment(tree.laoA2)]);
    await staleSecondFactor(admin.id);

    const decide = (id: string, body: Record<string, unknown>) => h.request('POST', `/api/v1/admin-appointments/${id}/decision`, { token, json: body });
    const stale = await decide(toApprove, { decision: 'approve' });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(stale.body.mfa).toBe('required');
    // Refused before anything happened: the letter still waits.
    expect((await h.request('GET', `/api/v1/admin-appointments/${toApprove}`, { token })).body.status).toBe('pending_approval');
    // Rejecting designates nobody: no code asked.
    expect((await decide(toReject, { decision: 'reject', reason: 'หนังสือไม่ครบ' })).body).toMatchObject({ status: 'rejected' });

    expect((await h.request('POST', '/api/v1/auth/mfa/confirm', { token, json: { otp: await h.totpCode(secret) } })).status).toBe(204);
    const approved = await decide(toApprove, { decision: 'approve' });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe('approved');
  }, 60_000);
});

/** A new admin of the unit, enrolled, signed in with a code: their token, secret and recovery codes. */
async function enrolledAdmin(unitCode: string) {
  const admin = await newAdmin(unitCode);
  const { secret, recoveryCodes } = await h.enrolTotp(admin);
  const signedIn = await login({ username: admin.username, password: admin.password, otp: await h.totpCode(secret) });
  expect(signedIn.status).toBe(200);
  return { ...admin, token: signedIn.body.token as string, secret, recoveryCodes };
}

const auditOf = async (accountId: string) => (await h.request('GET', `/api/v1/audit?accountId=${accountId}`, { token: h.central.token })).body.items as any[];

describe('the helpdesk resets a lost second factor through the API', () => {
  it("an admin over the person's unit, re-confirmed, with a reason: factor and codes gone, sign-ins ended, mailed, enrols again", async () => {
    const [helpdesk, person, sibling] = await Promise.all([enrolledAdmin(tree.districtA), enrolledAdmin(tree.laoA), enrolledAdmin(tree.laoB)]);
    const reset = (token: string, id: string, json: unknown) => h.request('POST', `/api/v1/accounts/${id}/mfa-reset`, { token, json });
    const reason = { reason: 'โทรศัพท์หายพร้อมรหัสกู้คืน (แจ้งทางโทรศัพท์ ยืนยันตัวตนแล้ว)' };

    // Refused, changing nothing: one's own, an admin of another branch, no reason, a staff member.
    expect((await reset(person.token, person.id, reason)).status).toBe(403);
    expect((await reset(sibling.token, person.id, reason)).status).toBe(403);
    expect((await reset(helpdesk.token, person.id, { reason: '  ' })).status).toBe(400);
    const staff = await h.createAccount(tree.laoA);
    expect((await reset(staff.token, person.id, reason)).status).toBe(403);
    // The acting admin's own second factor must be recent, as for designating admins.
    await staleSecondFactor(helpdesk.id);
    const stale = await reset(helpdesk.token, person.id, reason);
    expect(stale.status).toBe(401);
    expect(stale.body.mfa).toBe('required');
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: person.token })).status).toBe(200);

    expect((await h.request('POST', '/api/v1/auth/mfa/confirm', { token: helpdesk.token, json: { otp: await h.totpCode(helpdesk.secret) } })).status).toBe(204);
    const done = await reset(helpdesk.token, person.id, reason);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({ id: person.id, changed: true });

    // Their sign-in ended; their recovery codes are gone; the next password sign-in enrols again.
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: person.token })).status).toBe(401);
    const who = { username: person.username, password: person.password };
    expect((await login({ ...who, otp: person.recoveryCodes[0] })).body.mfa).toBe('enrolment_required');
    const { secret } = await h.enrolTotp(person);
    expect(secret).not.toBe(person.secret);
    expect((await login({ ...who, otp: await h.totpCode(secret) })).status).toBe(200);

    const [mail] = await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Your second factor was reset'));
    expect(mail!.text).toContain(person.username);
    expect(mail!.text).toContain('การยืนยันตัวตนสองขั้นตอน');
    const event = (await auditOf(person.id)).find((e) => e.action === 'account.mfa_reset');
    expect(event).toMatchObject({ reason: reason.reason });
    // Nothing to reset: said so, nothing done.
    await h
      .request('POST', `/api/v1/accounts/${staff.id}/mfa-reset`, { token: helpdesk.token, json: reason })
      .then((r) => expect(r.body).toEqual({ id: staff.id, changed: false }));
  }, 120_000);
});

/** Signs the browser in through the ThaiID stand-in from the sign-in page, and waits to land on `returnTo`. */
async function signInThroughThaiId(page: Page, citizenId: string, returnTo: string) {
  await page.goto(returnTo === '/' ? '/login' : `/login?return=${returnTo}`, { waitUntil: DOM });
  await page.click('a.thaiid');
  await page.waitForURL(/\/thaid-standin\/interaction\//);
  await page.fill('#pid', citizenId);
  await Promise.all([page.waitForURL((url) => url.pathname === returnTo, { timeout: 30_000 }), page.click('button[type=submit]')]);
}

async function signInForm(page: Page, who: { username: string; password: string }) {
  await page.fill('#username', who.username);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
}

describe('second factor in the browser', () => {
  let districtAdmin: TestAccount;
  let secret: string;
  let recoveryCodes: string[];

  it("an admin's first console sign-in enrols a TOTP (secret and QR code), shows the recovery codes once, and lands in the console", async () => {
    districtAdmin = await newAdmin(tree.districtA);
    const context = await browser.newContext({ baseURL: h.baseUrl, viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto('/login?return=/admin', { waitUntil: DOM });
    await signInForm(page, districtAdmin);
    expect(new URL(page.url()).pathname).toBe('/login/second-factor');
    expect(await page.textContent('main')).toContain('Set up the second factor');
    expect(await page.locator('svg.qr').count()).toBe(1);
    secret = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expectAccessible(page);
    // Not signed in yet: the console sends the browser back to sign in.
    expect((await context.request.get('/admin', { maxRedirects: 0 })).status()).toBe(303);

    // A wrong code: the same page with the same secret (the app may have scanned it) and the error.
    await page.fill('#otp', '12345');
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.textContent('.error')).toMatch(/code is wrong/);
    expect((await page.textContent('#totp-secret'))!.replace(/\s/g, '')).toBe(secret);

    await page.fill('#otp', await h.totpCode(secret));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    recoveryCodes = await page.locator('#recovery-codes li').allTextContents();
    expect(recoveryCodes).toHaveLength(10);
    await expectAccessible(page);
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('a.button')]);
    expect(new URL(page.url()).pathname).toBe('/admin');
    await context.close();
  }, 60_000);

  it("never shows the browser a secret someone else started with the admin's password alone, nor lets that secret be confirmed", async () => {
    const admin = await newAdmin(tree.laoB);
    const who = { username: admin.username, password: admin.password };
    // Someone who knows the password starts an enrolment over the API and keeps its secret.
    const started = await h.request('POST', '/api/v1/auth/mfa/totp', { json: who });
    expect(started.status).toBe(200);
    const stolen = started.body.secret as string;

    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await page.goto('/login?return=/admin', { waitUntil: DOM });
    await signInForm(page, admin);
    const shown = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');
    expect(shown).not.toBe(stolen);
    // Their secret is gone: its code confirms nothing.
    const confirmStolen = await h.request('POST', '/api/v1/auth/mfa/totp/confirm', { json: { ...who, otp: await h.totpCode(stolen) } });
    expect(confirmStolen.status).toBe(401);

    // Started again over the API while the page is open: the browser's code no longer confirms, and the page shows a
    // secret of its own again, never the other one.
    const again = (await h.request('POST', '/api/v1/auth/mfa/totp', { json: who })).body.secret as string;
    await page.fill('#otp', await h.totpCode(shown));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.textContent('.error')).toMatch(/code is wrong/);
    const fresh = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');
    expect(fresh).not.toBe(again);
    await page.fill('#otp', await h.totpCode(fresh));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    await context.close();
  }, 60_000);

  it('signs in again with a code, re-confirms with a code before approving an appointment, then approves', async () => {
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await page.goto('/login?return=/admin', { waitUntil: DOM });
    await signInForm(page, districtAdmin);
    expect(new URL(page.url()).pathname).toBe('/login/second-factor');
    expect(await page.locator('#totp-secret').count()).toBe(0);
    await expectAccessible(page);
    await page.fill('#otp', await h.totpCode(secret));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/admin');

    // An LAO below the district asks for an admin; the district admin approves (a designation).
    const clerk = await h.createAccount(tree.laoA);
    const appointee = await h.createAccount(tree.laoA);
    const form = new FormData();
    form.append('data', JSON.stringify({ accountId: appointee.id }));
    form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'order.pdf');
    const uploaded = await h.request('POST', `/api/v1/org-units/${tree.laoA}/admin-appointments`, { token: clerk.token, body: form });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const id = uploaded.body.id as string;

    await staleSecondFactor(districtAdmin.id);
    await page.goto(`/admin/appointments/${id}`, { waitUntil: DOM });
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('#approve')]);
    expect(new URL(page.url()).pathname).toBe('/login/confirm');
    expect(await page.textContent('main')).toContain('Confirm it is you');
    await expectAccessible(page);
    // A recovery code from the enrolment page does here what the app's code does.
    await page.fill('#otp', recoveryCodes[0]!.trim());
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(page.url()).toBe(`${h.baseUrl}/admin/appointments/${id}`);
    await Promise.all([page.waitForNavigation({ timeout: 60_000, waitUntil: DOM }), page.click('#approve')]);
    expect(page.url(), (await page.textContent('main')) ?? '').toMatch(/\?done=approved$/);
    await context.close();
  }, 90_000);

  it("the district admin resets an LAO admin's lost second factor on the account page, after confirming with their own code", async () => {
    const person = await enrolledAdmin(tree.laoA);
    const context = await browser.newContext({ baseURL: h.baseUrl, viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto('/login?return=/admin', { waitUntil: DOM });
    await signInForm(page, districtAdmin);
    await page.fill('#otp', await h.totpCode(secret));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    await staleSecondFactor(districtAdmin.id);

    const accountPage = `${h.baseUrl}/admin/accounts/${person.id}`;
    await page.goto(accountPage, { waitUntil: DOM });
    expect(await page.textContent('#second-factor')).toContain('10 recovery codes left');
    await expectAccessible(page);
    const reason = 'ทำโทรศัพท์หาย รหัสกู้คืนหายด้วย';
    const sendReset = async () => {
      await page.fill('#mfa-reset-reason', reason);
      await page.check('form[action$="/mfa-reset"] input[name=confirm]');
      await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('#mfa-reset')]);
    };
    await sendReset();
    // The admin's own second factor first, then back to the page, where the form is sent again.
    expect(new URL(page.url()).pathname).toBe('/login/confirm');
    await page.fill('#otp', await h.totpCode(secret));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(page.url()).toBe(accountPage);
    await sendReset();
    expect(page.url()).toBe(`${accountPage}?done=mfa-reset`);
    expect(await page.textContent('#second-factor')).toContain('none');
    expect(await page.textContent('main')).toContain(reason); // in the history, with its reason
    await expectAccessible(page);
    await context.close();

    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: person.token })).status).toBe(401);
    await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Your second factor was reset'));
    expect((await login({ username: person.username, password: person.password })).body.mfa).toBe('enrolment_required');
  }, 120_000);

  it('an admin who lost the phone signs in with ThaiID and sets up a new authenticator and recovery codes themselves', async () => {
    const admin = await enrolledAdmin(tree.districtB);
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await signInThroughThaiId(page, admin.citizenId, '/');
    await Promise.all([page.waitForURL(/\/second-factor$/), page.click('#own-second-factor')]);
    await expectAccessible(page);

    // New recovery codes: the old ones stop working.
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('#new-recovery-codes')]);
    const renewed = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
    expect(renewed).toHaveLength(10);
    const who = { username: admin.username, password: admin.password };
    expect((await login({ ...who, otp: admin.recoveryCodes[0] })).status).toBe(401);
    expect((await login({ ...who, otp: renewed[0] })).status).toBe(200);

    // A new authenticator: the old app's codes stop working, the new one's sign in.
    await page.goto('/second-factor', { waitUntil: DOM });
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('#new-authenticator')]);
    const newSecret = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');
    expect(newSecret).not.toBe(admin.secret);
    await expectAccessible(page);
    await page.fill('#otp', await h.totpCode(newSecret));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    expect((await login({ ...who, otp: await h.totpCode(admin.secret) })).body.mfa).toBe('required');
    expect((await login({ ...who, otp: await h.totpCode(newSecret) })).status).toBe(200);
    expect((await auditOf(admin.id)).map((e) => e.action)).toEqual(expect.arrayContaining(['account.mfa_recovery_codes_renewed', 'account.mfa_removed']));
    await context.close();
  }, 120_000);

  it("a new authenticator set up at /second-factor never shows a secret someone started with the admin's password alone", async () => {
    const admin = await enrolledAdmin(tree.districtB);
    const who = { username: admin.username, password: admin.password };
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await signInThroughThaiId(page, admin.citizenId, '/');
    await page.goto('/second-factor', { waitUntil: DOM });
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('#new-authenticator')]);
    const shown = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');

    // Meanwhile someone who knows the password starts an enrolment over the API and keeps its secret.
    const started = await h.request('POST', '/api/v1/auth/mfa/totp', { json: who });
    expect(started.status).toBe(200);
    const stolen = started.body.secret as string;
    await page.fill('#otp', await h.totpCode(shown));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.textContent('.error')).toMatch(/code is wrong/);
    const fresh = (await page.textContent('#totp-secret'))!.replace(/\s/g, '');
    expect(fresh).not.toBe(stolen);
    expect((await h.request('POST', '/api/v1/auth/mfa/totp/confirm', { json: { ...who, otp: await h.totpCode(stolen) } })).status).toBe(401);
    await page.fill('#otp', await h.totpCode(fresh));
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click('form button[type=submit]')]);
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    expect((await login({ ...who, otp: await h.totpCode(fresh) })).status).toBe(200);
    await context.close();
  }, 120_000);

  it('an admin signing in through ThaiID needs no code', async () => {
    const admin = await newAdmin(tree.districtB);
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await signInThroughThaiId(page, admin.citizenId, '/admin');
    expect(await page.textContent('main')).not.toContain('Second factor');
    await context.close();
  }, 60_000);
});
