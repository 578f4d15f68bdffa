// The console's person reviews in a browser: after a transfer, the new unit's admin sees the rights
// waiting, keeps one and revokes the other with a reason and a confirmation, on a phone.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAAdmin: TestAccount, laoBAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({ TRANSFER_REMIND_AFTER: '1h', TRANSFER_ESCALATE_AFTER: '1h', TRANSFER_EXPIRE_AFTER: '1h' }, { reachable: true });
  tree = await h.seedTree();
  [laoAAdmin, laoBAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoB)]);
  await h.designateAdmins(tree.laoA, [laoAAdmin]);
  await h.designateAdmins(tree.laoB, [laoBAdmin]);
  await h.putInfoSystem();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10); // Asia/Bangkok
const rightsOf = async (accountId: string) => (await h.request('GET', `/api/v1/accounts/${accountId}`, { token: h.central.token })).body;

describe('person reviews in the console', () => {
  it('lists the rights of a transferred person for the new unit; keep and revoke (reason and confirmation) take effect', async () => {
    const staff = await h.createAccount(tree.laoA);
    await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: h.central.token,
      json: ['viewer', 'editor'].map((role) => ({ system: 'INFO', role, unitCode: tree.laoA })),
    });
    const eventId = uniqueName('tr-');
    const sent = await h.request('POST', '/api/v1/personnel-events', {
      token: laoAAdmin.token,
      json: { events: [{ eventId, type: 'transfer', citizenId: staff.citizenId, effectiveDate: today(), toUnitCode: tree.laoB }] },
    });
    expect(sent.status).toBe(202);
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body.reviewId, { timeout: 10_000 })
      .toBeTruthy();
    const reviewId = (await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body.reviewId as string;

    // The old unit's admin has nothing waiting.
    const other = await signedInPage(browser, h.baseUrl, laoAAdmin);
    await other.page.goto('/admin/reviews');
    expect(await other.page.locator(`a[href="/admin/reviews/${reviewId}"]`).count()).toBe(0);
    await other.context.close();

    const { context, page } = await signedInPage(browser, h.baseUrl, laoBAdmin, { phone: true });
    const list = await page.goto('/admin/reviews');
    expect(list!.status()).toBe(200);
    const row = page.locator('table.list tr', { hasText: staff.username });
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('2');
    await expectAccessible(page);
    await Promise.all([page.waitForNavigation(), row.locator('a').click()]);
    expect(page.url()).toContain(`/admin/reviews/${reviewId}`);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await expectAccessible(page);

    const items = (await h.request('GET', `/api/v1/access-reviews/${reviewId}/items`, { token: laoBAdmin.token })).body.items as { id: string; role: string }[];
    const viewer = items.find((i) => i.role === 'viewer')!;
    const editor = items.find((i) => i.role === 'editor')!;

    // Keep: the right is active again, at the new unit.
    await Promise.all([page.waitForNavigation(), page.click(`#keep-${viewer.id}`)]);
    expect(await page.textContent('[role=status]')).toContain('Kept');
    // Revoke: the browser asks for the reason and the confirmation first (required fields).
    await page.click(`#revoke-${editor.id}`);
    expect(page.url()).not.toContain('done=revoke');
    await page.fill(`#why-${editor.id}`, 'งานใหม่ไม่ต้องแก้ไขข้อมูล');
    await page.check(`form:has(#revoke-${editor.id}) input[name=confirm]`);
    await Promise.all([page.waitForNavigation(), page.click(`#revoke-${editor.id}`)]);
    expect(page.url()).toContain('done=revoke');
    expect(await page.textContent('main')).toContain('งานใหม่ไม่ต้องแก้ไขข้อมูล');

    expect((await rightsOf(staff.id)).entitlements).toEqual(
      expect.arrayContaining([
        { system: 'INFO', role: 'viewer', unitCode: tree.laoB, status: 'active' },
        { system: 'INFO', role: 'editor', unitCode: tree.laoA, status: 'revoked' },
      ]),
    );
    // Nothing is left to decide: the review closes and leaves the list.
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${reviewId}`, { token: laoBAdmin.token })).body.status, { timeout: 10_000 })
      .toBe('completed');
    await page.goto('/admin/reviews');
    expect(await page.locator('table.list tr', { hasText: staff.username }).count()).toBe(0);
    await context.close();
  }, 60_000);

  it('refuses a form without its CSRF token', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, laoBAdmin);
    const forged = await page.request.post(`/admin/reviews/00000000-0000-4000-8000-000000000000/items/00000000-0000-4000-8000-000000000000`, {
      form: { decision: 'keep' },
    });
    expect(forged.status()).toBe(403);
    await context.close();
  });
});
