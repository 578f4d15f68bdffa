// npm run bench:pages — what each page sends, against the aim of about 100 KB a page (issue 11): starts
// the whole system on a throw-away embedded DATA_DIR (as `npm start`: DLA's 955 offices loaded), adds
// the demo data (runDemo of scripts/demo.ts), then, signed in as DLA central (who sees the most) and as
// an LAO's admin, follows every console link from /admin and fetches the public pages. For each page:
// the HTML as sent (compressed, as the server answers a browser asking for br/gzip) and uncompressed,
// and the total with the CSS and scripts it loads. Pages of one route are shown once (the heaviest).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/net.ts';
import { DEMO_PASSWORD, runDemo } from './demo.ts';

const AIM = 100 * 1024;
const MAX_CONSOLE_PAGES = 400;

const root = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'sso-bench-pages-'));
const [port, temporalPort, uiPort, infoPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const base = `http://localhost:${port}`;
const adminPassword = `bench-${Date.now()}-Admin!`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(port),
  PUBLIC_URL: base,
  TEMPORAL_DEV_PORT: String(temporalPort),
  TEMPORAL_DEV_UI_PORT: String(uiPort),
  BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
  // Weights, not sign-in: admins sign in with a password alone here (a throw-away system).
  ADMIN_MFA: 'off',
  LOG_LEVEL: 'warn',
};
delete env.DATABASE_URL;
delete env.TEMPORAL_ADDRESS;

interface Fetched {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** One GET or POST, the body as it came over the wire (no decompression). */
function get(path: string, options: { cookie?: string; compressed: boolean; method?: string; form?: string }): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      {
        method: options.method ?? 'GET',
        headers: {
          accept: 'text/html,*/*',
          'accept-encoding': options.compressed ? 'br, gzip' : 'identity',
          ...(options.cookie ? { cookie: options.cookie } : {}),
          ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.form);
  });
}

/** A browser's cookie jar, one host. */
class Jar {
  private cookies = new Map<string, string>();
  take(headers: Fetched['headers']) {
    const set = headers['set-cookie'] ?? [];
    for (const line of Array.isArray(set) ? set : [set]) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }
  get header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function signIn(username: string, password: string): Promise<Jar> {
  const jar = new Jar();
  const page = await get('/login', { compressed: false });
  jar.take(page.headers);
  const form = new URLSearchParams({ _csrf: csrfOf(page.body.toString()), username, password }).toString();
  const done = await get('/login?return=%2F', { compressed: false, method: 'POST', form, cookie: jar.header });
  if (done.status !== 303) throw new Error(`signing in as ${username}: ${done.status}`);
  jar.take(done.headers);
  return jar;
}

interface Weight {
  page: string;
  route: string;
  html: number;
  htmlGzipped: number;
  total: number;
  totalCompressed: number;
}

const assetSizes = new Map<string, { raw: number; sent: number }>();
async function assetSize(path: string) {
  let size = assetSizes.get(path);
  if (!size) {
    const [raw, sent] = await Promise.all([get(path, { compressed: false }), get(path, { compressed: true })]);
    size = { raw: raw.body.length, sent: sent.body.length };
    assetSizes.set(path, size);
  }
  return size;
}

/** The page's weight, fetched twice (as sent compressed, and uncompressed), with its CSS and scripts. */
async function weigh(path: string, route: string, jar?: Jar, post?: string): Promise<{ weight: Weight; html: string }> {
  const options = { cookie: jar?.header, method: post ? 'POST' : 'GET', form: post };
  const [raw, sent] = await Promise.all([get(path, { ...options, compressed: false }), get(path, { ...options, compressed: true })]);
  if (raw.status >= 400) throw new Error(`${path}: ${raw.status}`);
  if (!String(raw.headers['content-type']).startsWith('text/html')) throw new Error(`${path}: not a page (${raw.headers['content-type']})`);
  const html = raw.body.toString();
  const assets = [...html.matchAll(/<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="(\/[^"]+)"/g)].map((m) => m[1]!);
  let total = raw.body.length;
  let totalCompressed = sent.body.length;
  for (const asset of new Set(assets)) {
    const size = await assetSize(asset);
    total += size.raw;
    totalCompressed += size.sent;
  }
  return { weight: { page: path, route, html: raw.body.length, htmlGzipped: sent.body.length, total, totalCompressed }, html };
}

/** A console path's route: ids and unit codes as parameters, the query left out. */
const routeOf = (path: string) =>
  path
    .split('?')[0]!
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, ':id')
    .replace(/\/units\/[^/]+/, '/units/:code')
    .replace(/\/manual\/sheet\/[^/]+/, '/manual/sheet/:unit') + (path.includes('?') ? ' (query)' : '');

/** Every console page reachable from /admin by links (GET, same origin, not downloads). */
async function crawlConsole(jar: Jar, who: string): Promise<Weight[]> {
  const seen = new Set<string>();
  const queue = ['/admin'];
  const weights: Weight[] = [];
  while (queue.length > 0 && seen.size < MAX_CONSOLE_PAGES) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    let result;
    try {
      result = await weigh(path, routeOf(path), jar);
    } catch (error) {
      console.warn(`  (${who}) ${(error as Error).message}`);
      continue;
    }
    weights.push(result.weight);
    for (const m of result.html.matchAll(/href="(\/admin[^"#]*)"/g)) {
      const link = m[1]!.replace(/&amp;/g, '&');
      if (/\.csv(\?|$)|\/download(\?|$)|\/documents\/|\/letter(\?|$)/.test(link) || seen.has(link)) continue;
      // One page per route and query shape is enough beyond the first few (pagination, filters).
      const sameRoute = weights.filter((w) => w.route === routeOf(link)).length + queue.filter((q) => routeOf(q) === routeOf(link)).length;
      if (sameRoute < 3) queue.push(link);
    }
  }
  return weights;
}

/** The heaviest page of each route. */
function heaviest(weights: Weight[]): Weight[] {
  const byRoute = new Map<string, Weight>();
  for (const w of weights) if (!byRoute.has(w.route) || byRoute.get(w.route)!.totalCompressed < w.totalCompressed) byRoute.set(w.route, w);
  return [...byRoute.values()].sort((a, b) => a.route.localeCompare(b.route));
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
function print(title: string, weights: Weight[]) {
  const rows = [['page', 'HTML sent', 'HTML', 'total sent', 'total', 'aim ~100 KB']];
  for (const w of weights) {
    const verdict = w.totalCompressed > AIM ? 'OVER (sent)' : w.total > AIM ? 'ok sent; over uncompressed' : 'ok';
    rows.push([w.page, kb(w.htmlGzipped), kb(w.html), kb(w.totalCompressed), kb(w.total), verdict]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`\n${title}`);
  for (const r of rows) console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`);
}

const system = spawn(process.execPath, [join(root, 'bin', 'start.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
system.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});
let failed = true;
try {
  for (const deadline = Date.now() + 300_000; !output.includes('sso-lifecycle is up'); await new Promise((r) => setTimeout(r, 250))) {
    if (system.exitCode !== null || Date.now() > deadline) throw new Error(`the system did not come up:\n${output}`);
  }
  const demo = await runDemo({ baseUrl: base, adminUsername: 'admin', adminPassword, infoPort });
  await demo.info.close();
  const waiting = demo.registrations.find((r) => r.submitted && r.id && r.trackingCode);
  const lao = demo.people.find((p) => p.role === 'SSO admin of the LAO') ?? demo.people[0]!;

  // The public pages, as someone not signed in (and the portal and survey signed in).
  const anonymous = new Jar();
  const publicPages: Weight[] = [];
  for (const path of ['/login', '/register', '/password/forgot', '/manual', '/manual/staff', '/manual/admin', `/manual/sheet/${demo.units[0]!.code}`]) {
    publicPages.push((await weigh(path, path, anonymous)).weight);
  }
  if (waiting) {
    publicPages.push((await weigh(`/track/${waiting.id}`, '/track/:id', anonymous)).weight);
    // The status page: the tracking code posted with the page's CSRF token.
    const jar = new Jar();
    const form = await get(`/track/${waiting.id}`, { compressed: false });
    jar.take(form.headers);
    const body = new URLSearchParams({ _csrf: csrfOf(form.body.toString()), trackingCode: waiting.trackingCode! }).toString();
    const status = await weigh(`/track/${waiting.id}`, '/track/:id (status)', jar, body);
    publicPages.push({ ...status.weight, page: `/track/${waiting.id} (status, POST)` });
  }
  const person = await signIn(lao.username, DEMO_PASSWORD);
  publicPages.push((await weigh('/', '/', person)).weight, (await weigh('/survey', '/survey', person)).weight);
  print('Public pages', publicPages);

  const central = heaviest(await crawlConsole(await signIn('admin', adminPassword), 'DLA central'));
  print(`Console pages, signed in as DLA central (the heaviest page of each route)`, central);
  const local = heaviest(await crawlConsole(await signIn(lao.username, DEMO_PASSWORD), lao.username));
  print(`Console pages, signed in as ${lao.username} (${lao.role})`, local);

  const over = [...publicPages, ...central, ...local].filter((w) => w.totalCompressed > AIM);
  console.log(over.length === 0 ? '\nEvery page sends under ~100 KB with its CSS and scripts.' : `\n${over.length} page(s) over ~100 KB as sent.`);
  failed = over.length > 0;
} catch (error) {
  console.error(`bench:pages: ${(error as Error).stack}`);
} finally {
  system.kill('SIGTERM');
  await new Promise((resolve) => system.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
