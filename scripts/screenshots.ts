// npm run screenshots — the README's pictures of the console, made from the demo data: starts the
// whole system on a throw-away DATA_DIR (as `npm start`), runs `npm run demo` against it, and takes
// the pages in Chromium as an LAO admin on a phone and a district admin at a desk.
// Thai text needs Thai fonts on the machine (Debian: fonts-thai-tlwg).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/net.ts';
import { DEMO_PASSWORD } from './demo.ts';
import { launchBrowser } from './support/browser.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'sso-screenshots-'));
const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
const env = {
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(port),
  TEMPORAL_DEV_PORT: String(temporalPort),
  TEMPORAL_DEV_UI_PORT: String(uiPort),
  LOG_LEVEL: 'warn',
  // Pictures of the pages, not of the second factor: the demo admins sign in with their password alone.
  ADMIN_MFA: 'off',
};

const system = spawn(process.execPath, [join(root, 'bin', 'start.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
system.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});
try {
  for (const deadline = Date.now() + 180_000; !output.includes('sso-lifecycle is up'); await new Promise((r) => setTimeout(r, 250))) {
    if (system.exitCode !== null || Date.now() > deadline) throw new Error(`the system did not come up:\n${output}`);
  }
  const demo = spawnSync(process.execPath, [join(root, 'scripts', 'demo.ts'), '--exit'], { env, encoding: 'utf8' });
  if (demo.status !== 0) throw new Error(`npm run demo failed:\n${demo.stdout}\n${demo.stderr}`);

  const browser = await launchBrowser();
  const shoot = async (username: string, viewport: { width: number; height: number }, shots: { path: string; file: string; open?: string }[]) => {
    const context = await browser.newContext({ baseURL: `http://localhost:${port}`, viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto('/login');
    await page.fill('#username', username);
    await page.fill('#password', DEMO_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    for (const shot of shots) {
      await page.goto(shot.path);
      if (shot.open) await Promise.all([page.waitForNavigation(), page.click(shot.open)]);
      await page.screenshot({ path: join(out, shot.file), fullPage: shot.open === undefined });
      console.log(`docs/screenshots/${shot.file}  ${page.url().replace(/^https?:\/\/[^/]+/, '')}`);
    }
    await context.close();
  };
  await shoot('demo.nongnakham', { width: 390, height: 844 }, [
    { path: '/admin', file: 'console-home-phone.png' },
    { path: '/admin/registrations', file: 'console-registration-phone.png', open: 'main table a' },
  ]);
  await shoot('demo.district', { width: 1280, height: 900 }, [{ path: '/admin/appointments', file: 'console-appointment-desk.png', open: 'main table a' }]);
  await browser.close();
} finally {
  system.kill('SIGTERM');
  await new Promise((resolve) => system.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
