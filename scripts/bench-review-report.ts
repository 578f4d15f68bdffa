// npm run bench:review-report — the console's side of a large access review campaign: the report of
// BENCH_ITEMS (200,000) items downloaded as CSV from the API (its own process, bin/api.ts), sampling
// the API's resident memory while the file streams, with the JSON report (built whole, as the
// contract's shape asks) beside it for contrast; and an LAO with BENCH_UNIT_ITEMS (10,000) items to
// review: the console's first and a later page of its items, and a page of 50 decisions at once.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { generateSigningKey } from '../lib/sso/keys.ts';
import { freePort } from '../lib/net.ts';
import { hashPassword } from '../lib/passwords.ts';
import { startBenchServices, startServiceProcess } from './bench-support.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 200_000);
const UNIT_ITEMS = Math.min(ITEMS, Number(process.env.BENCH_UNIT_ITEMS ?? 10_000));
const LAOS = 100;

const rssMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Math.round(Number(line?.replace(/\D/g, '') ?? 0) / 1024);
};

const services = await startBenchServices();
const port = await freePort();
const api = await startServiceProcess(
  'api',
  {
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
    SMTP_URL: services.mail.url,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SSO_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
  },
  `http://127.0.0.1:${port}/health/live`,
);
const base = `http://127.0.0.1:${port}`;
const client = postgres(services.databaseUrl, { max: 2, onnotice: () => {} });
const db = drizzle(client);

console.log(`bench:review-report — seeding a campaign of ${ITEMS} items (${UNIT_ITEMS} of them in one LAO) …`);
const seedStart = performance.now();
const passwordHash = await hashPassword('bench-password');
await db.execute(
  sql`insert into org_units (code, parent_code, kind, name_th) values ('DLA', null, 'dla', 'สถ.'), ('P0', 'DLA', 'province_office', 'สถจ.'), ('D0', 'P0', 'district_office', 'สถอ.')`,
);
await db.execute(
  sql`insert into org_units (code, parent_code, kind, name_th) select 'L' || g, 'D0', 'sao', 'อบต.' || g from generate_series(0, ${LAOS - 1}) g`,
);
await db.execute(sql`insert into systems (code, name_th, url, roles) values ('INFO', 'ระบบสารสนเทศ', 'https://info.example', '["viewer","editor"]')`);
const centralId = randomUUID();
const reviewerId = randomUUID();
await db.execute(sql`insert into accounts (id, username, password_hash, first_name_th, last_name_th, email, central_admin, unit_code) values
  (${centralId}, 'bench-central', ${passwordHash}, 'ส่วนกลาง', 'ก', 'central@bench.test', true, 'DLA'),
  (${reviewerId}, 'bench-reviewer', ${passwordHash}, 'ผู้ดูแล', 'L0', 'reviewer@bench.test', false, 'L0')`);
await db.execute(sql`insert into unit_admins (unit_code, account_id, source) values ('L0', ${reviewerId}, 'designation')`);
// Two rights a person: the first UNIT_ITEMS / 2 people in L0, the others spread over the other LAOs.
const people = Math.ceil(ITEMS / 2);
const inL0 = Math.ceil(UNIT_ITEMS / 2);
await db.execute(sql`insert into accounts (id, username, password_hash, first_name_th, last_name_th, email, position, unit_code)
  select gen_random_uuid(), 'staff-' || lpad(g::text, 7, '0'), 'x', 'ชื่อ' || g, 'สกุล', 'staff-' || g || '@bench.test', 'นักวิชาการ',
    case when g <= ${inL0} then 'L0' else 'L' || (1 + g % ${LAOS - 1}) end
  from generate_series(1, ${people}) g`);
await db.execute(sql`insert into entitlements (account_id, system_code, role, unit_code)
  select a.id, 'INFO', r.role, a.unit_code from accounts a cross join (values ('viewer'), ('editor')) r(role) where a.username like 'staff-%'`);
const reviewId = randomUUID();
await db.execute(sql`insert into access_reviews (id, kind, name, scope_unit_code, due_at, on_no_decision, created_by)
  values (${reviewId}, 'campaign', 'bench', 'P0', now() + interval '7 days', 'keep', ${`account:${centralId}`})`);
// Outside L0 a third are decided, some with a reason a spreadsheet would take for a formula.
await db.execute(sql`insert into access_review_items (review_id, entitlement_id, account_id, system_code, role, unit_code, reviewer_unit_code, decision, justification, decided_by, decided_at)
  select ${reviewId}, e.id, e.account_id, e.system_code, e.role, e.unit_code, e.unit_code,
    case when e.unit_code <> 'L0' and abs(hashtext(e.id::text)) % 3 = 0 then 'revoke' end,
    case when e.unit_code <> 'L0' and abs(hashtext(e.id::text)) % 3 = 0 then '=ย้ายงานแล้ว' end,
    case when e.unit_code <> 'L0' and abs(hashtext(e.id::text)) % 3 = 0 then ${centralId}::uuid end,
    case when e.unit_code <> 'L0' and abs(hashtext(e.id::text)) % 3 = 0 then now() end
  from entitlements e`);
await db.execute(sql`analyze`);
const [{ n } = { n: 0 }] = (await db.execute(sql`select count(*)::int as n from access_review_items where review_id = ${reviewId}`)) as unknown as {
  n: number;
}[];
console.log(`  seeded in ${((performance.now() - seedStart) / 1000).toFixed(0)} s: ${n} items`);

const token = (
  (await (
    await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench-central', password: 'bench-password' }),
    })
  ).json()) as { token: string }
).token;

/** A download read as it arrives, with the API's resident memory sampled every 50 ms meanwhile. */
async function measured(accept: string) {
  await delay(1000);
  const before = rssMb(api.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(api.pid))), 50);
  const start = performance.now();
  const res = await fetch(`${base}/api/v1/access-reviews/${reviewId}/report`, { headers: { authorization: `Bearer ${token}`, accept } });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(api.pid));
  return { status: res.status, seconds: (performance.now() - start) / 1000, mb: bytes / 1e6, lines, before, peak };
}

const csv = await measured('text/csv');
console.log(
  `  CSV report   ${csv.status}: ${csv.lines - 1} rows, ${csv.mb.toFixed(1)} MB in ${csv.seconds.toFixed(1)} s; API RSS ${csv.before} MB before, peak ${csv.peak} MB (+${csv.peak - csv.before} MB)`,
);
const again = await measured('text/csv');
console.log(
  `  CSV again    ${again.status}: ${again.lines - 1} rows in ${again.seconds.toFixed(1)} s; API RSS ${again.before} MB before, peak ${again.peak} MB (+${again.peak - again.before} MB)`,
);
const json = await measured('application/json');
console.log(
  `  JSON report  ${json.status}: ${json.mb.toFixed(1)} MB in ${json.seconds.toFixed(1)} s; API RSS ${json.before} MB before, peak ${json.peak} MB (+${json.peak - json.before} MB) — built whole, for contrast`,
);

// The LAO's reviewer in the console: signed in through the form, as a browser is.
const jar = new Map<string, string>();
const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const keep = (res: Response) => {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair!.indexOf('=');
    jar.set(pair!.slice(0, at), pair!.slice(at + 1));
  }
  return res;
};
const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const get = async (path: string) => keep(await fetch(base + path, { headers: { cookie: cookie() }, redirect: 'manual' }));
const post = async (path: string, form: Record<string, string>) =>
  keep(
    await fetch(base + path, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    }),
  );
const loginPage = await get('/login');
const signIn = await post('/login', { _csrf: csrfIn(await loginPage.text()), username: 'bench-reviewer', password: 'bench-password' });
if (signIn.status !== 303) throw new Error(`sign-in: ${signIn.status}`);
const timed = async (path: string) => {
  const start = performance.now();
  const res = await get(path);
  const html = await res.text();
  return { ms: performance.now() - start, status: res.status, kb: Buffer.byteLength(html) / 1024, html };
};
const first = await timed(`/admin/campaigns/${reviewId}/items`);
let page = first;
for (let i = 0; i < 20; i++) {
  // The pager's link, as Handlebars escapes it.
  const next = /href="([^"]*cursor[^"]*)"/
    .exec(page.html)?.[1]
    ?.replace(/&#x3D;/g, '=')
    .replace(/&amp;/g, '&');
  if (!next) break;
  page = await timed(next);
}
console.log(
  `  reviewer page (${UNIT_ITEMS} items in the LAO): first ${first.status} in ${first.ms.toFixed(0)} ms (${first.kb.toFixed(0)} KB); 21st ${page.status} in ${page.ms.toFixed(0)} ms`,
);
const ids = /name="items" value="([^"]*)"/.exec(first.html)?.[1] ?? '';
const decideStart = performance.now();
const decided = await post(`/admin/campaigns/${reviewId}/items`, { _csrf: csrfIn(first.html), items: ids, all: 'keep' });
console.log(
  `  keep all on a page: ${ids.split(',').length} decisions in one round trip, ${decided.status} in ${(performance.now() - decideStart).toFixed(0)} ms (${decided.headers.get('location')})`,
);

await client.end();
await api.stop();
await services.stop();
