// The console's account pages in a real browser, end to end on the real services: the portal leads
// an admin to the console, the admin finds a person of their unit (by name, or by citizen ID),
// grants a right after confirming it, and suspends the account — and that person's browser is
// signed out at once. An admin of a sibling unit may not even see the account.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';
import { uniqueName } from '../../scripts/support/fixtures.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount, siblingAdmin: TestAccount, staff: TestAccount;
let SYSTEM: string;

beforeAll(async () => {
  h = await startHarness({}, { reachable: true });
  tree = await h.seedTree();
  [laoAdmin, siblingAdmin, staff] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA2), h.createAccount(tree.laoA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  SYSTEM = uniqueName('EPLAN').toUpperCase();
  const put = await h.request('PUT', `/api/v1/systems/${SYSTEM}`, {
    token: h.central.token,
    json: { nameTh: 'ระบบแผน', url: 'https://eplan.example', roles: ['planner'] },
  });
  expect(put.status).toBe(200);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('accounts in the console', () => {
  it('the portal links admins to the console, and only admins', async () => {
    const admin = await signedInPage(browser, h.baseUrl, laoAdmin);
    await admin.page.goto('/');
    await Promise.all([admin.page.waitForURL(/\/admin$/), admin.page.click('#admin-console')]);
    await admin.context.close();
    const person = await signedInPage(browser, h.baseUrl, staff);
    await person.page.goto('/');
    expect(await person.page.locator('#admin-console').count()).toBe(0);
    await person.context.close();
  });

  it('an admin finds the person, grants a right after confirming, and a suspension signs the person out of their browser', async () => {
    const person = await signedInPage(browser, h.baseUrl, staff);
    await person.page.goto('/');
    expect(person.page.url()).toBe(`${h.baseUrl}/`);

    // On a 360-px phone.
    const { context, page } = await signedInPage(browser, h.baseUrl, laoAdmin, { phone: true });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto('/admin/accounts');
    await page.fill('#q', staff.username);
    await Promise.all([page.waitForURL(/\/admin\/accounts\?q=/), page.click('form.search button[type=submit]')]);
    await expectAccessible(page);
    await Promise.all([page.waitForURL(`${h.baseUrl}/admin/accounts/${staff.id}`), page.click(`a[href="/admin/accounts/${staff.id}"]`)]);
    // The citizen ID finds the person too (by its keyed hash).
    await page.goto(`/admin/accounts?q=${staff.citizenId}`);
    expect(await page.locator(`a[href="/admin/accounts/${staff.id}"]`).count()).toBe(1);

    await page.goto(`/admin/accounts/${staff.id}`);
    expect(await page.getAttribute('#account-status', 'data-status')).toBe('active');
    await expectAccessible(page);
    // The person's sign-in on the sign-in page is on record: when, with a password, not for a system.
    expect(await page.textContent('main')).toContain('รหัสผ่าน / password');
    // Nothing on the page overflows the phone's width.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);

    // A right: reviewed first, applied on confirmation.
    await page.selectOption('#grant-right', `${SYSTEM}:planner`);
    await page.fill('#grant-reason', 'ได้รับมอบหมายงานแผน');
    await Promise.all([page.waitForURL(/\/rights\/review$/), page.click('form[action$="/rights/review"] button[type=submit] >> text=Review')]);
    expect(await page.textContent('main')).toContain(`${SYSTEM} · planner`);
    await expectAccessible(page);
    await Promise.all([page.waitForURL(/\?done=granted$/), page.click('#confirm')]);
    const granted = await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: laoAdmin.token });
    expect(granted.body.entitlements).toContainEqual({ system: SYSTEM, role: 'planner', unitCode: tree.laoA, status: 'active' });

    // A correction of the e-mail address, with its reason.
    const corrected = `${staff.username}@corrected.example`;
    await page.fill('#email', corrected);
    await page.fill('#details-reason', 'อีเมลเดิมพิมพ์ผิด');
    await Promise.all([page.waitForURL(/\?done=corrected$/), page.click('form[action$="/details"] button[type=submit]')]);
    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: laoAdmin.token })).body.email).toBe(corrected);

    // A form posted without its CSRF token is refused, and changes nothing.
    const forged = await context.request.post(`/admin/accounts/${staff.id}/suspend`, { form: { reason: 'forged', confirm: 'yes' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: laoAdmin.token })).body.status).toBe('active');

    // Suspension: confirmed with a required checkbox.
    await page.fill('#suspend-reason', 'ลาออกจากราชการ');
    await page.check('input[name=confirm]');
    await Promise.all([page.waitForURL(/\?done=suspended$/), page.click('#suspend')]);
    expect(await page.getAttribute('#account-status', 'data-status')).toBe('suspended');
    expect(await page.textContent('main')).toContain('ลาออกจากราชการ'); // in the history, with its reason

    // The person's browser: signed out, sent to the sign-in page.
    await person.page.goto('/');
    await person.page.waitForURL(/\/login/);
    await person.context.close();

    // The audit trail has it, by the admin, with the reason.
    const audit = await h.request('GET', `/api/v1/audit?accountId=${staff.id}`, { token: h.central.token });
    expect(audit.body.items).toContainEqual(expect.objectContaining({ action: 'account.suspended', reason: 'ลาออกจากราชการ' }));
    await context.close();
  });

  it('an admin of a sibling unit gets 403 on the account page and does not find the person', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, siblingAdmin);
    const answer = await page.goto(`/admin/accounts/${staff.id}`);
    expect(answer!.status()).toBe(403);
    await page.goto(`/admin/accounts?q=${staff.username}`);
    expect(await page.locator(`a[href="/admin/accounts/${staff.id}"]`).count()).toBe(0);
    await context.close();
  });
});
