// The survey's results in the console, in a browser: answers sent through the real survey endpoint by
// people of two districts give charts and tables with the same numbers, ranked side by side; the
// comments page by page; the CSV holds every answer with formulas neutralised; nobody sees another
// subtree's results.
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { surveyResponses } from '../../db/schema.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let districtAdmin: TestAccount, siblingAdmin: TestAccount;
let round: string;

const scores = (registration: number, approval: number, signIn: number, systems: number, overall: number) => ({
  registration,
  approval,
  sign_in: signIn,
  systems,
  overall,
});

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  const [a1, a2, b1] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA), h.createAccount(tree.laoB)]);
  [districtAdmin, siblingAdmin] = await Promise.all([h.createAccount(tree.districtA), h.createAccount(tree.laoA2)]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  // Two people of district A (LAO A) and one of district B answer, through the API everyone uses.
  const answers: [TestAccount, ReturnType<typeof scores>, string | undefined][] = [
    [a1, scores(5, 5, 5, 5, 5), '=HYPERLINK("http://evil.example","ดูที่นี่")'],
    [a2, scores(4, 3, 5, 4, 4), 'ใช้งานง่าย สะดวก'],
    [b1, scores(2, 2, 2, 2, 1), undefined],
  ];
  for (const [who, given, comment] of answers) {
    const res = await h.request('POST', '/api/v1/survey-responses', { token: who.token, json: { scores: given, ...(comment ? { comment } : {}) } });
    expect(res.status).toBe(201);
    round = res.body.round;
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('survey results in the console', () => {
  it("shows the province's answers: counts, means and spreads in charts and tables, districts ranked side by side", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, h.central);
    const res = await page.goto(`/admin/survey?under=${tree.province}&round=${round}`);
    expect(res!.status()).toBe(200);
    expect(await page.textContent('#responses')).toBe('3');

    // Overall: 5, 4 and 1 → mean 3.33; one answer each at 1, 4 and 5, in the chart and in its table.
    const overall = page.locator('#question-overall');
    expect(await overall.locator('.mean').textContent()).toBe('3.33');
    const bars = await overall.locator('svg g[data-label]').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-label'), g.getAttribute('data-value')]));
    expect(bars).toEqual([
      ['1', '1'],
      ['2', '0'],
      ['3', '0'],
      ['4', '1'],
      ['5', '1'],
    ]);
    const table = await overall.locator('table.distribution tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    expect(table).toEqual(bars);
    expect(await overall.locator('svg').getAttribute('role')).toBe('img');
    expect(await overall.locator('svg title').first().textContent()).toContain('Overall satisfaction');
    // Approval: 5, 3, 2 → 3.33; registration: 5, 4, 2 → 3.67.
    expect(await page.locator('#question-approval .mean').textContent()).toBe('3.33');
    expect(await page.locator('#question-registration .mean').textContent()).toBe('3.67');

    // Side by side: district A (2 answers, overall 4.50) first, district B (1, 1.00) second, the province itself unanswered.
    const ranked = await page
      .locator('table.units tbody tr')
      .evaluateAll((rows) => rows.map((r) => ({ unit: r.getAttribute('data-unit'), cells: [...r.querySelectorAll('td')].map((c) => c.textContent) })));
    expect(ranked).toEqual([
      { unit: tree.districtA, cells: ['1', '2', '4.50', '4.00', '5.00', '4.50', '4.50'] },
      { unit: tree.districtB, cells: ['2', '1', '2.00', '2.00', '2.00', '2.00', '1.00'] },
      { unit: tree.province, cells: ['–', '0', '–', '–', '–', '–', '–'] },
    ]);
    const unitBars = await page.locator('#units-overall g[data-label]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-value')));
    expect(unitBars).toEqual(['4.50', '1.00']);

    // The comments, newest first; the formula is shown as text.
    expect(await page.locator('ul.comments li').count()).toBe(2);
    expect(await page.locator('ul.comments li').first().textContent()).toContain('ใช้งานง่าย สะดวก');
    await expectAccessible(page);

    // Down to district A: its LAOs side by side.
    await Promise.all([page.waitForNavigation(), page.click(`table.units a[href*="under=${tree.districtA}"]`)]);
    expect(await page.textContent('#responses')).toBe('2');
    expect(await page.locator(`table.units tr[data-unit="${tree.laoA}"] td.responses`).textContent()).toBe('2');
    expect(await page.locator(`table.units tr[data-unit="${tree.laoA2}"] td.responses`).textContent()).toBe('0');
    await context.close();
  }, 60_000);

  it('downloads every answer of the subtree as CSV: BOM, scores, formulas neutralised, no account', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, h.central);
    const res = await page.request.get(`/admin/survey.csv?under=${tree.province}&round=${round}`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('text/csv');
    const body = (await res.body()).toString('utf8');
    expect(body.startsWith('\uFEFF')).toBe(true);
    const lines = body.slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('"round","answeredAt","unitCode","unitNameTh","registration","approval","sign_in","systems","overall","comment"');
    expect(lines).toHaveLength(4);
    const overallOf = lines.slice(1).map((l) => l.split('","')[8]);
    expect(overallOf.sort()).toEqual(['1', '4', '5']);
    expect(body).toContain(`"'=HYPERLINK(""http://evil.example"",""ดูที่นี่"")"`);
    expect(body).not.toMatch(/"=HYPERLINK/);
    await context.close();
  });

  it("keeps each admin to their own subtree: a district's admin on a phone sees its LAOs, not the province or a sibling", async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, districtAdmin, { phone: true });
    const own = await page.goto('/admin/survey');
    expect(own!.status()).toBe(200);
    expect(await page.textContent('main')).toContain(tree.districtA);
    expect(await page.textContent('#responses')).toBe('2');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await expectAccessible(page);
    const above = await page.goto(`/admin/survey?under=${tree.province}`);
    expect(above!.status()).toBe(403);
    expect((await page.request.get(`/admin/survey.csv?under=${tree.province}`)).status()).toBe(403);
    await context.close();

    const sibling = await signedInPage(browser, h.baseUrl, siblingAdmin);
    expect((await sibling.page.goto(`/admin/survey?under=${tree.laoA}`))!.status()).toBe(403);
    expect(await sibling.page.textContent('main')).toMatch(/ไม่มีสิทธิ์|Forbidden/);
    expect((await sibling.page.request.get(`/admin/survey.csv?under=${tree.laoA}`)).status()).toBe(403);
    await sibling.page.goto('/admin/survey');
    expect(await sibling.page.textContent('#responses')).toBe('0');
    await sibling.context.close();
  });

  it('pages the comments, 50 at a time', async () => {
    // 55 commented answers at LAO A2 (stored directly: one account each would only slow the test).
    await h.resources.database.db.insert(surveyResponses).values(
      Array.from({ length: 55 }, (_, i) => ({
        round,
        accountId: randomUUID(),
        unitCode: tree.laoA2,
        scores: scores(3, 3, 3, 3, 3),
        comment: `ความเห็นที่ ${i + 1}`,
        createdAt: new Date(Date.now() - (55 - i) * 60_000),
      })),
    );
    const { context, page } = await signedInPage(browser, h.baseUrl, siblingAdmin);
    await page.goto('/admin/survey');
    expect(await page.textContent('#responses')).toBe('55');
    expect(await page.locator('ul.comments li').count()).toBe(50);
    expect(await page.locator('ul.comments li').first().textContent()).toContain('ความเห็นที่ 55');
    await Promise.all([page.waitForNavigation(), page.click('nav.pager a:has-text("Next")')]);
    const rest = await page.locator('ul.comments li p:first-child').allTextContents();
    expect(rest).toEqual(['ความเห็นที่ 5', 'ความเห็นที่ 4', 'ความเห็นที่ 3', 'ความเห็นที่ 2', 'ความเห็นที่ 1']);
    await expectAccessible(page);
    await context.close();
  });
});
