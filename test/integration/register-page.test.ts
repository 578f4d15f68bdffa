// The registration page without JavaScript, in Chromium on the real services: the plain multipart
// form (with its CSRF field) reaches the same registration operation as the API; a refused field comes
// back with its error by the field and what was typed kept; a multipart POST without a valid CSRF token,
// or with bad files, is refused and creates nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DISGUISED_PDF, PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount;
const INFO = 'INFO';

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  await h.request('PUT', `/api/v1/systems/${INFO}`, {
    token: h.central.token,
    json: { nameTh: 'ระบบฐานข้อมูลกลาง', nameEn: 'INFO', url: 'https://info.dla.go.th', roles: ['viewer', 'editor'] },
  });
  laoAdmin = await h.createAccount(tree.laoA);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

afterEach(({ task }) => {
  if (task.result?.state === 'fail') console.log(`API log, last lines:\n${h.logs.slice(-60).join('')}`);
});

/** The requests at the LAO with this username, as its admin sees them through the API. */
async function requestsOf(username: string) {
  const list = await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&search=${encodeURIComponent(username)}`, { token: laoAdmin.token });
  expect(list.status).toBe(200);
  return (list.body.items as { id: string; username: string }[]).filter((r) => r.username === username);
}

/** A phone 360 px wide with JavaScript off. */
async function noScriptPhone() {
  const context = await browser.newContext({ baseURL: h.baseUrl, javaScriptEnabled: false, viewport: { width: 360, height: 780 }, isMobile: true });
  return { context, page: await context.newPage() };
}

/** Step 1: the unit, searched by part of its name and picked from the matches (page after page among the namesakes of other files' trees). */
async function chooseUnit(page: Page, code: string, name = 'หนองนาคำ') {
  await page.goto('/register');
  await page.fill('#q', name);
  await Promise.all([page.waitForNavigation(), page.click('#unit-search button[type=submit]')]);
  for (let i = 0; i < 100 && (await page.locator(`a[data-unit="${code}"]`).count()) === 0; i++) {
    await Promise.all([page.waitForNavigation(), page.click('a[rel=next]')]);
  }
  await Promise.all([page.waitForNavigation(), page.click(`a[data-unit="${code}"]`)]);
  expect(await page.inputValue('#unitCode')).toBe(code);
}

describe('the registration page without JavaScript', () => {
  it('submits the form with its evidence: the tracking page follows and the admin sees the request', async () => {
    const { context, page } = await noScriptPhone();
    const username = uniqueName('nojs');
    await chooseUnit(page, tree.laoA);
    await page.fill('#citizenId', randomCitizenId());
    await page.fill('#firstNameTh', 'สมศรี');
    await page.fill('#lastNameTh', 'ใจดี');
    await page.fill('#email', `${username}@lao.test`);
    await page.fill('#position', 'นักจัดการงานทั่วไป');
    await page.fill('#username', username);
    await page.fill('#password', 'nojs-password-12');
    await page.check(`input[value="${INFO}:viewer"]`);
    await page.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

    const trackingCode = (await page.textContent('#trackingCode'))!.trim();
    expect(trackingCode).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
    expect(await page.textContent('#result')).toContain('ส่งคำขอแล้ว');
    // The tracking page, one button away (the code travels in the form, not the address).
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.getAttribute('#status', 'data-status')).toBe('pending_approval');
    expect(page.url()).not.toContain(trackingCode);
    await context.close();

    // The LAO's admin sees it, with its document, in the console.
    const [request] = await requestsOf(username);
    expect(request).toBeDefined();
    const seen = await h.request('GET', `/api/v1/registrations/${request!.id}`, { token: laoAdmin.token });
    expect(seen.body.applicant).toMatchObject({ identityVerifiedBy: 'form', firstNameTh: 'สมศรี', requestedAccess: [{ system: INFO, role: 'viewer' }] });
    expect(seen.body.documents).toHaveLength(1);
    const admin = await signedInPage(browser, h.baseUrl, laoAdmin);
    await admin.page.setViewportSize({ width: 360, height: 780 });
    for (const path of [`/admin/registrations?search=${encodeURIComponent(username)}`, '/admin']) {
      await admin.page.goto(path);
      expect(await admin.page.textContent('main')).toContain('สมศรี');
      // On a 360-px phone the list is labelled rows, one cell a line, nothing wider than the screen.
      const cell = admin.page.locator('table.stack tbody td[data-label="หน่วยงาน / Unit"]').first();
      expect(await cell.evaluate((td) => td.ownerDocument.defaultView!.getComputedStyle(td).display)).toBe('block');
      expect(await cell.evaluate((td) => td.ownerDocument.defaultView!.getComputedStyle(td, '::before').content)).toContain('หน่วยงาน / Unit');
      // Run in the page (a string: the test's types have no DOM).
      const wider = (await admin.page.evaluate(`[...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > 361 && !e.closest('nav.console, table.stack thead, .table-wrap > table:not(.stack)'))
          .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')`)) as string[];
      expect(wider, path).toEqual([]);
      await expectAccessible(admin.page);
    }
    await admin.context.close();
  });

  it('shows a refused field with its error, keeps what was typed, and asks for the files again', async () => {
    const { context, page } = await noScriptPhone();
    const username = uniqueName('refused');
    const citizenId = randomCitizenId();
    await chooseUnit(page, tree.laoA);
    await page.fill('#citizenId', citizenId);
    await page.fill('#firstNameTh', 'สมปอง');
    await page.fill('#lastNameTh', 'รักงาน');
    await page.fill('#email', `${username}@lao.test`);
    await page.fill('#position', 'ปลัด อบต.');
    await page.fill('#username', `${username} with spaces`); // the browser lets it through; the rule does not
    await page.fill('#password', 'refused-password-12');
    await page.check(`input[value="${INFO}:editor"]`);
    await page.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    const [answer] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(answer!.status()).toBe(400);

    expect(await page.textContent('#username-error')).toMatch(/username/);
    expect(await page.getAttribute('#username', 'aria-invalid')).toBe('true');
    expect(await page.locator('#email-error').count()).toBe(0);
    expect(await page.inputValue('#username')).toBe(`${username} with spaces`);
    expect(await page.inputValue('#citizenId')).toBe(citizenId);
    expect(await page.inputValue('#firstNameTh')).toBe('สมปอง');
    expect(await page.inputValue('#email')).toBe(`${username}@lao.test`);
    expect(await page.inputValue('#position')).toBe('ปลัด อบต.');
    expect(await page.inputValue('#unitCode')).toBe(tree.laoA);
    expect(await page.isChecked(`input[value="${INFO}:editor"]`)).toBe(true);
    expect(await page.isChecked(`input[value="${INFO}:viewer"]`)).toBe(false);
    expect(await page.inputValue('#password')).toBe('');
    expect(await page.textContent('#refused')).toContain('choose the document files again');
    expect(await requestsOf(username)).toEqual([]);

    // Corrected (password and file given again), it goes through.
    await page.fill('#username', username);
    await page.fill('#password', 'refused-password-12');
    await page.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('#trackingCode')).toMatch(/^[A-Z0-9-]{19}$/);
    expect(await requestsOf(username)).toHaveLength(1);
    await context.close();

    // The refused form passes axe-core (with scripts on, as the checker needs them).
    const checked = await browser.newContext({ baseURL: h.baseUrl });
    const again = await checked.newPage();
    await again.goto(`/register?q=${encodeURIComponent('หนองนาคำ')}`);
    expect(await again.locator('ul.units li').count()).toBeGreaterThan(0);
    await expectAccessible(again);
    await again.goto(`/register?unit=${tree.laoA}`);
    await again.fill('#citizenId', '123');
    await again.fill('#firstNameTh', 'ก');
    await again.fill('#lastNameTh', 'ข');
    await again.fill('#email', 'someone@lao.test');
    await again.fill('#position', 'x');
    await again.fill('#username', uniqueName('axe'));
    await again.fill('#password', 'refused-password-12');
    await again.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    await Promise.all([again.waitForNavigation(), again.click('button[type=submit]')]);
    expect(await again.textContent('#citizenId-error')).toBeTruthy();
    await expectAccessible(again);
    await checked.close();
  });
});

describe('choosing the unit', () => {
  const get = async (path: string) => {
    const res = await fetch(`${h.baseUrl}${path}`);
    return { status: res.status, html: await res.text() };
  };

  it('searches units by name or code, a page at a time, instead of listing every unit', async () => {
    const first = await get('/register');
    expect(first.status).toBe(200);
    expect(first.html).toContain('id="unit-search"');
    expect(first.html).not.toContain('data-unit=');
    expect(first.html).not.toContain('id="register"');

    const byCode = await get(`/register?q=${tree.laoB}`);
    expect(byCode.html).toContain(`data-unit="${tree.laoB}"`);
    expect(byCode.html).toContain('สถอ.กุมภวาปี'); // the units above, to tell namesakes apart
    expect(byCode.html.match(/data-unit=/g)).toHaveLength(1);

    // 25 namesakes: 20 on the first page with a link to the next, the other 5 on the second, none twice.
    const name = `เทศบาลตำบลทดสอบ${uniqueName('n')}`;
    const namesakes = Array.from({ length: 25 }, (_, i) => ({
      code: `${tree.laoB}-N${String(i).padStart(2, '0')}`,
      parentCode: tree.districtB,
      kind: 'municipality',
      nameTh: `${name} ${i}`,
    }));
    expect((await h.request('PUT', '/api/v1/org-units', { token: h.central.token, json: namesakes })).status).toBe(200);
    const codesOf = (html: string) => [...html.matchAll(/data-unit="([^"]+)"/g)].map((m) => m[1]);
    const page1 = await get(`/register?q=${encodeURIComponent(name)}`);
    expect(codesOf(page1.html)).toEqual(namesakes.slice(0, 20).map((u) => u.code));
    expect(page1.html).toContain('rel="next"');
    const page2 = await get(`/register?q=${encodeURIComponent(name)}&page=2`);
    expect(codesOf(page2.html)).toEqual(namesakes.slice(20).map((u) => u.code));
    expect(page2.html).not.toContain('rel="next"');
    expect(page2.html).toContain('rel="prev"');

    const wildcard = await get(`/register?q=${encodeURIComponent('%')}`);
    expect(wildcard.status).toBe(200);
    expect(wildcard.html).toContain('id="no-units"');

    const chosen = await get(`/register?unit=${tree.laoB}`);
    expect(chosen.html).toContain(`name="unitCode" value="${tree.laoB}"`);
    expect(chosen.html).toContain('อบต.ห้วยเกิ้ง');

    const unknown = await get('/register?unit=NO-SUCH-UNIT');
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('id="unit-error"');
    expect((await get('/register?q=x&page=nonsense')).status).toBe(200);
  });
});

describe('the multipart form reader', () => {
  /** A session cookie and its CSRF token, as the page gives them. */
  async function session(): Promise<{ cookie: string; csrf: string }> {
    const page = await fetch(`${h.baseUrl}/register?unit=${tree.laoA}`);
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    return { cookie, csrf };
  }

  function form(username: string, extra: { csrf?: string; file?: Buffer } = {}) {
    const body = new FormData();
    if (extra.csrf) body.append('_csrf', extra.csrf);
    const fields = {
      citizenId: randomCitizenId(),
      firstNameTh: 'ทดสอบ',
      lastNameTh: 'ระบบ',
      email: `${username}@lao.test`,
      position: 'นักวิชาการ',
      unitCode: tree.laoA,
      username,
      password: 'reader-password-12',
      access: `${INFO}:viewer`,
    };
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    body.append('documents', new Blob([extra.file ?? PDF], { type: 'application/pdf' }), 'letter.pdf');
    return body;
  }

  const post = (body: FormData | string, headers: Record<string, string> = {}) =>
    fetch(`${h.baseUrl}/register`, { method: 'POST', body, headers: { accept: 'text/html', ...headers } });

  it('refuses bad input of every kind with a 4xx and creates nothing', async () => {
    const { cookie, csrf } = await session();
    const cases: [string, () => Promise<Response>, number][] = [
      ['no CSRF token', () => post(form('nocsrf1'), { cookie }), 403],
      ['no session cookie', () => post(form('nocsrf2', { csrf })), 403],
      ['a wrong token', () => post(form('nocsrf3', { csrf: `${csrf.slice(0, -2)}xx` }), { cookie }), 403],
      ['a file that is not what it says', () => post(form('disguised', { csrf, file: DISGUISED_PDF }), { cookie }), 415],
      ['a file over 10 MB', () => post(form('toolarge', { csrf, file: Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]) }), { cookie }), 413],
      [
        'not multipart',
        () => post(`_csrf=${encodeURIComponent(csrf)}&username=urlencoded`, { cookie, 'content-type': 'application/x-www-form-urlencoded' }),
        415,
      ],
    ];
    for (const [what, send, status] of cases) {
      const answer = await send();
      expect(answer.status, what).toBe(status);
      expect(answer.headers.get('content-type'), what).toContain('text/html');
    }
    for (const username of ['nocsrf1', 'nocsrf2', 'nocsrf3', 'disguised', 'toolarge', 'urlencoded']) expect(await requestsOf(username), username).toEqual([]);

    // The same token and cookie with a good form: accepted (so the refusals above were the input's).
    const good = await post(form(uniqueName('reader'), { csrf }), { cookie });
    expect(good.status).toBe(201);
    expect(await good.text()).toMatch(/[A-Z0-9]{4}(-[A-Z0-9]{4}){3}/);
  });

  it('on /track: an answer without a CSRF token is refused before anything is read', async () => {
    const submitted = await h.submitRegistration({ unitCode: tree.laoA });
    const body = new FormData();
    body.append('trackingCode', submitted.body.trackingCode);
    body.append('note', 'no token');
    body.append('documents', new Blob([PDF], { type: 'application/pdf' }), 'more.pdf');
    const answer = await fetch(`${h.baseUrl}/track/${submitted.body.id}/info`, { method: 'POST', body, headers: { accept: 'text/html' } });
    expect(answer.status).toBe(403);
    const seen = await h.request('GET', `/api/v1/registrations/${submitted.body.id}`, { token: laoAdmin.token });
    expect(seen.body.documents).toHaveLength(1);
    expect(seen.body.history.map((e: { event: string }) => e.event)).toEqual(['submitted']);
  });
});
