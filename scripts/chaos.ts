// npm run chaos — the service under a steady load of registrations, decisions and HR events while
// its dependencies fail in turn: PostgreSQL stopped for 30 s (a cluster of its own, made with this
// machine's initdb, never the shared one), the Temporal dev server SIGKILLed and restarted on the
// same state, the SMTP relay refusing for 2 minutes, the worker SIGKILLed, the API SIGKILLed.
// Afterwards it checks, and prints with its figures: nothing accepted was lost, nothing was done
// twice, timers fired late by at most the outage, and while a dependency was down the API answered
// 503 with Retry-After — never 500, never a hang past 10 s. Exit code 1 when a check fails.
//
// CHAOS_SMTP_OUTAGE (default 120s), CHAOS_PG_OUTAGE (30s) shorten a trial run.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { loadConfig, parseDuration } from '../lib/config.ts';
import { freePort } from '../lib/net.ts';
import { generateSigningKey } from '../lib/sso/keys.ts';
import { startEmbeddedTemporal } from '../bin/system.ts';
import type { DevServer } from '../lib/temporal.ts';
import { machine, percentile, startServiceProcess } from './bench-support.ts';
import { PDF, randomCitizenId, uniqueName } from './support/fixtures.ts';
import { startMailCatcher } from './support/mail-catcher.ts';

const PG_OUTAGE_MS = parseDuration(process.env.CHAOS_PG_OUTAGE ?? '30s');
const SMTP_OUTAGE_MS = parseDuration(process.env.CHAOS_SMTP_OUTAGE ?? '120s');
const ESCALATE_AFTER_MS = 40_000;
const HANG_MS = 10_000;
const SECRET = 'chaos-hr-secret';

console.log(`chaos: registrations, decisions and HR events under failing dependencies; ${machine()}`);

// ---- PostgreSQL: a cluster of our own -------------------------------------------------------
const pgBin = (tool: string) => {
  const found = spawnSync('sh', ['-c', `ls -d /usr/lib/postgresql/*/bin/${tool} 2>/dev/null | sort -V | tail -1`], { encoding: 'utf8' }).stdout.trim();
  return found || tool;
};
const asRoot = process.getuid?.() === 0;
// initdb and postgres refuse to run as root: there they run as the machine's postgres user.
const runPg = (tool: string, args: string[]) =>
  execFileSync(asRoot ? 'runuser' : pgBin(tool), asRoot ? ['-u', 'postgres', '--', pgBin(tool), ...args] : args, { stdio: 'pipe' });
const pgDir = mkdtempSync(join(tmpdir(), 'sso-chaos-pg-'));
if (asRoot) chownSync(pgDir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
chmodSync(pgDir, 0o700);
const pgPort = await freePort();
runPg('initdb', ['-D', join(pgDir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
const pgStart = () =>
  runPg('pg_ctl', [
    '-D',
    join(pgDir, 'data'),
    '-l',
    join(pgDir, 'log'),
    '-w',
    '-o',
    `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
const pgStop = () => runPg('pg_ctl', ['-D', join(pgDir, 'data'), '-m', 'immediate', '-w', 'stop']);
pgStart();
// Whatever happens, the cluster and the dev server do not outlive the script.
process.once('exit', () => {
  try {
    pgStop();
  } catch {
    // stopped already
  }
  try {
    process.kill(temporal.pid, 'SIGKILL');
  } catch {
    // gone already
  }
});
const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;

// ---- Temporal, SMTP, the service ----------------------------------------------------------------
const temporalDir = mkdtempSync(join(tmpdir(), 'sso-chaos-temporal-'));
const temporalPort = await freePort();
const startTemporal = () => startEmbeddedTemporal(loadConfig({}), { dbFile: join(temporalDir, 'temporal.db'), port: temporalPort, uiPort: null, quiet: true });
let temporal: DevServer = await startTemporal();
const mail = await startMailCatcher();
const dataDir = mkdtempSync(join(tmpdir(), 'sso-chaos-data-'));
mkdirSync(dataDir, { recursive: true });
const apiPort = await freePort();
const workerPort = await freePort();
const api = `http://127.0.0.1:${apiPort}`;
const env = {
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporal.address,
  SMTP_URL: mail.url,
  DATA_DIR: dataDir,
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  SSO_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
  HR_FEED_SECRET: SECRET,
  BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password-1',
  PUBLIC_URL: api,
  ADMIN_MFA: 'off',
  LOG_LEVEL: 'error',
  REGISTRATION_REMIND_AFTER: '1h',
  REGISTRATION_ESCALATE_AFTER: `${ESCALATE_AFTER_MS / 1000}s`,
  LOGIN_RATE_LIMIT_PER_ADDRESS: '10000',
  REGISTRATION_RATE_LIMIT_PER_ADDRESS: '10000',
};
const startApi = () => startServiceProcess('api', { ...env, PORT: String(apiPort), HOST: '127.0.0.1' }, `${api}/health/ready`);
const startWorker = () => startServiceProcess('worker', { ...env, WORKER_HTTP_PORT: String(workerPort) }, `http://127.0.0.1:${workerPort}/health/ready`);
let [apiProcess, workerProcess] = await Promise.all([startApi(), startWorker()]);

// ---- what every call saw, by phase ---------------------------------------------------------------
let phase = 'steady';
interface Seen {
  phase: string;
  op: string;
  status: number | 'refused' | 'hang';
  ms: number;
  retryAfter: boolean;
}
const seen: Seen[] = [];
async function call(
  op: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: FormData | string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const at = phase;
  try {
    const res = await fetch(api + path, {
      method,
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
      signal: AbortSignal.timeout(HANG_MS),
    });
    const body = (await res.json().catch(() => undefined)) as any;
    seen.push({ phase: at, op, status: res.status, ms: performance.now() - started, retryAfter: res.headers.has('retry-after') });
    return { status: res.status, body };
  } catch (error) {
    const status = (error as Error).name === 'TimeoutError' ? 'hang' : 'refused';
    seen.push({ phase: at, op, status, ms: performance.now() - started, retryAfter: false });
    return { status, body: undefined };
  }
}

/** Signs in again until the API answers (it may be down when the load starts a round). */
let token = '';
async function signIn() {
  for (;;) {
    const res = await call('sign-in', 'POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'bootstrap-password-1' } });
    if (res.status === 200) return (token = res.body.token as string);
    await delay(1000);
  }
}
await signIn();
const units = [
  { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
  { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.อุดรธานี' },
  { code: 'D4101', parentCode: 'P41', kind: 'district_office', nameTh: 'สถอ.เมืองอุดรธานี' },
  { code: 'S410101', parentCode: 'D4101', kind: 'sao', nameTh: 'อบต.หนองนาคำ' },
];
await call('setup', 'PUT', '/api/v1/org-units', { token, json: units });
for (const unit of ['S410101', 'D4101']) {
  const username = uniqueName('admin');
  const created = await call('setup', 'POST', '/api/v1/accounts', {
    token,
    json: {
      username,
      password: 'unit-admin-password',
      citizenId: randomCitizenId(),
      firstNameTh: 'ผู้ดูแล',
      lastNameTh: unit,
      email: `${username}@lao.test`,
      unitCode: unit,
    },
  });
  await call('setup', 'PUT', `/api/v1/org-units/${unit}/admins`, { token, json: [{ accountId: created.body.id }] });
}

// ---- the steady load -------------------------------------------------------------------------------
interface Applicant {
  username: string;
  citizenId: string;
  id?: string;
  submittedAt?: number;
  /** Left for its timer: it must escalate to the district. */
  waits: boolean;
  approved?: boolean;
  retired?: boolean;
}
const applicants: Applicant[] = [];
let running = true;
let hrBatches = 0;

async function submitLoop() {
  let n = 0;
  while (running) {
    const p: Applicant = { username: uniqueName('applicant'), citizenId: randomCitizenId(), waits: n++ % 4 === 0 };
    const form = new FormData();
    form.append(
      'data',
      JSON.stringify({
        citizenId: p.citizenId,
        firstNameTh: 'สมหญิง',
        lastNameTh: 'รักงาน',
        email: `${p.username}@lao.test`,
        position: 'นักวิชาการ',
        unitCode: 'S410101',
        username: p.username,
        password: 'applicant-password-1',
        requestedAccess: [],
      }),
    );
    form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'evidence.pdf');
    const res = await call('submit', 'POST', '/api/v1/registrations', { body: form });
    if (res.status === 202) applicants.push({ ...p, id: res.body.id as string, submittedAt: Date.now() });
    await delay(700);
  }
}

async function decideLoop() {
  while (running || applicants.some((p) => !p.waits && !p.approved)) {
    const next = applicants.find((p) => !p.waits && !p.approved);
    if (!next) {
      await delay(300);
      continue;
    }
    const res = await call('decide', 'POST', `/api/v1/registrations/${next.id}/decision`, { token, json: { decision: 'approve' } });
    if (res.status === 200 || res.status === 409)
      next.approved = true; // 409: decided by an earlier try whose answer was lost
    else if (res.status === 401) await signIn();
    else await delay(1000);
  }
}

async function hrLoop() {
  // Every approved applicant retires, also those approved after the load stopped.
  while (running || applicants.some((p) => !p.waits && !p.retired)) {
    const batch = applicants.filter((p) => p.approved && !p.retired).slice(0, 3);
    if (batch.length > 0) {
      const body = JSON.stringify({
        events: batch.map((p) => ({ eventId: `chaos-${p.username}`, type: 'retirement', citizenId: p.citizenId, effectiveDate: '2026-01-01' })),
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
      const res = await call('hr-feed', 'POST', '/api/v1/personnel-events', {
        body,
        headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': signature },
      });
      if (res.status === 202) {
        for (const p of batch) p.retired = true;
        hrBatches++;
      }
    }
    await delay(2000);
  }
}

const load = Promise.all([submitLoop(), decideLoop(), hrLoop()]);

// ---- the faults, in turn -----------------------------------------------------------------------------
const outages: { name: string; from: number; to: number }[] = [];
async function outage(name: string, down: () => unknown, up: () => unknown, forMs: number) {
  phase = name;
  const from = Date.now();
  console.log(`  ${new Date().toISOString().slice(11, 19)} ${name}`);
  await down();
  await delay(forMs);
  await up();
  outages.push({ name, from, to: Date.now() });
  phase = `after ${name}`;
  await delay(20_000);
}

await delay(20_000);
await outage('PostgreSQL stopped', pgStop, pgStart, PG_OUTAGE_MS);
await outage(
  'Temporal SIGKILLed',
  () => process.kill(temporal.pid, 'SIGKILL'),
  async () => {
    temporal = await startTemporal();
  },
  5000,
);
await outage(
  'SMTP refusing',
  () => {
    mail.refusing = true;
  },
  () => {
    mail.refusing = false;
  },
  SMTP_OUTAGE_MS,
);
await outage(
  'worker SIGKILLed',
  () => workerProcess.kill(),
  async () => {
    workerProcess = await startWorker();
  },
  3000,
);
await outage(
  'API SIGKILLed',
  () => apiProcess.kill(),
  async () => {
    apiProcess = await startApi();
  },
  3000,
);
phase = 'drain';
running = false;
console.log(`  ${new Date().toISOString().slice(11, 19)} load stopped; waiting for every accepted request to reach its end`);
await load;

// ---- afterwards: nothing lost, nothing twice ---------------------------------------------------------
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const problems: string[] = [];
const usernames = applicants.map((p) => p.username);
const decided = applicants.filter((p) => p.approved);
const waiting = applicants.filter((p) => p.waits);
const deadline = Date.now() + 5 * 60_000;
const suspendedCount = async () =>
  (await sql<{ n: number }[]>`select count(*)::int as n from accounts where username = any(${usernames}) and status = 'suspended'`)[0]!.n;
const escalatedCount = async () =>
  (
    await sql<{ n: number }[]>`select count(distinct registration_id)::int as n from registration_events
      where registration_id = any(${waiting.map((p) => p.id!)}) and event = 'escalated'`
  )[0]!.n;
while (Date.now() < deadline && ((await suspendedCount()) < decided.length || (await escalatedCount()) < waiting.length)) await delay(1000);

const accounts = await sql<{ username: string; id: string; status: string }[]>`select username, id, status from accounts where username = any(${usernames})`;
if (accounts.length !== decided.length) problems.push(`${decided.length} approved, ${accounts.length} accounts`);
if (new Set(accounts.map((a) => a.username)).size !== accounts.length) problems.push('an applicant has two accounts');
const notSuspended = accounts.filter((a) => a.status !== 'suspended').length;
if (notSuspended > 0) problems.push(`${notSuspended} retirements accepted but not applied`);
const audits = await sql<{ action: string; n: number }[]>`select action, count(*)::int as n from audit_events
  where subject_id = any(${accounts.map((a) => a.id)}) and action in ('account.created', 'personnel.retirement') group by action, subject_id`;
const twice = audits.filter((a) => a.n > 1);
if (twice.length > 0) problems.push(`${twice.length} audit events written twice`);
for (const action of ['account.created', 'personnel.retirement']) {
  const n = audits.filter((a) => a.action === action).length;
  if (n !== accounts.length) problems.push(`${action}: ${n} of ${accounts.length} audited`);
}
const escalations = await sql<{ id: string; at: Date }[]>`select registration_id as id, min(at) as at from registration_events
  where registration_id = any(${waiting.map((p) => p.id!)}) and event = 'escalated' group by registration_id`;
if (escalations.length !== waiting.length) problems.push(`${waiting.length - escalations.length} waiting requests never escalated`);
const lateness = escalations.map((e) => {
  const p = waiting.find((w) => w.id === e.id)!;
  const due = p.submittedAt! + ESCALATE_AFTER_MS;
  const late = new Date(e.at).getTime() - due;
  // An outage overlapping the wait may hold the timer back by its own length, and no more (plus a margin for a loaded machine).
  const allowed = outages.filter((o) => o.from < new Date(e.at).getTime() && o.to > p.submittedAt!).reduce((sum, o) => sum + (o.to - o.from), 0) + 15_000;
  if (late > allowed) problems.push(`request ${e.id} escalated ${Math.round(late / 1000)} s late (its outages allow ${Math.round(allowed / 1000)} s)`);
  return late;
});

await delay(3000); // a repeated delivery, if any, arrives meanwhile
const mine = mail.mails.filter((m) => usernames.some((u) => m.to === `${u}@lao.test`));
const perMessageId = new Map<string, number>();
for (const m of mine) perMessageId.set(m.messageId ?? '', (perMessageId.get(m.messageId ?? '') ?? 0) + 1);
const repeatedDeliveries = [...perMessageId.values()].filter((n) => n > 1).length;
const approvedMails = new Set(mine.filter((m) => /approved/i.test(m.subject)).map((m) => m.messageId)).size;
if (approvedMails !== decided.length) problems.push(`${approvedMails} approval mails for ${decided.length} approvals`);

// While a dependency was down: 503 with Retry-After, or success; never 500, never a hang.
const answers = seen.filter((s) => s.op !== 'setup');
const errors = answers.filter((s) => typeof s.status === 'number' && s.status >= 500 && s.status !== 503);
if (errors.length > 0)
  problems.push(`${errors.length} answers 5xx other than 503: ${[...new Set(errors.map((e) => `${e.op} ${e.status} (${e.phase})`))].join(', ')}`);
const hangs = answers.filter((s) => s.status === 'hang');
if (hangs.length > 0)
  problems.push(`${hangs.length} calls hung past ${HANG_MS / 1000} s: ${[...new Set(hangs.map((e) => `${e.op} (${e.phase})`))].join(', ')}`);
const without = answers.filter((s) => s.status === 503 && !s.retryAfter);
if (without.length > 0) problems.push(`${without.length} 503 answers without Retry-After`);

// ---- the figures -------------------------------------------------------------------------------------------
console.log(
  `load: ${applicants.length} requests accepted (${decided.length} approved, ${waiting.length} left for their escalation timer), ${hrBatches} HR batches, ${answers.length} calls`,
);
console.log('answers by phase (status: count; p99 latency):');
for (const name of [...new Set(answers.map((s) => s.phase))]) {
  const rows = answers.filter((s) => s.phase === name);
  const statuses = new Map<string, number>();
  for (const r of rows) statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
  const latencies = rows.filter((r) => typeof r.status === 'number').map((r) => r.ms);
  console.log(
    `  ${name.padEnd(26)} ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}; p99 ${Math.round(percentile(latencies, 99))} ms, max ${Math.round(Math.max(0, ...latencies))} ms`,
  );
}
console.log(`outages: ${outages.map((o) => `${o.name} ${Math.round((o.to - o.from) / 1000)} s`).join('; ')}`);
console.log(
  `timers: ${escalations.length}/${waiting.length} escalated; lateness p50 ${Math.round(percentile(lateness, 50) / 1000)} s, max ${Math.round(Math.max(0, ...lateness) / 1000)} s`,
);
console.log(
  `once: ${accounts.length} accounts for ${decided.length} approvals, ${audits.length} audit events (${twice.length} twice), ${perMessageId.size} Message-IDs, ${repeatedDeliveries} delivered more than once (SMTP cannot be exactly once across a crash)`,
);
console.log(problems.length === 0 ? 'chaos: every check holds' : `chaos: ${problems.length} checks failed:\n  ${problems.join('\n  ')}`);

await sql.end();
await Promise.all([apiProcess.stop(), workerProcess.stop()]);
await temporal.stop();
await mail.close();
pgStop();
rmSync(pgDir, { recursive: true, force: true });
rmSync(temporalDir, { recursive: true, force: true });
rmSync(dataDir, { recursive: true, force: true });
process.exit(problems.length === 0 ? 0 : 1);
