// What every console test does in the browser: sign in through the sign-in page, and check a page
// with axe-core (serious and critical violations fail).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const PHONE = { width: 390, height: 844 };

/** A fresh browser context (a phone-sized one when asked), signed in with a password. */
export async function signedInPage(
  browser: Browser,
  baseUrl: string,
  account: { username: string; password: string },
  options: { phone?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, ...(options.phone ? { viewport: PHONE, isMobile: true, hasTouch: true } : {}) });
  // A letter or evidence framed in a console page is shown as a placeholder, not in Chromium's PDF viewer: on a loaded
  // machine that viewer held the page's form submissions back for good (no request left the browser). The tests check
  // the frame's address, and fetch the document itself through the request API, which this does not touch.
  await context.route(
    (url) => /\/(letter|documents\/[0-9a-f-]{36})$/.test(url.pathname),
    (route) => (route.request().frame().parentFrame() !== null ? route.fulfill({ contentType: 'text/html', body: '<p>document</p>' }) : route.continue()),
  );
  const page = await context.newPage();
  await page.goto('/login');
  await page.fill('#username', account.username);
  await page.fill('#password', account.password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return { context, page };
}

/** axe-core on the page as it stands: no serious or critical violation. (Run through the debugger, so the page's CSP does not apply.) */
export async function expectAccessible(page: Page): Promise<void> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run().then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)) as string[];
  expect(violations, `axe-core on ${page.url()}`).toEqual([]);
}
