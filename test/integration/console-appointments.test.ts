// The console's appointment, unit, compliance and tree-import pages in a real browser, end to end on
// the real services: a district office admin uploads a letter for an LAO's appointee, the province
// admin approves it, and the LAO leaves the list of units without an SSO admin.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PDF } from '../../scripts/support/fixtures.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

// What is tested is the page itself, not what it loads after (a PDF the admin opens).
const DOM = 'domcontentloaded' as const;

let h: Harness;
let tree: Tree;
let browser: Browser;
let provinceAdmin: TestAccount, districtAAdmin: TestAccount, districtBAdmin: TestAccount, appointee: TestAccount;

beforeAll(async () => {
  h = await startHarness({}, { reachable: true });
  tree = await h.seedTree();
  [provinceAdmin, districtAAdmin, districtBAdmin, appointee] = await Promise.all([
    h.createAccount(tree.province),
    h.createAccount(tree.districtA),
    h.createAccount(tree.districtB),
    h.createAccount(tree.laoA),
  ]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  await h.designateAdmins(tree.districtA, [districtAAdmin]);
  await h.designateAdmins(tree.districtB, [districtBAdmin]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

// A failed step shows what the server said meanwhile.
afterEach(({ task }) => {
  if (task.result?.state === 'fail') console.log(`API log, last lines:\n${h.logs.slice(-60).join('')}`);
});

const listedCodes = async (page: Page) => page.locator('table.list tbody tr td:first-child .muted').allTextContents();

describe('appointing an LAO admin in the console', () => {
  let appointmentId: string;

  it("a district office admin uploads the letter on the LAO's page; a form without its CSRF token is refused", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, districtAAdmin, { phone: true });
    const answer = await page.goto(`/admin/units/${tree.laoA}`, { waitUntil: DOM });
    expect(answer!.status()).toBe(200);
    expect(await page.textContent('main')).toContain('หน่วยงานนี้ยังไม่มีผู้ดูแลระบบ SSO');
    await expect.poll(() => page.locator(`a[href="/admin/units/${tree.districtA}"]`).count()).toBe(1); // the parent, administered
    await expectAccessible(page);

    // The same form posted without its token, or with a wrong one: 403, nothing kept.
    const form = (csrf?: string) => ({
      ...(csrf === undefined ? {} : { _csrf: csrf }),
      accountId: appointee.id,
      letter: { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF },
    });
    expect((await context.request.post(`/admin/units/${tree.laoA}/appointments`, { multipart: form(), maxRedirects: 0 })).status()).toBe(403);
    expect((await context.request.post(`/admin/units/${tree.laoA}/appointments`, { multipart: form('forged'), maxRedirects: 0 })).status()).toBe(403);
    // With the page's token the form passes the CSRF check, and the service judges it: a Buddhist-Era term end is refused.
    const csrf = await page.locator('form[enctype] input[name=_csrf]').inputValue();
    const buddhistEra = await context.request.post(`/admin/units/${tree.laoA}/appointments`, {
      multipart: { ...form(csrf), termEnd: '2642-09-30' },
      headers: { accept: 'text/html' },
      maxRedirects: 0,
    });
    expect(buddhistEra.status()).toBe(400);
    expect(await buddhistEra.text()).toContain('likely 2099-09-30');

    await page.selectOption('#accountId', appointee.id);
    await page.setInputFiles('#letter', { name: 'คำสั่งแต่งตั้ง.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.fill('#termEnd', '2099-09-30');
    await Promise.all([
      page.waitForURL(/\/admin\/appointments\/[0-9a-f-]{36}\?uploaded=1$/, { waitUntil: DOM }),
      page.click('form[enctype] button[type=submit]'),
    ]);
    appointmentId = /appointments\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(await page.textContent('main')).toContain('awaits approval');
    // The submitter may not decide it.
    expect(await page.locator('#approve').count()).toBe(0);
    await context.close();

    // The approvers' mail leads to the console page, not the API.
    const [mail] = await h.mail.waitFor((m) => m.to === districtAAdmin.email && m.subject.includes('SSO admin appointment awaiting approval'));
    expect(mail!.text).toContain(`${h.config.publicUrl}/admin/appointments/${appointmentId}`);
    expect(mail!.text).not.toContain('/api/');
  }, 120_000);

  it("a sibling district admin gets 403 on the other district's pages", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, districtBAdmin);
    expect((await page.goto(`/admin/units/${tree.laoA}`, { waitUntil: DOM }))!.status()).toBe(403);
    expect((await page.goto(`/admin/units/${tree.districtA}`, { waitUntil: DOM }))!.status()).toBe(403);
    expect((await page.goto(`/admin/appointments/${appointmentId}`, { waitUntil: DOM }))!.status()).toBe(403);
    expect((await context.request.get(`/admin/appointments/${appointmentId}/letter`)).status()).toBe(403);
    expect((await page.goto(`/admin/compliance?under=${tree.districtA}`, { waitUntil: DOM }))!.status()).toBe(403);
    // Their own list holds nothing of district A.
    await page.goto('/admin/appointments', { waitUntil: DOM });
    expect(await page.locator(`a[href="/admin/appointments/${appointmentId}"]`).count()).toBe(0);
    await context.close();
  }, 120_000);

  it('the province admin sees the letter in the page, approves, and the LAO leaves the compliance list', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, provinceAdmin);
    await page.goto('/admin/compliance', { waitUntil: DOM });
    expect(await listedCodes(page)).toContain(`(${tree.laoA})`);

    await page.goto('/admin/appointments', { waitUntil: DOM });
    await Promise.all([page.waitForNavigation({ waitUntil: DOM }), page.click(`a[href="/admin/appointments/${appointmentId}"]`)]);
    expect(page.url()).toBe(`${h.baseUrl}/admin/appointments/${appointmentId}`);
    const frame = page.locator('details.pdf iframe.document');
    expect(await frame.getAttribute('src')).toBe(`/admin/appointments/${appointmentId}/letter`);
    const letter = await context.request.get(`/admin/appointments/${appointmentId}/letter`);
    expect(letter.status()).toBe(200);
    expect(letter.headers()['content-type']).toBe('application/pdf');
    expect(letter.headers()['content-disposition']).toMatch(/^inline;/);
    expect(letter.headers()['x-content-type-options']).toBe('nosniff');
    expect(Buffer.from(await letter.body()).equals(PDF)).toBe(true);
    await expectAccessible(page);

    await Promise.all([page.waitForNavigation({ timeout: 60_000, waitUntil: DOM }), page.click('#approve')]);
    expect(page.url(), (await page.textContent('main')) ?? '').toMatch(/\?done=approved$/);
    expect(await page.textContent('main')).toContain('อนุมัติแล้ว / approved');
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('SSO admin appointment approved'));

    await page.goto('/admin/compliance', { waitUntil: DOM });
    expect(await listedCodes(page)).not.toContain(`(${tree.laoA})`);
    expect(await listedCodes(page)).toContain(`(${tree.laoA2})`);
    await expectAccessible(page);

    // The LAO's page now shows its admin with the term's end, and the letter behind it.
    await page.goto(`/admin/units/${tree.laoA}`, { waitUntil: DOM });
    expect(await page.locator(`a[href="/admin/appointments/${appointmentId}"]`).count()).toBe(1);
    expect(await page.textContent('main')).toContain(appointee.username);
    await context.close();
  }, 120_000);

  it('revocation needs a reason and the confirmation box; it ends the role at once', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, provinceAdmin);
    await page.goto(`/admin/appointments/${appointmentId}`, { waitUntil: DOM });
    const csrf = await page.locator('form[action$="/revoke"] input[name=_csrf]').inputValue();
    const unconfirmed = await context.request.post(`/admin/appointments/${appointmentId}/revoke`, {
      form: { _csrf: csrf, reason: 'ย้ายไปหน่วยงานอื่น' },
      maxRedirects: 0,
    });
    expect(unconfirmed.status()).toBe(400);
    expect((await h.request('GET', `/api/v1/admin-appointments/${appointmentId}`, { token: provinceAdmin.token })).body.status).toBe('approved');

    await page.fill('#revoke-reason', 'ย้ายไปหน่วยงานอื่น');
    await page.check('input[name=confirm]');
    await Promise.all([page.waitForNavigation({ timeout: 60_000, waitUntil: DOM }), page.click('#revoke')]);
    expect(page.url(), (await page.textContent('main')) ?? '').toMatch(/\?done=revoked$/);
    expect((await h.request('GET', `/api/v1/org-units/${tree.laoA}`, { token: h.central.token })).body.admins).toEqual([]);
    await page.goto('/admin/compliance', { waitUntil: DOM });
    expect(await listedCodes(page)).toContain(`(${tree.laoA})`);
    await context.close();
  }, 120_000);
});

describe('units without an SSO admin as CSV', () => {
  it('is UTF-8 with a BOM, and a cell that a spreadsheet would run as a formula is neutralised', async () => {
    const code = `${tree.districtB}-F1`;
    const put = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [{ code, parentCode: tree.districtB, kind: 'sao', nameTh: '=HYPERLINK("http://evil.example","x")' }],
    });
    expect(put.status).toBe(200);
    const { context } = await signedInPage(browser, h.baseUrl, provinceAdmin);
    const csv = await context.request.get('/admin/compliance.csv');
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(csv.headers()['content-disposition']).toMatch(/^attachment;/);
    const body = await csv.body();
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = body.toString('utf8');
    expect(text).toContain(`"${code}","'=HYPERLINK(""http://evil.example"",""x"")","sao","${tree.districtB}","${tree.districtB}"`);
    expect(text).not.toMatch(new RegExp(`^"${tree.districtA}",`, 'm')); // staffed
    await context.close();
  }, 120_000);
});

describe('importing the tree from CSV', () => {
  it('previews with per-row errors and writes nothing; a clean file is written only after confirming; DLA central only', async () => {
    const { context: districtContext, page: districtPage } = await signedInPage(browser, h.baseUrl, districtAAdmin);
    expect((await districtPage.goto('/admin/tree/import', { waitUntil: DOM }))!.status()).toBe(403);
    await districtContext.close();

    const { context, page } = await signedInPage(browser, h.baseUrl, h.central);
    const upload = async (csv: string) => {
      await page.goto('/admin/tree/import', { waitUntil: DOM });
      await page.setInputFiles('#file', { name: 'tree.csv', mimeType: 'text/csv', buffer: Buffer.from(`\uFEFF${csv}`) });
      await Promise.all([page.waitForURL('**/admin/tree/import', { waitUntil: DOM }), page.click('form[enctype] button[type=submit]')]);
    };
    const bad = `${tree.districtA}-N1`;
    await upload(
      `code,parentCode,kind,nameTh,nameEn\n${bad},${tree.districtA},sao,อบต.ใหม่,\n${bad}-2,NOWHERE,sao,อบต.ลอย,\n${bad}-3,${tree.districtA},village,หมู่บ้าน,\n`,
    );
    const problems = page.locator('table.list').first();
    expect(await problems.textContent()).toContain('NOWHERE');
    expect(await page.textContent('main')).toContain('nothing was written');
    expect(await page.locator('form[action="/admin/tree/import/confirm"]').count()).toBe(0);
    expect((await h.request('GET', `/api/v1/org-units/${bad}`)).status).toBe(404);
    await expectAccessible(page);

    const good = `${tree.districtA}-N2`;
    await upload(`code,parentCode,kind,nameTh,nameEn\n${good},${tree.districtA},sao,อบต.นำเข้า,Imported SAO\n`);
    expect(await page.textContent('main')).toContain('No problem found');
    expect((await h.request('GET', `/api/v1/org-units/${good}`)).status).toBe(404);
    await page.check('input[name=confirm]');
    await Promise.all([
      page.waitForURL('**/admin/tree/import/confirm', { waitUntil: DOM }),
      page.click('form[action="/admin/tree/import/confirm"] button[type=submit]'),
    ]);
    expect(await page.textContent('main')).toContain('1 units created or updated');
    expect((await h.request('GET', `/api/v1/org-units/${good}`)).body).toMatchObject({
      code: good,
      parentCode: tree.districtA,
      kind: 'sao',
      nameEn: 'Imported SAO',
    });
    await context.close();
  }, 120_000);
});
