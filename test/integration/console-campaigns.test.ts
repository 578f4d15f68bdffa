// Access review campaigns in the console, in a browser: a province previews and starts a campaign over
// a district; the LAO's reviewer, on a phone, keeps a page of items at once and revokes one with a
// reason (after a confirmation); the rule settles the rest at the due date; the report's CSV
// downloads and parses with the right totals. Schedules, cancel, scope and CSRF on the way.
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, PHONE, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let provinceAdmin: TestAccount, laoAAdmin: TestAccount;
let staff: TestAccount[];
let elsewhere: TestAccount;

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  await h.putInfoSystem();
  [provinceAdmin, laoAAdmin, elsewhere, ...staff] = await Promise.all([
    h.createAccount(tree.province),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA2),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
  ]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  await h.designateAdmins(tree.laoA, [laoAAdmin]);
  // Three staff of LAO A, its admin, and one person of LAO A2 (no admin there: the province reviews it).
  for (const [who, unit] of [...staff.map((s) => [s, tree.laoA] as const), [laoAAdmin, tree.laoA] as const, [elsewhere, tree.laoA2] as const]) {
    const put = await h.request('PUT', `/api/v1/accounts/${who.id}/entitlements`, {
      token: h.central.token,
      json: [{ system: 'INFO', role: 'viewer', unitCode: unit }],
    });
    expect(put.status).toBe(200);
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** A local date-time in Asia/Bangkok, as a datetime-local field takes it. */
const bangkokLocal = (at: number) => new Date(at + 7 * 3_600_000).toISOString().slice(0, 19);
const statusOf = async (accountId: string) => (await h.request('GET', `/api/v1/accounts/${accountId}`, { token: h.central.token })).body.entitlements[0].status;

describe('access review campaigns in the console', () => {
  it('a province starts one over a district after the preview; the LAO keeps a page at once and revokes one; the rule; the report CSV; cancel, scope and CSRF', async () => {
    // The province, at a desk: the list, the start form, the preview with what the campaign covers.
    const desk = await signedInPage(browser, h.baseUrl, provinceAdmin);
    await desk.page.goto('/admin/campaigns');
    await expectAccessible(desk.page);
    await Promise.all([desk.page.waitForNavigation(), desk.page.click('a[href="/admin/campaigns/new"]')]);
    await expectAccessible(desk.page);
    await desk.page.fill('#name', 'ทบทวนสิทธิ์ สถอ.เมือง');
    await desk.page.selectOption('#scopeUnitCode', tree.districtA);
    await desk.page.check('#due-date');
    const due = Date.now() + 40_000;
    await desk.page.fill('#dueAt', bangkokLocal(due));
    await desk.page.check('#rule-revoke');
    await Promise.all([desk.page.waitForNavigation(), desk.page.click('#preview')]);
    expect(await desk.page.textContent('#count-units')).toBe('3'); // the district, LAO A and LAO A2
    expect(await desk.page.textContent('#count-people')).toBe('5');
    expect(await desk.page.textContent('#count-rights')).toBe('5');
    await expectAccessible(desk.page);
    await Promise.all([desk.page.waitForNavigation(), desk.page.click('#start')]);
    const id = /\/admin\/campaigns\/([0-9a-f-]{36})/.exec(desk.page.url())![1]!;
    expect(await desk.page.textContent('[role=status]')).toContain('Started');
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${id}`, { token: provinceAdmin.token })).body.totals?.items, { timeout: 10_000 })
      .toBe(5);
    await desk.page.reload();
    expect(await desk.page.textContent('#totals')).toBe('0 / 5');
    expect(await desk.page.locator('#progress tr', { hasText: tree.laoA }).textContent()).toContain('0 / 4');
    await expectAccessible(desk.page);

    // The LAO's reviewer, on a phone: the campaign in the list, the items by person, never their own.
    const phone = await signedInPage(browser, h.baseUrl, laoAAdmin, { phone: true });
    await phone.page.goto('/admin/campaigns');
    await Promise.all([phone.page.waitForNavigation(), phone.page.click(`a[href="/admin/campaigns/${id}"]`)]);
    await Promise.all([phone.page.waitForNavigation(), phone.page.click('#to-review')]);
    await expectAccessible(phone.page);
    expect(await phone.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    const main = (await phone.page.textContent('main'))!;
    for (const s of staff) expect(main).toContain(s.username);
    expect(main).not.toContain(laoAAdmin.username); // own access: the unit above reviews it
    expect(main).not.toContain(elsewhere.username);
    const items = (await h.request('GET', `/api/v1/access-reviews/${id}/items`, { token: laoAAdmin.token })).body.items as { id: string; username: string }[];
    const revoked = items.find((i) => i.username === staff[0]!.username)!;
    await phone.page.check(`#revoke-${revoked.id}`);
    await phone.page.fill(`#why-${revoked.id}`, '=ย้ายไปหน่วยงานอื่นแล้ว');
    await Promise.all([phone.page.waitForNavigation(), phone.page.click('#keep-all')]);
    // Revoking asks first; nothing is recorded yet.
    expect(await phone.page.textContent('#revokes')).toContain(staff[0]!.username);
    expect(await statusOf(staff[0]!.id)).toBe('active');
    await expectAccessible(phone.page);
    await phone.page.check('#confirm');
    await Promise.all([phone.page.waitForNavigation(), phone.page.click('#confirm-button')]);
    expect(await phone.page.textContent('[role=status]')).toContain('3');
    expect(await statusOf(staff[0]!.id)).toBe('revoked');
    expect(await statusOf(staff[1]!.id)).toBe('active');
    expect(await phone.page.locator('fieldset[id^=item-]').count()).toBe(0); // nothing left undecided for this reviewer
    // Filtered to every item of the system: the decisions, with the reason.
    await phone.page.selectOption('#undecided', '0');
    await phone.page.selectOption('#system', 'INFO');
    await Promise.all([phone.page.waitForNavigation(), phone.page.click('#filters button')]);
    const decided = (await phone.page.textContent('main'))!;
    expect(decided.match(/kept/g)).toHaveLength(2);
    expect(decided).toContain('=ย้ายไปหน่วยงานอื่นแล้ว');
    await phone.context.close();

    // Meanwhile, schedules: created from a plain-language choice, listed with its cron, deleted after a confirmation.
    await desk.page.goto('/admin/campaigns/schedules');
    await expectAccessible(desk.page);
    const name = `p-${id.slice(0, 8)}`;
    await desk.page.fill('#schedule-name', name);
    await desk.page.selectOption('#schedule-scope', tree.province);
    await desk.page.check('#freq-half-yearly');
    await Promise.all([desk.page.waitForNavigation(), desk.page.click('#create-schedule')]);
    const row = desk.page.locator('#schedules tr', { hasText: name });
    expect(await row.textContent()).toContain('every 6 months on the 1st');
    expect(await row.textContent()).toContain('0 8 1 4,10 *');
    await row.locator('input[name=confirm]').check();
    await Promise.all([desk.page.waitForNavigation(), row.locator('button').click()]);
    expect(await desk.page.locator('#schedules tr', { hasText: name }).count()).toBe(0);

    // Meanwhile, another campaign (District B): cancelled after a confirmation; not LAO A's affair; no form without its CSRF token.
    const started = await h.request('POST', '/api/v1/access-reviews', {
      token: provinceAdmin.token,
      json: { name: 'ทบทวน สถอ.กุมภวาปี', scopeUnitCode: tree.districtB, durationDays: 7, onNoDecision: 'suspend' },
    });
    expect(started.status).toBe(202);
    const other = started.body.id as string;

    // LAO A's admin neither administers District B nor reviews anything there: the campaign's pages are not theirs.
    const stranger = await signedInPage(browser, h.baseUrl, laoAAdmin);
    for (const path of [
      `/admin/campaigns/${other}`,
      `/admin/campaigns/${other}/items`,
      `/admin/campaigns/${other}/report`,
      `/admin/campaigns/${other}/report.csv`,
    ]) {
      expect((await stranger.page.request.get(path)).status(), path).toBe(403);
    }
    await stranger.context.close();

    const forged = await desk.page.request.post(`/admin/campaigns/${other}/cancel`, { form: { confirm: 'yes' } });
    expect(forged.status()).toBe(403);
    await desk.page.goto(`/admin/campaigns/${other}`);
    // The browser asks for the confirmation first (a required box).
    await desk.page.click('#cancel button');
    expect(desk.page.url()).not.toContain('cancelled=1');
    await desk.page.check('#confirm-cancel');
    await Promise.all([desk.page.waitForNavigation(), desk.page.click('#cancel button')]);
    expect(desk.page.url()).toContain('cancelled=1');
    expect(await desk.page.textContent('#status')).toContain('cancelled');

    // At the due date the rule (revoke) settles what nobody decided: the LAO admin's own right and LAO A2's.
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${id}`, { token: provinceAdmin.token })).body.status, {
        timeout: Math.max(5_000, due - Date.now() + 20_000),
        interval: 500,
      })
      .toBe('completed');
    expect(await statusOf(elsewhere.id)).toBe('revoked');
    expect(await statusOf(laoAAdmin.id)).toBe('revoked');

    // The report: in the page, and as the CSV the browser downloads (BOM, formula neutralised, right totals).
    await desk.page.goto(`/admin/campaigns/${id}/report`);
    expect(await desk.page.textContent('#report-totals')).toMatch(/5\s*รายการ[\s\S]*2\s*คงสิทธิ์[\s\S]*1\s*เพิกถอน[\s\S]*2\s*ตามกฎ/);
    await expectAccessible(desk.page);
    const [download] = await Promise.all([desk.page.waitForEvent('download'), desk.page.click('#csv')]);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(bytes, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(5);
    const count = (decision: string) => rows.filter((r) => r.decision === decision).length;
    expect([count('keep'), count('revoke'), count('rule:revoke')]).toEqual([2, 1, 2]);
    const revokedRow = rows.find((r) => r.username === staff[0]!.username)!;
    expect(revokedRow.justification).toBe("'=ย้ายไปหน่วยงานอื่นแล้ว"); // a spreadsheet shows it as text, not a formula
    expect(revokedRow.decidedBy).toBe(laoAAdmin.id);
    await desk.context.close();
  }, 90_000);
});
