// The console's registration pages and the applicant's tracking page, in Chromium on a phone-sized
// screen, end to end on the real services: mail links, evidence in the page, asking for information,
// the applicant's answer without JavaScript, approval, and the portal afterwards.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { registrations } from '../../db/schema.ts';
import { PDF, PNG } from '../../scripts/support/fixtures.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

// What is tested is the page itself, not what it loads after (images, a PDF the admin opens).
const DOM = 'domcontentloaded' as const;

let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount, siblingAdmin: TestAccount, provinceAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({}, { reachable: true });
  tree = await h.seedTree();
  await h.putInfoSystem();
  [laoAdmin, siblingAdmin, provinceAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoB), h.createAccount(tree.province)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.laoB, [siblingAdmin]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
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

/** A phone: 390×844. */
async function phone(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  return { context, page: await context.newPage() };
}

async function signIn(page: Page, who: { username: string; password: string }) {
  await page.fill('#username', who.username);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
}

const linkIn = (text: string, pattern: RegExp) => pattern.exec(text)?.[0];

describe('registration in the console and on the tracking page', () => {
  it('the LAO admin follows the mail, sees the PDF, asks for information; the applicant answers on /track; the admin approves; the portal lists the system', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'INFO', role: 'viewer' }] });
    expect(res.status).toBe(202);
    const id: string = res.body.id;

    // The admin's mail links to the console page, not the API.
    const [arrived] = await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('New registration request') && m.text.includes(id));
    const link = linkIn(arrived!.text, /http\S+\/admin\/registrations\/[0-9a-f-]{36}/)!;
    expect(link).toBe(`${h.baseUrl}/admin/registrations/${id}`);
    expect(arrived!.html).toContain(`/admin/registrations/${id}`);
    expect(arrived!.text).not.toContain('/api/');

    const admin = await phone();
    await admin.page.goto(link, { waitUntil: DOM });
    await admin.page.waitForURL(/\/login\?return=/, { waitUntil: DOM });
    await signIn(admin.page, laoAdmin);
    await admin.page.waitForURL(link, { waitUntil: DOM });
    expect(await admin.page.textContent('#citizen-id')).toBe(`*********${res.citizenId.slice(-4)}`);
    expect(await admin.page.content()).not.toContain(res.citizenId);
    expect(await admin.page.textContent('#verified')).toContain('ThaiID');
    expect(await admin.page.textContent('#requested')).toContain('viewer');
    expect(await admin.page.textContent('#history')).toContain(String(new Date().getUTCFullYear() + 543));

    // The PDF is shown in the page when the admin opens it (not before), served inline with its verified type and nosniff.
    const frame = admin.page.locator('details.pdf iframe.document');
    expect(await frame.count()).toBe(1);
    const src = (await frame.getAttribute('src'))!;
    expect(src).toMatch(new RegExp(`^/admin/registrations/${id}/documents/[0-9a-f-]{36}$`));
    let fetched = 0;
    admin.page.on('request', (r) => void (r.url().endsWith(src) && fetched++));
    await admin.page.waitForLoadState('load');
    expect(fetched).toBe(0);
    const shown = admin.page.waitForResponse((r) => r.url().endsWith(src));
    await admin.page.click('details.pdf summary');
    expect((await shown).status()).toBe(200);
    expect(await frame.isVisible()).toBe(true);
    const pdf = await admin.page.request.get(`${h.baseUrl}${src}`);
    expect(pdf.status()).toBe(200);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect(pdf.headers()['x-content-type-options']).toBe('nosniff');
    expect(pdf.headers()['content-disposition']).toMatch(/^inline/);
    expect(Buffer.from(await pdf.body()).equals(PDF)).toBe(true);
    // Nothing on the page overflows a phone's width.
    expect(await admin.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // Asking for information needs a note (on the page as it opens: the PDF viewer has the focus once it shows).
    await admin.page.goto(link, { waitUntil: DOM });
    await admin.page.fill('#note', 'กรุณาแนบคำสั่งแต่งตั้งและแก้ตำแหน่ง');
    await admin.page.click('#request-info button[type=submit]');
    await admin.page.waitForURL(/done=info_requested/, { waitUntil: DOM });
    expect(await admin.page.getAttribute('#status', 'data-status')).toBe('info_requested');

    // The applicant's mail links to /track; the page asks the tracking code and shows the form to answer.
    const [asked] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('More information'));
    const trackLink = linkIn(asked!.text, /http\S+\/track\/[0-9a-f-]{36}/)!;
    expect(trackLink).toBe(`${h.baseUrl}/track/${id}`);
    const applicant = await phone();
    await applicant.page.goto(trackLink, { waitUntil: DOM });
    expect(await applicant.page.locator('script').count()).toBe(0);
    await applicant.page.fill('#trackingCode', res.body.trackingCode);
    await applicant.page.click('#track button[type=submit]');
    await applicant.page.waitForSelector('#status');
    expect(await applicant.page.getAttribute('#status', 'data-status')).toBe('info_requested');
    expect(await applicant.page.textContent('main')).toContain('กรุณาแนบคำสั่งแต่งตั้งและแก้ตำแหน่ง');
    expect(await applicant.page.getAttribute('#firstNameTh', 'readonly')).toBeNull(); // typed in the form, not from ThaiID
    await applicant.page.fill('#position', 'นักวิชาการคอมพิวเตอร์ชำนาญการ');
    await applicant.page.fill('#note', 'แนบคำสั่งแล้ว');
    await applicant.page.setInputFiles('#documents', { name: 'order.png', mimeType: 'image/png', buffer: PNG });
    await applicant.page.click('#answer button[type=submit]');
    await applicant.page.waitForSelector('#status[data-status="pending_approval"]');
    expect(await applicant.page.textContent('#result')).toContain('แนบคำสั่งแล้ว');
    expect(await applicant.page.locator('#answer').count()).toBe(0);

    // The admin sees the new document (an image) and the new position, and approves with an adjusted access.
    await admin.page.goto(link, { waitUntil: DOM });
    expect(await admin.page.locator('iframe.document').count()).toBe(1);
    const image = admin.page.locator('img.document');
    expect(await image.count()).toBe(1);
    await expect.poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    expect(await admin.page.textContent('main')).toContain('นักวิชาการคอมพิวเตอร์ชำนาญการ');
    expect(await admin.page.isChecked('input[name=access][value="INFO:viewer"]')).toBe(true);
    await admin.page.check('input[name=access][value="INFO:editor"]');
    await admin.page.click('#approve button[type=submit]');
    await admin.page.waitForURL(/done=approved/, { waitUntil: DOM });
    expect(await admin.page.getAttribute('#status', 'data-status')).toBe('approved');
    expect(await admin.page.locator('#approve').count()).toBe(0);

    // The applicant signs in; the portal lists the system with both roles.
    const signedIn = await phone();
    await signedIn.page.goto(`${h.baseUrl}/login`, { waitUntil: DOM });
    await signIn(signedIn.page, res);
    await signedIn.page.waitForURL(`${h.baseUrl}/`, { waitUntil: DOM });
    const info = signedIn.page.locator('a[data-system="INFO"]');
    expect(await info.count()).toBe(1);
    expect(await signedIn.page.textContent('ul.systems')).toMatch(/editor, viewer|viewer, editor/);
    await Promise.all([admin.context.close(), applicant.context.close(), signedIn.context.close()]);
  });

  it("refuses a sibling unit's admin the request page and its documents (403)", async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const id: string = res.body.id;
    const docs = (await h.request('GET', `/api/v1/registrations/${id}`, { token: laoAdmin.token })).body.documents;
    const sibling = await phone();
    await sibling.page.goto(`${h.baseUrl}/login?return=${encodeURIComponent(`/admin/registrations/${id}`)}`, { waitUntil: DOM });
    await signIn(sibling.page, siblingAdmin);
    await sibling.page.waitForURL(`${h.baseUrl}/admin/registrations/${id}`, { waitUntil: DOM });
    const page = await sibling.page.goto(`${h.baseUrl}/admin/registrations/${id}`, { waitUntil: DOM });
    expect(page!.status()).toBe(403);
    expect(await sibling.page.locator('#approve').count()).toBe(0);
    const doc = await sibling.page.request.get(`${h.baseUrl}/admin/registrations/${id}/documents/${docs[0].id}`);
    expect(doc.status()).toBe(403);
    // Nor does the inbox list it.
    await sibling.page.goto(`${h.baseUrl}/admin/registrations`, { waitUntil: DOM });
    expect(await sibling.page.locator(`a[href="/admin/registrations/${id}"]`).count()).toBe(0);
    await sibling.context.close();
  });

  it('lists the inbox with filters; a decision taken elsewhere meanwhile keeps what the admin typed', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA, firstNameTh: 'ประภาพร' });
    const id: string = res.body.id;
    const admin = await phone();
    await admin.page.goto(`${h.baseUrl}/login?return=${encodeURIComponent('/admin/registrations')}`, { waitUntil: DOM });
    await signIn(admin.page, laoAdmin);
    await admin.page.waitForURL(`${h.baseUrl}/admin/registrations`, { waitUntil: DOM });
    expect(await admin.page.locator(`a[href="/admin/registrations/${id}"]`).count()).toBe(1);
    await admin.page.fill('#search', res.username);
    await admin.page.click('form.filters button[type=submit]');
    await admin.page.waitForURL(/search=/, { waitUntil: DOM });
    expect(await admin.page.locator('#registrations tbody tr').count()).toBe(1);
    await admin.page.fill('#search', 'ประภาพร');
    await admin.page.click('form.filters button[type=submit]');
    await admin.page.waitForURL(/search=%E0/, { waitUntil: DOM });
    expect(await admin.page.locator(`a[href="/admin/registrations/${id}"]`).count()).toBe(1);
    // A unit outside the admin's subtree is refused.
    const outside = await admin.page.goto(`${h.baseUrl}/admin/registrations?unitCode=${tree.laoB}`, { waitUntil: DOM });
    expect(outside!.status()).toBe(403);

    await admin.page.goto(`${h.baseUrl}/admin/registrations/${id}`, { waitUntil: DOM });
    await admin.page.fill('#reason', 'ไม่ใช่บุคลากรของหน่วยงาน ตรวจสอบแล้ว');
    // Meanwhile the province's admin approves.
    expect((await h.request('POST', `/api/v1/registrations/${id}/decision`, { token: provinceAdmin.token, json: { decision: 'approve' } })).status).toBe(200);
    const answer = admin.page.waitForResponse((r) => r.url().endsWith(`/admin/registrations/${id}/decision`));
    await admin.page.click('#reject button[type=submit]');
    expect((await answer).status()).toBe(409);
    expect(await admin.page.textContent('#decision-error')).toMatch(/changed meanwhile/);
    expect(await admin.page.inputValue('#reason')).toBe('ไม่ใช่บุคลากรของหน่วยงาน ตรวจสอบแล้ว');
    // Rejecting without a reason is refused by the server too (the browser's `required` aside); without the CSRF token, nothing is read.
    const csrf = await admin.page.inputValue('#reject input[name=_csrf]');
    const noReason = await admin.page.request.post(`${h.baseUrl}/admin/registrations/${id}/decision`, {
      form: { _csrf: csrf, decision: 'reject', reason: ' ' },
    });
    expect(noReason.status()).toBe(400);
    expect(await noReason.text()).toContain('Give the reason');
    const forged = await admin.page.request.post(`${h.baseUrl}/admin/registrations/${id}/decision`, { form: { decision: 'reject', reason: 'x' } });
    expect(forged.status()).toBe(403);
    await admin.context.close();
  });

  it('lets the applicant withdraw on /track with a confirmation, and refuses a multipart answer without its CSRF token', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const id: string = res.body.id;
    const forged = new FormData();
    forged.append('trackingCode', res.body.trackingCode);
    forged.append('note', 'x');
    const refused = await fetch(`${h.baseUrl}/track/${id}/info`, { method: 'POST', body: forged });
    expect(refused.status).toBe(403);

    const applicant = await phone();
    await applicant.page.goto(`${h.baseUrl}/track/${id}`, { waitUntil: DOM });
    await applicant.page.fill('#trackingCode', 'AAAA-BBBB-CCCC-DDDD');
    await applicant.page.click('#track button[type=submit]');
    await applicant.page.waitForSelector('p.error');
    await applicant.page.fill('#trackingCode', res.body.trackingCode);
    await applicant.page.click('#track button[type=submit]');
    await applicant.page.waitForSelector('#status[data-status="pending_approval"]');
    expect(await applicant.page.locator('#answer').count()).toBe(0);
    await applicant.page.check('#confirm');
    await applicant.page.click('#withdraw button[type=submit]');
    await applicant.page.waitForSelector('#status[data-status="withdrawn"]');
    expect(await applicant.page.locator('#withdraw').count()).toBe(0);
    await applicant.context.close();
  });

  it('keeps names verified by ThaiID locked when the applicant answers', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const id: string = res.body.id;
    // As if submitted through ThaiID (the ThaiID flow itself is tested in sso.test.ts).
    await h.resources.database.db.update(registrations).set({ identityVerifiedBy: 'thaiid' }).where(eq(registrations.id, id));
    expect(
      (await h.request('POST', `/api/v1/registrations/${id}/decision`, { token: laoAdmin.token, json: { decision: 'request_info', reason: 'แก้อีเมล' } })).status,
    ).toBe(200);

    const applicant = await phone();
    await applicant.page.goto(`${h.baseUrl}/track/${id}`, { waitUntil: DOM });
    await applicant.page.fill('#trackingCode', res.body.trackingCode);
    await applicant.page.click('#track button[type=submit]');
    await applicant.page.waitForSelector('#status[data-status="info_requested"]');
    for (const field of ['#firstNameTh', '#lastNameTh', '#firstNameEn', '#lastNameEn'])
      expect(await applicant.page.getAttribute(field, 'readonly')).not.toBeNull();
    expect(await applicant.page.getAttribute('#email', 'readonly')).toBeNull();
    await applicant.context.close();

    const form = new FormData();
    form.append('data', JSON.stringify({ firstNameTh: 'ชื่อใหม่' }));
    const refused = await h.request('POST', `/api/v1/registrations/${id}/info`, { body: form, headers: { 'x-tracking-code': res.body.trackingCode } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/ThaiID/);
  });
});
