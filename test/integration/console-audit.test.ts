// The console's audit pages in a real browser, on the real services: an admin suspends an account
// and finds the suspension by action and day, with its record before and after as a difference, and
// in the CSV download; a sibling unit's admin sees none of it; DLA central runs the check of the hash
// chains in the background and sees it pass (and, once a row is edited by hand, fail at that row).
// A database of its own: the test edits an audit row, which must not touch the files running beside it.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { count, eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/client.ts';
import { auditEvents } from '../../db/schema.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `sso_console_audit_${randomBytes(5).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount, siblingAdmin: TestAccount, staff: TestAccount;

/** What the admin typed as the reason: a formula, which the CSV must neutralise. */
const REASON = '=ลาออกจากราชการ';
/** Today in Bangkok, as a date input gives it (Christian Era). */
const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

beforeAll(async () => {
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const migrated = await openDatabase({ databaseUrl: url.toString(), dataDir: '/tmp' });
  await migrated.close();
  h = await startHarness({ DATABASE_URL: url.toString() }, { reachable: true });
  tree = await h.seedTree();
  [laoAdmin, siblingAdmin, staff] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA2), h.createAccount(tree.laoA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

/** The verification page, reloaded until the latest check is no longer running. */
async function waitForCheck(page: Page): Promise<string> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    await page.goto('/admin/audit/verification');
    const status = await page.getAttribute('#verification', 'data-status');
    if (status !== 'running') return status ?? 'none';
  }
  throw new Error('the audit verification did not finish in 30 s');
}

describe('the audit trail in the console', () => {
  it('an admin finds a suspension by action and day, with its difference, on a phone, and downloads it as CSV', async () => {
    const suspended = await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAdmin.token, json: { reason: REASON } });
    expect(suspended.status).toBe(200);

    const { context, page } = await signedInPage(browser, h.baseUrl, laoAdmin, { phone: true });
    await page.goto('/admin/audit');
    await expectAccessible(page);
    await page.fill('#action', 'account.suspended');
    await page.fill('#from', today());
    await page.fill('#to', today());
    await Promise.all([page.waitForURL(/\/admin\/audit\?.*action=account.suspended/), page.click('#audit-filter button[type=submit]')]);
    const rows = page.locator(`#audit-events tr[data-subject="${staff.id}"]`);
    expect(await rows.count()).toBe(1);
    expect(await rows.getAttribute('data-action')).toBe('account.suspended');
    const status = rows.locator('li[data-field="status"]');
    expect(await status.getAttribute('data-change')).toBe('changed');
    expect(await status.locator('del').textContent()).toBe('active');
    expect(await status.locator('ins').textContent()).toBe('suspended');
    expect(await rows.textContent()).toContain(laoAdmin.username); // who did it, by name
    expect(await rows.textContent()).toContain(REASON);
    // Only suspensions: the account's creation (same subject) is filtered out.
    expect(await page.locator('#audit-events tr[data-action="account.created"]').count()).toBe(0);
    await expectAccessible(page);

    // The day before finds nothing; a Buddhist-Era day is refused, naming the Christian-Era one.
    const yesterday = new Date(Date.parse(today()) - 86_400_000).toISOString().slice(0, 10);
    await page.goto(`/admin/audit?action=account.suspended&from=${yesterday}&to=${yesterday}`);
    expect(await page.locator(`#audit-events tr[data-subject="${staff.id}"]`).count()).toBe(0);
    const buddhist = `${Number(today().slice(0, 4)) + 543}${today().slice(4)}`;
    const refused = await page.goto(`/admin/audit?from=${buddhist}`);
    expect(refused!.status()).toBe(400);
    expect(await page.textContent('main')).toContain(today());
    await context.close();

    // The CSV of the same filter, as the browser downloads it.
    const desk = await signedInPage(browser, h.baseUrl, laoAdmin);
    await desk.page.goto(`/admin/audit?action=account.suspended&from=${today()}&to=${today()}`);
    const [download] = await Promise.all([desk.page.waitForEvent('download'), desk.page.click('#audit-download')]);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 BOM, for Thai Excel
    const records = parse(bytes, { bom: true, columns: true }) as Record<string, string>[];
    const row = records.find((r) => r.subject_id === staff.id);
    expect(row).toMatchObject({ action: 'account.suspended', subject: staff.username, actor: laoAdmin.username, unit_code: tree.laoA });
    expect(row!.reason).toBe(`'${REASON}`); // neutralised: a spreadsheet shows it as text
    expect(row!.changes).toBe('status: active → suspended');
    expect(records.every((r) => r.action === 'account.suspended')).toBe(true);
    await desk.context.close();
  });

  it("a sibling unit's admin sees none of another unit's events, and may not verify the chains", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, siblingAdmin);
    await page.goto(`/admin/audit?subject=${staff.username}`);
    expect(await page.locator('#audit-events tr').count()).toBe(0);
    await page.goto('/admin/audit');
    expect(await page.locator(`#audit-events tr[data-subject="${staff.id}"]`).count()).toBe(0);
    expect(await page.locator('#audit-verification').count()).toBe(0);
    const csv = await context.request.get(`/admin/audit/download?subject=${staff.username}`);
    expect(csv.status()).toBe(200);
    expect(parse(await csv.body(), { bom: true, columns: true })).toEqual([]);
    const verification = await page.goto('/admin/audit/verification');
    expect(verification!.status()).toBe(403);
    await context.close();
  });

  it('DLA central verifies the chains in the background and sees them pass, then fail where a row was edited', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, h.central);
    await page.goto('/admin/audit');
    await Promise.all([page.waitForURL(/\/admin\/audit\/verification$/), page.click('#audit-verification')]);
    expect(await page.textContent('#verification')).toContain('No check has run yet');
    await expectAccessible(page);

    // A start without the form's CSRF token is refused, and starts nothing.
    const forged = await context.request.post('/admin/audit/verification', { form: {}, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    await page.reload();
    expect(await page.textContent('#verification')).toContain('No check has run yet');

    const [{ n: events } = { n: 0 }] = await h.resources.database.db.select({ n: count() }).from(auditEvents);
    await Promise.all([page.waitForURL(/\/admin\/audit\/verification$/), page.click('#verification-start button[type=submit]')]);
    expect(await waitForCheck(page)).toBe('completed');
    expect(await page.getAttribute('#verification', 'data-intact')).toBe('yes');
    expect(await page.getAttribute('#verification-progress', 'value')).toBe('100');
    expect(Number(await page.textContent('#verification-checked'))).toBeGreaterThanOrEqual(events);
    expect(await page.textContent('#verification-result')).toContain('Every chain verifies');
    await expectAccessible(page);

    // An event edited by hand: the next check names it.
    const db = h.resources.database.db;
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.action, 'account.suspended')).limit(1);
    await db.update(auditEvents).set({ reason: 'rewritten by hand' }).where(eq(auditEvents.id, event!.id));
    try {
      await Promise.all([page.waitForURL(/\/admin\/audit\/verification$/), page.click('#verification-start button[type=submit]')]);
      expect(await waitForCheck(page)).toBe('completed');
      expect(await page.getAttribute('#verification', 'data-intact')).toBe('no');
      expect(await page.textContent('#verification-result')).toContain(String(event!.id));
      await expectAccessible(page);
    } finally {
      await db.update(auditEvents).set({ reason: event!.reason }).where(eq(auditEvents.id, event!.id));
    }
    await context.close();
  });
});
