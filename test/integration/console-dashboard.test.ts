// The rollout dashboard in a browser: the numbers of what the test made (accounts, a suspension, a
// registration decided, units without an admin, personnel changes late or failed) in the tables and
// in the charts beside them; each admin sees their own subtree only.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personnelEvents } from '../../db/schema.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let districtAdmin: TestAccount, siblingAdmin: TestAccount;
let staff: TestAccount[];

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  staff = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA), h.createAccount(tree.laoA), h.createAccount(tree.laoB)]);
  [districtAdmin, siblingAdmin] = await Promise.all([h.createAccount(tree.districtA), h.createAccount(tree.laoA2)]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  // One suspension at LAO A.
  expect((await h.request('POST', `/api/v1/accounts/${staff[0]!.id}/suspend`, { token: districtAdmin.token, json: { reason: 'ย้ายออก' } })).status).toBe(200);
  // One registration at LAO A, decided by the district's admin: one more active account there.
  const submitted = await h.submitRegistration({ unitCode: tree.laoA });
  expect(submitted.status).toBe(202);
  const decided = await h.request('POST', `/api/v1/registrations/${submitted.body.id}/decision`, { token: districtAdmin.token, json: { decision: 'approve' } });
  expect(decided.body).toEqual({ status: 'approved' });
  // The personnel feed: one change applied three days after its date, one that failed.
  const day = (offset: number) => new Date(Date.now() + 7 * 3_600_000 + offset * 86_400_000).toISOString().slice(0, 10);
  const person = { citizenIdHash: h.resources.cipher.lookupHash(staff[1]!.citizenId), citizenIdEnc: h.resources.cipher.encrypt(staff[1]!.citizenId) };
  await h.resources.database.db.insert(personnelEvents).values([
    {
      eventId: uniqueName('late-'),
      type: 'role_change',
      ...person,
      effectiveDate: day(-3),
      source: 'hr-feed',
      status: 'applied',
      appliedAt: new Date(),
      accountId: staff[1]!.id,
    },
    {
      eventId: uniqueName('failed-'),
      type: 'retirement',
      ...person,
      effectiveDate: day(0),
      source: 'hr-feed',
      status: 'failed',
      outcome: 'ทดสอบ',
      accountId: staff[1]!.id,
    },
    {
      eventId: uniqueName('ontime-'),
      type: 'role_change',
      ...person,
      effectiveDate: day(0),
      source: 'hr-feed',
      status: 'applied',
      appliedAt: new Date(),
      accountId: staff[1]!.id,
    },
  ]);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const cellsOf = (page: import('playwright-core').Page, unit: string) =>
  page.locator(`table.units tr[data-unit="${unit}"] td`).evaluateAll((cells) => cells.map((c) => `${c.className}=${c.textContent}`));

describe('the rollout dashboard', () => {
  it("shows DLA central the province's numbers as created: accounts, suspension, units without admin, the decided registration, personnel late and failed", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, h.central);
    const res = await page.goto(`/admin/dashboard?under=${tree.province}`);
    expect(res!.status()).toBe(200);
    // District A: staff 2 active + 1 suspended, its admin, the approved applicant, LAO A2's admin; units D01, S01, S03 of which S01 has no admin.
    expect(await cellsOf(page, tree.districtA)).toEqual(['active=5', 'suspended=1', 'disabled=0', 'units=3', 'without-admin=1']);
    // District B: one staff; neither it nor its LAO has an admin.
    expect(await cellsOf(page, tree.districtB)).toEqual(['active=1', 'suspended=0', 'disabled=0', 'units=2', 'without-admin=2']);
    expect(await cellsOf(page, tree.province)).toEqual(['active=0', 'suspended=0', 'disabled=0', 'units=1', 'without-admin=1']);
    expect(await page.textContent('#total-active')).toBe('6');
    expect(await page.textContent('#total-suspended')).toBe('1');
    expect(await page.textContent('#total-without-admin')).toBe('4');
    // The charts carry the same numbers.
    const accountBars = await page.locator('#accounts g[data-label]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-value')));
    expect(accountBars).toEqual(['0 / 0', '5 / 1', '1 / 0']);
    const gapBars = await page.locator('#without-admin g[data-label]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-value')));
    expect(gapBars).toEqual(['1', '1', '2']);

    // This week: one registration submitted and approved; one decision, decided within the hour.
    expect(await page.locator('table.weeks tbody tr').count()).toBe(12);
    expect(await page.locator('table.weeks tbody tr').last().locator('td').allTextContents()).toEqual(['1', '1']);
    const weekBars = await page.locator('#registrations-weekly g[data-value]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-value')));
    expect(weekBars).toEqual([...Array(11).fill('0'), '1']);
    expect(await page.textContent('#decided')).toBe('1');
    expect(await page.textContent('#median-decision')).toMatch(/^0\.\d ชั่วโมง/);
    expect(await page.textContent('#registrations-escalated')).toBe('0');
    expect(await page.textContent('#registrations-expired')).toBe('0');

    // Personnel: the late one and the failed one, not the one on time.
    expect(await page.textContent('#personnel-late')).toBe('1');
    expect(await page.textContent('#personnel-failed')).toBe('1');
    expect(await page.locator('table.personnel tbody tr').count()).toBe(2);
    await expectAccessible(page);
    await context.close();
  }, 60_000);

  it("keeps each admin to their own subtree: the district's admin sees the district, not the province; a sibling LAO's admin not LAO A", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, districtAdmin, { phone: true });
    expect((await page.goto('/admin/dashboard'))!.status()).toBe(200);
    expect(await page.textContent('main')).toContain(tree.districtA);
    expect(await cellsOf(page, tree.laoA)).toEqual(['active=3', 'suspended=1', 'disabled=0', 'units=1', 'without-admin=1']);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await expectAccessible(page);
    expect((await page.goto(`/admin/dashboard?under=${tree.province}`))!.status()).toBe(403);
    await context.close();

    const sibling = await signedInPage(browser, h.baseUrl, siblingAdmin);
    expect((await sibling.page.goto(`/admin/dashboard?under=${tree.laoA}`))!.status()).toBe(403);
    expect(await sibling.page.textContent('main')).toMatch(/ไม่มีสิทธิ์|Forbidden/);
    expect((await sibling.page.goto('/admin/dashboard'))!.status()).toBe(200);
    expect(await sibling.page.textContent('#total-active')).toBe('1');
    await sibling.context.close();
  });
});
