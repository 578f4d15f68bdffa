// A real browser for the pages: Debian's Chromium driven by playwright-core (the machine cannot
// download Playwright's own browsers). CHROMIUM_PATH overrides where it is.
import { chromium, type Browser } from 'playwright-core';

/**
 * Playwright's own list of disabled features, less AvoidUnnecessaryBeforeUnloadCheckSync. With that
 * feature off (Playwright's default) and the hang monitor off, a form submitted from a page with a
 * PDF in an iframe waits for the PDF viewer's frame to answer the before-unload check; on a loaded
 * machine it never did, and no request left the browser (the console's appointment and registration
 * pages failed so in CI). The last --disable-features on the command line is the one Chromium uses.
 */
const DISABLED_FEATURES = [
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // No background traffic: this machine's network is closed.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--disable-features=${DISABLED_FEATURES.join(',')}`,
    ],
  });
}
