// npm run bench:signin — sign-ins as the connected systems cause them, against the API as a process
// of its own (bin/api.ts) on real PostgreSQL (a throw-away database) and a Temporal dev server:
// (1) full OpenID Connect sign-ins with a password — the authorization request, the sign-in page
// and its form as a browser without scripts posts it (cookies and CSRF), the consent step, the
// redirect with the code, the code exchanged at the token endpoint with PKCE and the client's
// secret; (2) refresh-token grants; (3) portal page loads with the session the sign-in left.
// For each phase: operations per second and p50/p99 (wall clock: these move with the machine's
// load), and the API process's own CPU time per operation (from /proc/<pid>/stat: all its threads,
// the argon2id hashing included; not PostgreSQL's, not Temporal's, not this load generator's),
// against Keycloak's sizing figures (15 password sign-ins and 120 refreshes per vCPU-second), and the
// sign-in's cost in argon2id checks at OWASP's minimum timed on the same machine.
// BENCH_SIGNINS (300), BENCH_REFRESHES (2000), BENCH_PAGES (2000), BENCH_CONCURRENCY (32), BENCH_WARM_UP (150
// sign-ins, refreshes and pages before the measured ones);
// BENCH_PROFILE_DIR: the API writes a V8 CPU profile there when it stops.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { hash, verify } from '@node-rs/argon2';
import postgres from 'postgres';
import { accounts, entitlements } from '../db/schema.ts';
import { loadConfig } from '../lib/config.ts';
import { freePort } from '../lib/net.ts';
import { hashPassword } from '../lib/passwords.ts';
import { generateSigningKey } from '../lib/sso/keys.ts';
import { openResources } from '../bin/system.ts';
import { machine, percentile, pool, startBenchServices, startServiceProcess } from './bench-support.ts';

/** A browser's cookies for one site: by name and path, dropped when the server expires them. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  header(path: string): string {
    return [...this.cookies.values()]
      .filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: this.header(new URL(url).pathname) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attribute('path') ?? '/';
      const expires = attribute('expires');
      const gone = value === '' || attribute('max-age') === '0' || (expires !== undefined && new Date(expires).getTime() < Date.now());
      if (gone) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { name, value, path });
    }
    return res;
  }
}

const SIGNINS = Number(process.env.BENCH_SIGNINS ?? 300);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 2000);
const PAGES = Number(process.env.BENCH_PAGES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
// Sign-ins before the measured ones: a service at 8 a.m. has been running (V8 has compiled its hot code).
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 150);
/** Keycloak's sizing guide: CPU ms per operation on one vCPU (15 sign-ins/s, 120 refreshes/s). */
const KEYCLOAK_MS = { signin: 1000 / 15, refresh: 1000 / 120 } as const;
const SYSTEM = 'INFO';
const REDIRECT_URI = 'https://info.bench.invalid/callback';
const PASSWORD = 'bench-staff-password-1';

console.log(
  `bench:signin — measures the API process's own CPU time per operation (user + system of all its threads, ` +
    `from /proc/<pid>/stat; not PostgreSQL, Temporal or this load generator): little moved by other load on the machine, ` +
    `unlike the operations/s and latencies also shown. Machine: ${machine()}.`,
);

// Machines differ (the issue's measured one argon2id check at OWASP's m = 19 MiB, t = 2 in 7 ms; others
// here took 5 to 10 ms): the same check timed on this machine lets a figure be read on another.
const owaspHash = await hash(PASSWORD, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
const owaspCheckMs = await (async () => {
  for (let i = 0; i < 10; i++) await verify(owaspHash, PASSWORD);
  const before = process.cpuUsage();
  for (let i = 0; i < 50; i++) await verify(owaspHash, PASSWORD);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / 50;
})();

const services = await startBenchServices();
const dataDir = mkdtempSync(join(tmpdir(), 'sso-bench-signin-'));
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const env = {
  DATABASE_URL: services.databaseUrl,
  TEMPORAL_ADDRESS: services.temporalAddress,
  SMTP_URL: services.mail.url,
  DATA_DIR: dataDir,
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  SSO_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
  LOG_LEVEL: 'warn',
  // The bench's admin signs in with a password alone (a closed test); staff never need a second factor.
  ADMIN_MFA: 'off',
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_URL: origin,
  // The throttles would stop one load generator on one address long before the CPU does.
  LOGIN_RATE_LIMIT_PER_ADDRESS: '100000000',
  LOGIN_RATE_LIMIT_PER_USERNAME: '100000000',
};

// The schema, a central admin and the staff who sign in, written before the API starts.
const resources = await openResources(loadConfig(env));
const db = resources.database.db;
const passwordHash = await hashPassword(PASSWORD);
const adminId = randomUUID();
await db.insert(accounts).values({
  id: adminId,
  username: 'bench-admin',
  passwordHash,
  firstNameTh: 'ก',
  lastNameTh: 'ข',
  email: 'admin@bench.test',
  centralAdmin: true,
});

let api: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
try {
  api = await startServiceProcess('api', env, `${origin}/health/live`);
  const json = async (method: string, path: string, body: unknown, token?: string) => {
    const res = await fetch(`${origin}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, any>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const adminToken = (await json('POST', '/auth/login', { username: 'bench-admin', password: PASSWORD })).token as string;
  await json(
    'PUT',
    '/org-units',
    [
      { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'สถ.' },
      { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.' },
      { code: 'D4101', parentCode: 'P41', kind: 'district_office', nameTh: 'สถอ.' },
      { code: 'S410101', parentCode: 'D4101', kind: 'sao', nameTh: 'อบต.' },
    ],
    adminToken,
  );
  const system = await json(
    'PUT',
    `/systems/${SYSTEM}`,
    { nameTh: 'ระบบสารสนเทศ', nameEn: 'INFO', url: 'https://info.bench.invalid', roles: ['viewer'], oidc: { redirectUris: [REDIRECT_URI] } },
    adminToken,
  );
  const clientAuth = `Basic ${Buffer.from(`${encodeURIComponent(system.clientId)}:${encodeURIComponent(system.clientSecret)}`).toString('base64')}`;

  // One person per sign-in, each with a right to the system (one hash: verifying costs the same).
  const staff = Array.from({ length: WARM_UP + SIGNINS }, (_, i) => ({ id: randomUUID(), username: `staff${i}` }));
  for (let i = 0; i < staff.length; i += 500) {
    const batch = staff.slice(i, i + 500);
    await db.insert(accounts).values(
      batch.map((s) => ({
        id: s.id,
        username: s.username,
        passwordHash,
        firstNameTh: 'สมชาย',
        lastNameTh: 'ใจดี',
        email: `${s.username}@bench.test`,
        unitCode: 'S410101',
      })),
    );
    await db.insert(entitlements).values(batch.map((s) => ({ accountId: s.id, systemCode: SYSTEM, role: 'viewer', unitCode: 'S410101' })));
  }
  await resources.database.close();
  // Statements the service ran, from PostgreSQL's own count of committed transactions on this
  // database (each statement outside a transaction is one): exact, whatever the machine's load.
  const stats = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  const committed = async () => {
    await delay(1_100); // backends report their counts at most once a second
    const [row] = await stats`select xact_commit from pg_stat_database where datname = current_database()`;
    return Number(row!.xact_commit);
  };

  const signIns: { jar: CookieJar; refreshToken: string }[] = [];
  const warmUp = staff.slice(0, WARM_UP);
  await pool(warmUp, 8, async (s) => {
    const warm = await oidcSignIn(s.username);
    await tokenRequest({ grant_type: 'refresh_token', refresh_token: warm.refreshToken });
    await fetch(`${origin}/`, { headers: { cookie: warm.jar.header('/') }, redirect: 'manual' }).then((res) => res.text());
  });

  const rows: string[][] = [];
  async function phase<T>(name: string, items: T[], work: (item: T) => Promise<void>, keycloakMs?: number) {
    const times: number[] = [];
    const committedBefore = await committed();
    const cpuBefore = api!.cpuMs();
    const started = performance.now();
    await pool(items, CONCURRENCY, async (item) => {
      const t = performance.now();
      await work(item);
      times.push(performance.now() - t);
    });
    const seconds = (performance.now() - started) / 1000;
    const cpuPerOp = (api!.cpuMs() - cpuBefore) / items.length;
    const statementsPerOp = ((await committed()) - committedBefore - 1) / items.length;
    rows.push([
      name,
      String(items.length),
      (items.length / seconds).toFixed(1),
      percentile(times, 50).toFixed(0),
      percentile(times, 99).toFixed(0),
      cpuPerOp.toFixed(1),
      keycloakMs ? `${(keycloakMs / cpuPerOp).toFixed(2)}×` : '—',
      statementsPerOp.toFixed(1),
    ]);
  }

  await phase(
    'password sign-in (OIDC code + PKCE)',
    staff.slice(WARM_UP),
    async (s) => {
      signIns.push(await oidcSignIn(s.username));
    },
    KEYCLOAK_MS.signin,
  );
  await phase(
    'refresh-token grant',
    Array.from({ length: REFRESHES }, (_, i) => i % signIns.length),
    async (i) => {
      const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: signIns[i]!.refreshToken });
      if (tokens.refresh_token) signIns[i]!.refreshToken = tokens.refresh_token;
    },
    KEYCLOAK_MS.refresh,
  );
  await phase(
    'portal page with a session',
    Array.from({ length: PAGES }, (_, i) => i % signIns.length),
    async (i) => {
      const res = await fetch(`${origin}/`, { headers: { cookie: signIns[i]!.jar.header('/') }, redirect: 'manual' });
      const page = await res.text();
      if (res.status !== 200 || !page.includes(SYSTEM)) throw new Error(`portal: ${res.status}`);
    },
  );

  const header = ['phase', 'n', 'ops/s', 'p50 ms', 'p99 ms', 'API CPU ms/op', '× Keycloak per vCPU', 'DB transactions/op'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  console.log(
    `concurrency ${CONCURRENCY}; Keycloak: ${KEYCLOAK_MS.signin.toFixed(0)} ms per password sign-in, ${KEYCLOAK_MS.refresh.toFixed(1)} ms per refresh; ` +
      `"× Keycloak" is how many times fewer CPU ms per operation than Keycloak's (the aim: 4×). API peak RSS ${api.peakRssMb()} MB.`,
  );
  const signInMs = Number(rows[0]![5]);
  console.log(
    `One argon2id check at OWASP's minimum (m = 19 MiB, t = 2) costs ${owaspCheckMs.toFixed(1)} ms of CPU on this machine: ` +
      `a password sign-in costs ${(signInMs / owaspCheckMs).toFixed(2)} of them (on the issue's machine, where one cost 7 ms, ` +
      `the aim of 16 ms was ${(16 / 7).toFixed(2)}).`,
  );
  await stats.end();

  /** Token endpoint call as the connected system (client_secret_basic). */
  async function tokenRequest(form: Record<string, string>) {
    const res = await fetch(`${origin}/oidc/token`, {
      method: 'POST',
      headers: { authorization: clientAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    const body = (await res.json()) as Record<string, string>;
    if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  /** One person's sign-in to the system, from its redirect to the tokens, as a browser without scripts and the system's back end. */
  async function oidcSignIn(username: string) {
    const jar = new CookieJar();
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const authorize = new URL('/oidc/auth', origin);
    for (const [key, value] of Object.entries({
      client_id: system.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile roles offline_access',
      prompt: 'consent',
      state,
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }))
      authorize.searchParams.set(key, value);
    // The browser follows redirects until the sign-in form, posts it, and follows on to the system.
    let res = await jar.fetch(authorize.href);
    let location = res.headers.get('location');
    for (let hops = 0; location && !location.startsWith(REDIRECT_URI); hops++) {
      if (hops > 10) throw new Error('sign-in: too many redirects');
      res = await jar.fetch(new URL(location, origin).href);
      location = res.headers.get('location');
      if (!location && res.status === 200) {
        const page = await res.text();
        const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
        if (!action || !csrf) throw new Error(`sign-in page without its form: ${page.slice(0, 200)}`);
        res = await jar.fetch(new URL(action.replaceAll('&amp;', '&'), origin).href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrf, username, password: PASSWORD }),
        });
        location = res.headers.get('location');
      }
    }
    if (!location) throw new Error(`sign-in ended at ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const back = new URL(location);
    if (back.searchParams.get('state') !== state || !back.searchParams.get('code')) throw new Error(`sign-in came back without a code: ${location}`);
    const tokens = await tokenRequest({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    if (!tokens.id_token || !tokens.refresh_token) throw new Error(`token response without an ID or refresh token: ${Object.keys(tokens).join(', ')}`);
    return { jar, refreshToken: tokens.refresh_token };
  }
} finally {
  await api?.stop();
  await services.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
