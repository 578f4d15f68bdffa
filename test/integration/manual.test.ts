// The manual and the printable QR sheet in a browser: the manual's pages, in Thai with English, are
// reached from the footer of the sign-in page, the portal and the console, pass axe-core and print
// without the site's chrome; a unit's sheet carries QR codes that decode (jsQR on Chromium's
// rendering of the server's SVG) to the sign-in page, the manual and the survey at the configured
// public URL, and fits one A4 page; an unknown unit is a 404.
import jsqrModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { durationInWords } from '../../services/manual.ts';
import { expectAccessible, PHONE, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

// jsqr is CommonJS with `exports.default`: Node's ESM hands over the exports object, vitest's interop the function.
const jsQR: typeof jsqrModule.default = typeof jsqrModule === 'function' ? jsqrModule : jsqrModule.default;

let h: Harness;
let tree: Tree;
let browser: Browser;
let staff: TestAccount, laoAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({ REGISTRATION_ESCALATE_AFTER: '3d' }, { reachable: true });
  tree = await h.seedTree();
  [staff, laoAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const fitsWidth = async (page: Page, width: number) => expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);

/** What a phone's camera reads from a QR code on the page: Chromium's pixels of the element, decoded by jsQR. */
async function decodeQr(page: Page, selector: string): Promise<string | undefined> {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data;
}

describe('the manual', () => {
  it('is linked from the sign-in page, in Thai with English, accessible, for staff and for admins, and prints without the chrome', async () => {
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    await page.goto('/login');
    await Promise.all([page.waitForURL('**/manual'), page.click('footer a[href="/manual"]')]);
    expect(await page.getAttribute('html', 'lang')).toBe('th');
    expect(await page.textContent('h1')).toBe('คู่มือการใช้งานระบบยืนยันตัวตน (SSO) / User manual');
    const contents = await page.textContent('main');
    expect(contents).toContain('ลงทะเบียนผู้ใช้ใหม่');
    expect(contents).toContain('Register as a new user');
    await expectAccessible(page);

    // Staff: every task the letters name, each in Thai and in English, with the pages it points to.
    await Promise.all([page.waitForURL('**/manual/staff'), page.click('main a[href="/manual/staff"]')]);
    for (const [id, th, en] of [
      ['register-thaiid', 'ลงทะเบียนด้วย ThaiID', 'Register with ThaiID'],
      ['register-form', 'ลงทะเบียนด้วยแบบฟอร์ม', 'Register with the form'],
      ['track', 'ติดตามคำขอ', 'Track your request'],
      ['sign-in', 'เข้าสู่ระบบ', 'Sign in'],
      ['open-system', 'เข้าใช้งานระบบที่เชื่อมโยง', 'Open a connected system'],
      ['password', 'เปลี่ยนรหัสผ่าน', 'Change your password'],
    ]) {
      const heading = await page.textContent(`h2#${id}`);
      expect(heading).toContain(th);
      expect(heading).toContain(en);
    }
    expect(await page.locator('section:has(#password) a[href="/password/change"]').count()).toBeGreaterThan(0);
    expect(await page.locator('section:has(#register-form) a[href="/register"]').count()).toBeGreaterThan(0);
    await expectAccessible(page);

    // Admins: decide, appoint, review, help; the deadlines are the configured ones.
    await page.goto('/manual/admin');
    for (const id of ['decide', 'appoint', 'review', 'help']) expect(await page.locator(`h2#${id}`).count()).toBe(1);
    expect(await page.textContent('section:has(#decide)')).toContain(`หน่วยงานต้นสังกัดเมื่อรอเกิน ${durationInWords(3 * 86_400_000)}`);
    expect(durationInWords(3 * 86_400_000)).toBe('3 วัน / 3 days');
    expect(await page.locator('section:has(#help) a[href="/admin/accounts"]').count()).toBeGreaterThan(0);
    await expectAccessible(page);

    // Printed: the header stays, the footer link and the way back go.
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('header')).toBe(true);
    expect(await page.isVisible('footer.site')).toBe(false);
    expect(await page.isVisible('.manual-back')).toBe(false);
    await context.close();
  }, 60_000);

  it('is linked from the portal (on a phone) and from the console', async () => {
    const user = await signedInPage(browser, h.baseUrl, staff, { phone: true });
    expect(new URL(user.page.url()).pathname).toBe('/');
    await Promise.all([user.page.waitForURL('**/manual'), user.page.click('footer a[href="/manual"]')]);
    await user.page.click('main a[href="/manual/staff"]');
    await user.page.waitForURL('**/manual/staff');
    await fitsWidth(user.page, PHONE.width);
    // The password section leads to the page that changes it.
    await Promise.all([user.page.waitForURL('**/password/change'), user.page.click('section:has(#password) li a[href="/password/change"] >> nth=0')]);
    expect(await user.page.locator('#currentPassword').count()).toBe(1);
    await user.context.close();

    const admin = await signedInPage(browser, h.baseUrl, laoAdmin);
    await admin.page.goto('/admin');
    expect(await admin.page.locator('footer a[href="/manual"]').count()).toBe(1);
    await Promise.all([admin.page.waitForURL('**/manual/admin'), admin.page.click('footer a[href="/manual/admin"]')]);
    expect(await admin.page.textContent('h1')).toContain('Manual for SSO admins');
    await admin.context.close();
  }, 60_000);
});

describe('the QR sheet of a unit', () => {
  it('holds QR codes that decode to the sign-in page, the manual and the survey at the public URL, also printed as text, on one A4 page', async () => {
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    // Reached from the manual's contents with the unit's code.
    await page.goto('/manual');
    await page.fill('#sheet-unit', tree.laoA);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(`/manual/sheet/${tree.laoA}`)), page.click('.sheet-form button')]);
    expect(answer.status()).toBe(200);
    expect(answer.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.textContent('#unit-code')).toBe(tree.laoA);
    expect(await page.textContent('h1')).toContain('อบต.หนองนาคำ');
    expect(await page.textContent('.sheet-unit')).toContain('สถอ.เมืองอุดรธานี');

    const publicUrl = h.config.publicUrl;
    const wanted = { login: `${publicUrl}/login`, manual: `${publicUrl}/manual`, survey: `${publicUrl}/survey` };
    for (const [key, url] of Object.entries(wanted)) {
      expect(await decodeQr(page, `#qr-${key} svg.qr`), key).toBe(url);
      expect((await page.textContent(`#qr-${key} .qr-url`))?.trim()).toBe(url);
      expect(await page.getAttribute(`#qr-${key} svg.qr`, 'aria-label')).toContain(url);
    }
    await expectAccessible(page);

    // Printed on A4 it is one page, the three codes side by side.
    await page.emulateMedia({ media: 'print' });
    const boxes = await Promise.all(Object.keys(wanted).map(async (key) => (await page.locator(`#qr-${key} svg.qr`).boundingBox())!));
    expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
    const pdf = (await page.pdf({ format: 'A4' })).toString('latin1');
    expect(pdf.match(/\/Type\s*\/Page\b/g)?.length).toBe(1);
    // Followed, the sign-in code opens the sign-in page (the public URL is this server).
    await page.emulateMedia({ media: 'screen' });
    expect((await page.goto(wanted.login))!.status()).toBe(200);
    expect(await page.locator('#username').count()).toBe(1);
    await context.close();
  }, 60_000);

  it('fits a phone, with the codes still readable', async () => {
    const context = await browser.newContext({ baseURL: h.baseUrl, viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`/manual/sheet/${tree.province}`);
    await fitsWidth(page, PHONE.width);
    expect(await decodeQr(page, '#qr-survey svg.qr')).toBe(`${h.config.publicUrl}/survey`);
    await expectAccessible(page);
    await context.close();
  }, 30_000);

  it('is a 404 page for a unit that does not exist', async () => {
    const context = await browser.newContext({ baseURL: h.baseUrl });
    const page = await context.newPage();
    const missing = await page.goto('/manual/sheet/NO-SUCH-UNIT');
    expect(missing!.status()).toBe(404);
    expect(await page.textContent('main')).toContain('NO-SUCH-UNIT');
    expect(await page.locator('svg.qr').count()).toBe(0);
    expect((await page.goto('/manual/sheet/%3Cscript%3E'))!.status()).toBe(404);
    await context.close();
  });
});
