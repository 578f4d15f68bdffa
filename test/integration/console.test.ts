// The console's door and home: who gets in, what waits for an admin, and the page's guards.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { expectAccessible, signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser;
let laoAdmin: TestAccount, staff: TestAccount;

beforeAll(async () => {
  h = await startHarness({}, { reachable: true });
  tree = await h.seedTree();
  [laoAdmin, staff] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('the console', () => {
  it('sends a browser without a sign-in to the sign-in page, and back to the console after it', async () => {
    const res = await fetch(`${h.baseUrl}/admin?from=mail`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?return=${encodeURIComponent('/admin?from=mail')}`);
  });

  it('answers a 403 page to a person who administers nothing', async () => {
    const { context, page } = await signedInPage(browser, h.baseUrl, staff);
    const answer = await page.goto('/admin');
    expect(answer!.status()).toBe(403);
    expect(await page.textContent('main')).toContain('The console is for the SSO admins of units only');
    await context.close();
  });

  it('shows an LAO admin, on a phone, the request waiting at their unit with when it escalates, under a strict CSP', async () => {
    const submitted = await h.submitRegistration({ unitCode: tree.laoA, firstNameTh: 'รอคอย', lastNameTh: 'อนุมัติ' });
    expect(submitted.status).toBe(202);
    const { context, page } = await signedInPage(browser, h.baseUrl, laoAdmin, { phone: true });
    // The portal leads admins to the console.
    const answer = await page.goto('/admin');
    expect(answer!.status()).toBe(200);
    const csp = answer!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const row = page.locator('#registrations ~ div table tr', { hasText: 'รอคอย อนุมัติ' });
    await expect.poll(() => row.count()).toBe(1);
    // Escalation after REGISTRATION_ESCALATE_AFTER (5 days by default), in the Buddhist Era.
    const escalates = new Intl.DateTimeFormat('th-TH-u-ca-buddhist', { dateStyle: 'long', timeZone: 'Asia/Bangkok' }).format(
      new Date(Date.now() + 5 * 86_400_000),
    );
    expect(await row.textContent()).toContain(escalates);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await expectAccessible(page);
    await context.close();
  });
});
