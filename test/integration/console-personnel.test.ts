// The console's personnel changes in a real browser, end to end on the real services: an LAO admin
// uploads a CSV with one bad row (its error shown, nothing sent), fixes it, confirms, and finds the
// events with their status and outcome; reports a change through the form (on a phone), which
// supersedes an earlier one; a sibling unit's admin sees none of it; forms without CSRF are refused.
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../db/client.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { uniqueName, withWrongCheckDigit } from '../../scripts/support/fixtures.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let admin: TestAccount, siblingAdmin: TestAccount;
let retiree: TestAccount, mover: TestAccount, laterRetiree: TestAccount, newDuties: TestAccount;

const DAY = 86_400_000;
/** A day in Asia/Bangkok, `days` from today. */
const bangkokDay = (days: number) => new Date(Date.now() + 7 * 3_600_000 + days * DAY).toISOString().slice(0, 10);
const prefix = uniqueName('hr-');

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  [admin, siblingAdmin, retiree, mover, laterRetiree, newDuties] = await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA2),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
  ]);
  await h.designateAdmins(tree.laoA, [admin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  await h.putInfoSystem();
  const granted = await h.request('PUT', `/api/v1/accounts/${newDuties.id}/entitlements`, {
    token: admin.token,
    json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
  });
  expect(granted.status).toBe(200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

afterEach(({ task }) => {
  if (task.result?.state === 'fail') console.log(`API log, last lines:\n${h.logs.slice(-60).join('')}`);
});

/** The events stored under this test's ids, whoever sent them. */
const storedEvents = async () =>
  rowsOf<{ event_id: string; status: string }>(
    await h.resources.database.db.execute(sql`select event_id, status from personnel_events where event_id like ${`%${prefix}%`}`),
  );

const csvOf = (rows: string[][]) => `\uFEFFeventId,type,citizenId,effectiveDate,toUnitCode,newPosition,note\n${rows.map((r) => r.join(',')).join('\n')}\n`;

async function upload(page: Page, csv: string) {
  await page.goto('/admin/personnel/upload');
  await page.setInputFiles('#file', { name: 'การเปลี่ยนแปลง.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await Promise.all([page.waitForURL('**/admin/personnel/upload'), page.click('form[enctype] button[type=submit]')]);
}

/** The list's row of one event (by its id, shown in the row). */
const rowOf = (page: Page, eventId: string) => page.locator('#events tbody tr', { hasText: eventId });

describe('personnel changes in the console', () => {
  const id = (n: string) => `${prefix}-${n}`;
  const rows = () => [
    [id('retire'), 'retirement', retiree.citizenId, bangkokDay(-3), '', '', 'คำสั่งที่ 12/2569'],
    [id('move'), 'transfer', mover.citizenId, bangkokDay(30), tree.laoA2, '', ''],
    [id('later'), 'retirement', laterRetiree.citizenId, bangkokDay(60), '', '', ''],
  ];

  it('shows the bad row of a CSV and sends nothing; the fixed file, previewed and confirmed, lists its events with status and outcome', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, admin);
    await page.goto('/admin/personnel/upload');
    await expectAccessible(page);
    const badDuties = [id('duties'), 'role_change', withWrongCheckDigit(newDuties.citizenId), bangkokDay(0), '', 'นักจัดการงานทั่วไป', ''];
    await upload(page, csvOf([...rows(), badDuties]));
    expect(await page.textContent('#upload-errors')).toContain('nothing was sent');
    const problems = page.locator('#problems tbody tr');
    expect(await problems.count()).toBe(1);
    expect(await problems.first().textContent()).toMatch(/^5.*duties.*citizenId.*check digit/s); // row 5: the header is row 1
    expect(await page.locator('#confirm').count()).toBe(0);
    await expectAccessible(page);
    expect(await storedEvents()).toEqual([]);
    expect((await h.request('GET', '/api/v1/personnel-events', { token: admin.token })).body.items).toEqual([]);

    const goodDuties = [...badDuties.slice(0, 2), newDuties.citizenId, ...badDuties.slice(3)];
    await upload(page, csvOf([...rows(), goodDuties]));
    expect(await page.textContent('[role=status]')).toContain('No problem found');
    expect(await page.locator('#rows tbody tr').count()).toBe(4);
    await expectAccessible(page);
    expect(await storedEvents()).toEqual([]); // a preview sends nothing
    // The box must be ticked: the browser asks first.
    await page.click('#confirm button[type=submit]');
    expect(page.url()).toContain('/admin/personnel/upload');
    await page.check('#confirm input[name=confirm]');
    await Promise.all([page.waitForURL('**/admin/personnel?sent=4&again=0'), page.click('#confirm button[type=submit]')]);
    expect(await page.textContent('[role=status]')).toContain('4 change(s) sent');
    expect((await storedEvents()).length).toBe(4);

    // The past retirement and today's change of duties apply at once; the others wait for their date.
    await expect
      .poll(
        async () => {
          await page.reload();
          return [await rowOf(page, id('retire')).textContent(), await rowOf(page, id('duties')).textContent()];
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual([expect.stringMatching(/applied.*account suspended/s), expect.stringMatching(/applied.*pending review/s)]);
    expect(await rowOf(page, id('retire')).textContent()).toContain(retiree.username);
    expect(await rowOf(page, id('move')).textContent()).toMatch(/scheduled/);
    expect(await rowOf(page, id('later')).textContent()).toMatch(/scheduled/);
    await expectAccessible(page);

    // The change of duties opened a person review, linked from its row.
    const review = rowOf(page, id('duties')).locator('a[href^="/admin/reviews/"]');
    await Promise.all([page.waitForURL(/\/admin\/reviews\/[0-9a-f-]{36}$/), review.click()]);
    expect(await page.textContent('main')).toContain('INFO');

    // Search: by username, by type, by status.
    await page.goto('/admin/personnel');
    await page.fill('#q', retiree.username);
    await Promise.all([page.waitForURL('**/admin/personnel?q=*'), page.click('form[role=search] button[type=submit]')]);
    expect(await page.locator('#events tbody tr').count()).toBe(1);
    expect(await page.textContent('#events tbody')).toContain(id('retire'));
    await page.goto(`/admin/personnel?type=transfer&q=${prefix}`);
    expect(await page.locator('#events tbody tr').allTextContents()).toEqual([expect.stringContaining(id('move'))]);
    await context.close();
  }, 60_000);

  it("takes an admin's own report on a phone: an error is shown and nothing kept; the report supersedes the earlier retirement", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, admin, { phone: true });
    await page.goto('/admin/personnel/report');
    await expectAccessible(page);
    // A person of the sibling unit: refused, with the reason.
    await page.fill('#citizenId', siblingAdmin.citizenId);
    await page.selectOption('#type', 'resignation');
    await page.fill('#effectiveDate', bangkokDay(10));
    await Promise.all([page.waitForURL('**/admin/personnel/report'), page.click('#report button[type=submit]')]);
    expect(await page.textContent('#report-errors')).toContain('no account in the units you administer');
    expect(await page.inputValue('#effectiveDate')).toBe(bangkokDay(10)); // the form keeps what was typed
    await expectAccessible(page);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    await page.fill('#citizenId', laterRetiree.citizenId);
    await page.selectOption('#type', 'retirement');
    await page.fill('#effectiveDate', bangkokDay(90));
    await page.fill('#note', `${prefix} เลื่อนวันเกษียณ`);
    const sentForm = Object.fromEntries(
      await page
        .locator('#report input[name], #report select, #report textarea')
        .evaluateAll((fields) => fields.map((f) => [(f as unknown as { name: string }).name, (f as unknown as { value: string }).value])),
    ) as Record<string, string>;
    await Promise.all([page.waitForURL('**/admin/personnel?q=*'), page.click('#report button[type=submit]')]);
    expect(await page.textContent('[role=status]')).toContain('1 change(s) sent');
    expect(await page.locator('#events tbody tr').allTextContents()).toEqual([expect.stringMatching(/retirement.*scheduled/s)]);
    // The same form sent again (a double click, a reload) changes nothing.
    const again = await page.request.post('/admin/personnel/report', { form: sentForm });
    expect(await again.text()).toContain('Received before: nothing changed');
    // The newer retirement of the same person from the same sender replaces the one of the CSV.
    await expect
      .poll(
        async () => {
          await page.goto(`/admin/personnel?status=superseded&q=${prefix}`);
          return page.locator('#events tbody tr').allTextContents();
        },
        { timeout: 15_000, interval: 500 },
      )
      .toEqual([expect.stringMatching(new RegExp(`${id('later')}.*superseded`, 's'))]);
    await context.close();
  }, 60_000);

  it("shows a sibling unit's admin none of it, and the 403 page for the other unit", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, siblingAdmin);
    await page.goto(`/admin/personnel?q=${prefix}`);
    // The transfer into the sibling's unit is theirs to see; nothing else.
    expect(await page.locator('#events tbody tr').allTextContents()).toEqual([expect.stringContaining(id('move'))]);
    const other = await page.goto(`/admin/personnel?unit=${tree.laoA}`);
    expect(other!.status()).toBe(403);
    expect(await page.textContent('main')).toMatch(/ไม่มีสิทธิ์|Forbidden/);
    await context.close();
  }, 30_000);

  it('refuses every form without its CSRF token', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, admin);
    const before = (await storedEvents()).length;
    const event = { eventId: id('forged'), type: 'resignation', citizenId: retiree.citizenId, effectiveDate: bangkokDay(1) };
    expect((await page.request.post('/admin/personnel/report', { form: event, maxRedirects: 0 })).status()).toBe(403);
    expect((await page.request.post('/admin/personnel/report', { form: { ...event, _csrf: 'forged' }, maxRedirects: 0 })).status()).toBe(403);
    const file = { name: 'x.csv', mimeType: 'text/csv', buffer: Buffer.from(csvOf([Object.values(event)])) };
    expect((await page.request.post('/admin/personnel/upload', { multipart: { file }, maxRedirects: 0 })).status()).toBe(403);
    expect(
      (await page.request.post('/admin/personnel/upload/confirm', { form: { events: JSON.stringify([event]), confirm: 'yes' }, maxRedirects: 0 })).status(),
    ).toBe(403);
    expect((await storedEvents()).length).toBe(before);
    await context.close();
  });
});
