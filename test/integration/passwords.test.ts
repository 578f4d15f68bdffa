// Passwords people manage (issue 13), end to end on the real services: "forgot password" in the
// browser (mail, link, new password; the link single-use and short-lived; an unknown username
// answered alike), changing a password ending the other sign-ins, the policy refusing weak
// passwords with a clear 400 and changing nothing, and the lockout after failed sign-ins that an
// admin lifts in the console (audited).
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash } from '@node-rs/argon2';
import { accounts, passwordResets, signInFailures } from '../../db/schema.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { needsRehash } from '../../lib/passwords.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { expectAccessible, PHONE, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const LOCK_AFTER = 3;
const RESET_REQUESTS = 6; // a minute, per address
let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount;

const linkIn = (text: string) => {
  const match = /\/password\/reset\?token=([\w%-]+)/.exec(text);
  expect(match, 'a reset link in the mail').not.toBeNull();
  return { path: match![0], token: decodeURIComponent(match![1]!) };
};
const apiLogin = (username: string, password: string) => h.request('POST', '/api/v1/auth/login', { json: { username, password } });
const auditOf = async (accountId: string) => (await h.request('GET', `/api/v1/audit?accountId=${accountId}`, { token: h.central.token })).body.items as any[];

beforeAll(async () => {
  h = await startHarness(
    { SIGN_IN_LOCKOUT_FAILURES: String(LOCK_AFTER), LOGIN_RATE_LIMIT_PER_USERNAME: '1000', PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS: String(RESET_REQUESTS) },
    { reachable: true },
  );
  tree = await h.seedTree();
  laoAdmin = await h.createAccount(tree.laoA);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('forgot password', () => {
  it('mails a single-use link; the new password signs in, the old one not; a used or expired link is refused; an unknown username is answered alike', async () => {
    const person = await h.createAccount(tree.laoA);
    const context = await browser.newContext({ baseURL: h.baseUrl, viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();

    // From the sign-in page, on a phone.
    await page.goto('/login');
    await Promise.all([page.waitForURL(/\/password\/forgot$/), page.click('#forgot-password')]);
    await expectAccessible(page);
    await page.fill('#login', `  ${person.username.toUpperCase()} `);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/password/forgot"] button[type=submit]')]);
    const answerKnown = await page.textContent('main p[role=alert]');
    expect(answerKnown).toContain('If an account matches');

    // An unknown username: the same page, the same words, and no mail.
    await page.goto('/password/forgot');
    await page.fill('#login', uniqueName('nobody'));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/password/forgot"] button[type=submit]')]);
    expect(await page.textContent('main p[role=alert]')).toBe(answerKnown);
    const apiKnown = await h.request('POST', '/api/v1/auth/password-reset', { json: { username: person.username } });
    const apiUnknown = await h.request('POST', '/api/v1/auth/password-reset', { json: { username: uniqueName('nobody') } });
    expect([apiKnown.status, apiUnknown.status]).toEqual([202, 202]);
    expect(apiUnknown.body).toEqual(apiKnown.body);

    const [first, second] = await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Set a new password'), 2);
    expect(h.mail.mails.filter((m) => m.subject.includes('Set a new password') && m.to !== person.email && m.to !== laoAdmin.email)).toEqual([]);
    const link = linkIn(first!.text);
    // Kept only hashed: not in the database in clear, not in the outbox, not in the log.
    const stored = await h.resources.database.db.select().from(passwordResets).where(eq(passwordResets.accountId, person.id));
    expect(stored.some((r) => r.tokenHash === sha256Hex(link.token))).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(link.token);
    expect(h.logs.join('\n')).not.toContain(link.token);

    // A weak password is refused on the page, and the link still works.
    await page.goto(link.path);
    await expectAccessible(page);
    await page.fill('#newPassword', 'password123');
    await page.fill('#confirmPassword', 'password123');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/password/reset"] button[type=submit]')]);
    expect(await page.textContent('.error')).toContain('commonly used');

    await page.fill('#newPassword', 'ข้าวเหนียว-มะม่วง-2569');
    await page.fill('#confirmPassword', 'ข้าวเหนียว-มะม่วง-2569');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/password/reset"] button[type=submit]')]);
    expect(await page.textContent('main')).toContain('Your new password is set');

    expect((await apiLogin(person.username, person.password)).status).toBe(401);
    expect((await apiLogin(person.username, 'ข้าวเหนียว-มะม่วง-2569')).status).toBe(200);
    const [told] = await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Your password was changed'));
    expect(told!.text).toContain('set from an e-mailed link');
    // Its sign-ins before the reset ended.
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: person.token })).status).toBe(401);

    // Used: refused on the page and through the API. The second link of the same account died with the first use.
    const again = await page.goto(link.path);
    expect(again!.status()).toBe(400);
    expect(await page.textContent('main')).toContain('cannot be used');
    const reused = await h.request('POST', '/api/v1/auth/password-reset/confirm', { json: { token: link.token, newPassword: 'another-long-phrase-1' } });
    expect(reused.status).toBe(400);
    const sibling = await h.request('POST', '/api/v1/auth/password-reset/confirm', {
      json: { token: linkIn(second!.text).token, newPassword: 'another-long-phrase-1' },
    });
    expect(sibling.status).toBe(400);

    // Expired: a fresh link, its half hour passed.
    await h.request('POST', '/api/v1/auth/password-reset', { json: { username: person.email } });
    const [, , third] = await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Set a new password'), 3);
    const late = linkIn(third!.text);
    await h.resources.database.db
      .update(passwordResets)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(passwordResets.tokenHash, sha256Hex(late.token)));
    expect((await h.request('POST', '/api/v1/auth/password-reset/confirm', { json: { token: late.token, newPassword: 'another-long-phrase-1' } })).status).toBe(
      400,
    );
    expect((await page.goto(late.path))!.status()).toBe(400);
    expect((await apiLogin(person.username, 'ข้าวเหนียว-มะม่วง-2569')).status).toBe(200);
    expect((await auditOf(person.id)).map((e) => e.action)).toContain('account.password_reset');

    // Five requests so far from this address: the next is the last one allowed this minute.
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await h.request('POST', '/api/v1/auth/password-reset', { json: { username: uniqueName('nobody') } })).status);
    expect(statuses).toEqual([202, 429]);
    await context.close();
  });
});

describe('change password', () => {
  it('needs the current password, refuses weak ones with a clear 400 changing nothing, and ends every other sign-in', async () => {
    const person = await h.createAccount(tree.laoA);
    const elsewhere = await h.login(person.username, person.password);
    const browserSession = await signedInPage(browser, h.baseUrl, person);

    const change = (json: unknown, token = person.token) => h.request('POST', '/api/v1/me/password', { token, json });
    const wrong = await change({ currentPassword: 'not-my-password', newPassword: 'fresh-long-phrase-1' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ path: 'currentPassword' })]);
    for (const [weak, says] of [
      ['short7!', /at least 8 characters/],
      ['iloveyou', /commonly used/],
      ['qwerty123', /commonly used/],
      [`my-${person.username}-pw`, /may not contain the username/],
    ] as const) {
      const refused = await change({ currentPassword: person.password, newPassword: weak });
      expect(refused.status, weak).toBe(400);
      expect(refused.body).toMatchObject({ status: 400, errors: [{ path: 'newPassword' }] });
      expect(refused.body.detail).toMatch(says);
    }
    // Nothing changed: every sign-in still works, and so does the old password.
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: elsewhere })).status).toBe(200);
    expect((await apiLogin(person.username, person.password)).status).toBe(200);

    expect((await change({ currentPassword: person.password, newPassword: 'fresh-long-phrase-1' })).status).toBe(204);
    // This sign-in goes on; the other API sign-in and the browser's ended.
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: person.token })).status).toBe(200);
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token: elsewhere })).status).toBe(401);
    await browserSession.page.goto('/');
    await browserSession.page.waitForURL(/\/login/);
    expect((await apiLogin(person.username, person.password)).status).toBe(401);
    expect((await apiLogin(person.username, 'fresh-long-phrase-1')).status).toBe(200);
    // The person is told, in case it was not them.
    await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Your password was changed'));

    // The page: from the portal, in the browser; the browser stays signed in, the API token ends.
    const token = await h.login(person.username, 'fresh-long-phrase-1');
    const { context, page } = await signedInPage(browser, h.baseUrl, { username: person.username, password: 'fresh-long-phrase-1' });
    await Promise.all([page.waitForURL(/\/password\/change$/), page.click('#change-password')]);
    await expectAccessible(page);
    await page.fill('#currentPassword', 'fresh-long-phrase-1');
    await page.fill('#newPassword', 'second-long-phrase-2');
    await page.fill('#confirmPassword', 'second-long-phrase-2');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/password/change"] button[type=submit]')]);
    expect(await page.textContent('main')).toContain('Your password is changed');
    expect((await h.request('GET', `/api/v1/accounts/${person.id}`, { token })).status).toBe(401);
    await page.goto('/');
    expect(page.url()).toBe(`${h.baseUrl}/`);
    // A form without its CSRF token changes nothing.
    const forged = await context.request.post('/password/change', {
      form: { currentPassword: 'second-long-phrase-2', newPassword: 'third-long-phrase-3', confirmPassword: 'third-long-phrase-3' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect((await apiLogin(person.username, 'second-long-phrase-2')).status).toBe(200);
    await context.close();
  });

  it('registration and direct creation refuse weak passwords too, writing nothing', async () => {
    const common = await h.submitRegistration({ unitCode: tree.laoA, password: 'password1' });
    expect(common.status).toBe(400);
    expect(common.body.errors).toEqual([expect.objectContaining({ path: 'data.password' })]);
    const named = uniqueName('applicant');
    const containing = await h.submitRegistration({ unitCode: tree.laoA, username: named, password: `${named}!` });
    expect(containing.status).toBe(400);
    const track = await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&status=pending_approval`, { token: h.central.token });
    expect(JSON.stringify(track.body)).not.toContain(named);
    const created = await h.request('POST', '/api/v1/accounts', {
      token: h.central.token,
      json: {
        username: uniqueName('weak'),
        password: '12345678',
        citizenId: randomCitizenId(),
        firstNameTh: 'ก',
        lastNameTh: 'ข',
        email: 'weak@lao.test',
        unitCode: tree.laoA,
      },
    });
    expect(created.status).toBe(400);
    expect(created.body.errors).toEqual([expect.objectContaining({ path: 'password' })]);
  });
});

describe('password hashes', () => {
  it("a password hashed with older argon2id parameters signs in, and is hashed again with today's", async () => {
    const person = await h.createAccount(tree.laoA);
    const db = h.resources.database.db;
    // The parameters of the previous release (OWASP's m = 19 MiB, t = 2).
    const older = await hash(person.password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await db.update(accounts).set({ passwordHash: older }).where(eq(accounts.id, person.id));
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    const [after] = await db.select({ passwordHash: accounts.passwordHash }).from(accounts).where(eq(accounts.id, person.id));
    expect(after!.passwordHash).not.toBe(older);
    expect(needsRehash(after!.passwordHash!)).toBe(false);
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    expect((await apiLogin(person.username, 'wrong-password')).status).toBe(401);
  });
});

describe('lockout after failed sign-ins', () => {
  it('locks the username after the limit (spaces and case counted as one), says so beside the usual message, and the admin unlocks it in the console', async () => {
    const person = await h.createAccount(tree.laoA);
    const spellings = [person.username, ` ${person.username.toUpperCase()}`, `${person.username} `];
    const answers = [];
    for (let i = 0; i < LOCK_AFTER; i++) answers.push(await apiLogin(spellings[i % spellings.length]!, 'wrong-password'));
    expect(answers.map((a) => a.status)).toEqual(Array(LOCK_AFTER).fill(401));
    expect(answers[0]!.body.detail).toBe(answers[1]!.body.detail);
    expect(answers.at(-1)!.body.detail).toMatch(/^ชื่อผู้ใช้งานหรือรหัสผ่านไม่ถูกต้อง \/ The username or password is wrong\. .*paused/);

    // Now even the right password gets the same 401 with the hint; an unknown username locks alike.
    const locked = await apiLogin(person.username, person.password);
    expect(locked.status).toBe(401);
    expect(locked.body.detail).toBe(answers.at(-1)!.body.detail);
    const ghost = uniqueName('ghost');
    for (let i = 0; i < LOCK_AFTER; i++) await apiLogin(ghost, 'wrong-password');
    expect((await apiLogin(ghost, 'wrong-password')).body.detail).toBe(locked.body.detail);
    // The sign-in page says it too.
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const personPage = await context.newPage();
    await personPage.goto('/login');
    await personPage.fill('#username', person.username);
    await personPage.fill('#password', person.password);
    await Promise.all([personPage.waitForNavigation(), personPage.click('form[action^="/login"] button[type=submit]')]);
    expect(await personPage.textContent('.error')).toContain('paused');
    expect((await auditOf(person.id)).map((e) => e.action)).toContain('account.locked');

    // The unit's admin sees the lock, and lifts it with a reason.
    const { context: adminContext, page } = await signedInPage(browser, h.baseUrl, laoAdmin, { phone: true });
    await page.goto(`/admin/accounts/${person.id}`);
    expect(await page.locator('#account-locked').count()).toBe(1);
    await expectAccessible(page);
    await page.fill('#unlock-reason', 'ผู้ใช้โทรแจ้ง ยืนยันตัวตนแล้ว');
    await Promise.all([page.waitForURL(/\?done=unlocked$/), page.click('#unlock')]);
    expect(await page.locator('#account-locked').count()).toBe(0);
    expect(await page.textContent('main')).toContain('ผู้ใช้โทรแจ้ง ยืนยันตัวตนแล้ว');
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    expect(await auditOf(person.id)).toContainEqual(
      expect.objectContaining({ action: 'account.unlocked', reason: 'ผู้ใช้โทรแจ้ง ยืนยันตัวตนแล้ว', actor: `account:${laoAdmin.id}` }),
    );

    // The helpdesk's other task: a reset link mailed to the person, with a reason, audited.
    await page.fill('#reset-reason', 'ลืมรหัสผ่าน');
    await Promise.all([page.waitForURL(/\?done=reset-sent$/), page.click('#send-reset')]);
    const [mail] = await h.mail.waitFor((m) => m.to === person.email && m.text.includes('SSO admin of your unit sent you this link'));
    expect(mail!.text).toMatch(/\/password\/reset\?token=/);
    expect(await auditOf(person.id)).toContainEqual(expect.objectContaining({ action: 'account.password_reset_sent', reason: 'ลืมรหัสผ่าน' }));
    await adminContext.close();
    await context.close();
  });

  it('a sign-in that succeeds starts the count again: failures before it do not add up with those after', async () => {
    const person = await h.createAccount(tree.laoA);
    for (let i = 0; i < LOCK_AFTER - 1; i++) expect((await apiLogin(person.username, 'wrong-password')).status).toBe(401);
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    for (let i = 0; i < LOCK_AFTER - 1; i++) expect((await apiLogin(person.username, 'wrong-password')).status).toBe(401);
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
  });

  it('the lock ends by itself once its time is over', async () => {
    const person = await h.createAccount(tree.laoA);
    for (let i = 0; i < LOCK_AFTER; i++) await apiLogin(person.username, 'wrong-password');
    expect((await apiLogin(person.username, person.password)).status).toBe(401);
    // Time passes: the lock's end moved to the past (the clock of the database decides, as it would).
    await h.resources.database.db
      .update(signInFailures)
      .set({ lockedUntil: new Date(Date.now() - 1000) })
      .where(eq(signInFailures.username, person.username.toLowerCase()));
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    // And a wrong password after it counts from one again.
    expect((await apiLogin(person.username, 'wrong-password')).body.detail).not.toMatch(/paused/);
  });

  it('the API unlocks and sends a link too, for the admin over the unit only', async () => {
    const [person, other] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA)]);
    for (let i = 0; i < LOCK_AFTER; i++) await apiLogin(person.username, 'wrong-password');
    const unlock = (token: string) => h.request('POST', `/api/v1/accounts/${person.id}/unlock`, { token, json: { reason: 'โทรยืนยันแล้ว' } });
    expect((await unlock(other.token)).status).toBe(403);
    expect((await apiLogin(person.username, person.password)).status).toBe(401);
    expect((await unlock(laoAdmin.token)).body).toEqual({ id: person.id, changed: true });
    expect((await unlock(laoAdmin.token)).body).toEqual({ id: person.id, changed: false });
    expect((await apiLogin(person.username, person.password)).status).toBe(200);
    const send = (token: string, reason = 'ลืมรหัสผ่าน') => h.request('POST', `/api/v1/accounts/${person.id}/password-reset`, { token, json: { reason } });
    expect((await send(other.token)).status).toBe(403);
    expect((await send(laoAdmin.token, ' ')).status).toBe(400);
    expect((await send(laoAdmin.token)).status).toBe(202);
    await h.mail.waitFor((m) => m.to === person.email && m.subject.includes('Set a new password'));
  });
});
