// npm run bench:registration — registrations submitted and approved through HTTP, on real
// PostgreSQL (a throw-away database), a real Temporal dev server and a real SMTP server.
// Prints (1) the throughput of BENCH_N (400) requests, BENCH_CONCURRENCY (32) at a time, from
// submission to approval; (2) at a steady BENCH_RATE (20/s) for BENCH_SECONDS (15), p50/p99 from
// the decision call until the request reads `approved`; and the peak RSS of the service: API and
// worker in one process of their own (bin/start.ts on these services), not this load generator's
// nor the mail catcher's.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { accounts } from '../db/schema.ts';
import { loadConfig } from '../lib/config.ts';
import { hashPassword } from '../lib/passwords.ts';
import { freePort } from '../lib/net.ts';
import { openResources } from '../bin/system.ts';
import { PDF, randomCitizenId } from './support/fixtures.ts';
import { machine, peakRssMb, percentile, pool, startBenchServices, startServiceProcess } from './bench-support.ts';

const N = Number(process.env.BENCH_N ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const services = await startBenchServices();
const { databaseUrl, temporalAddress, mail } = services;
const dataDir = mkdtempSync(join(tmpdir(), 'sso-bench-'));
const port = await freePort();
const env = {
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporalAddress,
  SMTP_URL: mail.url,
  DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_URL: `http://127.0.0.1:${port}`,
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'warn',
  // The bench's admin signs in with a password alone (a closed test); staff never need a second factor.
  ADMIN_MFA: 'off',
  REGISTRATION_RATE_LIMIT_PER_ADDRESS: '1000000',
  LOGIN_RATE_LIMIT_PER_ADDRESS: '1000000',
};
// The schema and a central admin, written before the service starts (it would make its own first admin).
const resources = await openResources(loadConfig(env));
const adminPassword = 'bench-admin-password';
await resources.database.db.insert(accounts).values({
  id: randomUUID(),
  username: 'bench-admin',
  passwordHash: await hashPassword(adminPassword),
  firstNameTh: 'ก',
  lastNameTh: 'ข',
  email: 'admin@bench.test',
  centralAdmin: true,
});
await resources.database.close();
const service = await startServiceProcess('start', env, `http://127.0.0.1:${port}/health/live`);
const base = `http://127.0.0.1:${port}/api/v1`;
const json = async (method: string, path: string, body?: unknown, token?: string) => {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

// A small tree.
const signedIn = await json('POST', '/auth/login', { username: 'bench-admin', password: adminPassword });
if (signedIn.status !== 200) throw new Error(`sign-in: ${signedIn.status} ${JSON.stringify(signedIn.body)}`);
const token = signedIn.body.token as string;
const tree = await json(
  'PUT',
  '/org-units',
  [
    { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'สถ.' },
    { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.' },
    { code: 'D4101', parentCode: 'P41', kind: 'district_office', nameTh: 'สถอ.' },
    { code: 'S410101', parentCode: 'D4101', kind: 'sao', nameTh: 'อบต.' },
  ],
  token,
);
if (tree.status !== 200) throw new Error(`org units: ${tree.status} ${JSON.stringify(tree.body)}`);
await json('PUT', '/systems/INFO', { nameTh: 'INFO', url: 'https://info.example', roles: ['viewer'] }, token);

console.log(
  `bench:registration — measures wall-clock throughput and latency of registrations, and the peak RSS of the service's process (bin/start.ts: API + worker). Machine: ${machine()}.`,
);
/** Seconds a request may take from the decision to reading approved before it counts as timed out. */
const APPROVAL_TIMEOUT_MS = 120_000;
let timedOut = 0;
/** Decisions answered 503: the worker did not take the Update within its deadline (more came than the machine approves). */
let refused = 0;

/** Submits one request and approves it; returns ms from the decision call until it reads approved. */
async function registerAndApprove(i: number): Promise<number> {
  const form = new FormData();
  form.append(
    'data',
    JSON.stringify({
      citizenId: randomCitizenId(),
      firstNameTh: 'ทดสอบ',
      lastNameTh: `คนที่ ${i}`,
      email: `bench${i}@lao.test`,
      position: 'นักวิชาการ',
      unitCode: 'S410101',
      username: `bench-${i}-${randomBytes(3).toString('hex')}`,
      password: 'bench-password-1',
      requestedAccess: [{ system: 'INFO', role: 'viewer' }],
    }),
  );
  form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'e.pdf');
  const submitted = await fetch(`${base}/registrations`, { method: 'POST', body: form });
  if (submitted.status !== 202) throw new Error(`submit: ${submitted.status} ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  const t0 = performance.now();
  const decided = await json('POST', `/registrations/${id}/decision`, { decision: 'approve' }, token);
  if (decided.status === 503) {
    refused++;
    return NaN;
  }
  if (decided.status !== 200) throw new Error(`decide: ${decided.status} ${JSON.stringify(decided.body)}`);
  while (performance.now() - t0 < APPROVAL_TIMEOUT_MS) {
    const read = await json('GET', `/registrations/${id}`, undefined, token);
    if (read.body.status === 'approved') return performance.now() - t0;
    await delay(5);
  }
  timedOut++;
  return NaN;
}

// 1. Throughput: N requests, CONCURRENCY at a time, as fast as the machine goes.
let started = performance.now();
await pool(
  Array.from({ length: N }, (_, i) => i),
  CONCURRENCY,
  async (i) => {
    await registerAndApprove(i);
  },
);
const seconds = (performance.now() - started) / 1000;
const refusedFirst = refused;
console.log(
  `  throughput          ${((N - refusedFirst) / seconds).toFixed(1)} registrations/s submitted and approved end to end (${N - refusedFirst} in ${seconds.toFixed(1)} s, ${CONCURRENCY} at a time${refusedFirst ? `; ${refusedFirst} decisions REFUSED with 503` : ''})`,
);

// Let the first phase's mail drain, so that the second measures its own load only.
await mail.waitFor((m) => m.subject.includes('approved'), N - refusedFirst, 120_000).catch(() => {});

// 2. Latency at a steady RATE: a new request every 1/RATE s, each approved as soon as it is accepted.
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const latencies: number[] = [];
const runs: Promise<void>[] = [];
started = performance.now();
for (let i = 0; i < RATE * SECONDS; i++) {
  const due = started + (i * 1000) / RATE;
  await delay(Math.max(0, due - performance.now()));
  runs.push(
    registerAndApprove(N + i).then((ms) => {
      if (!Number.isNaN(ms)) latencies.push(ms);
    }),
  );
}
await Promise.all(runs);
const sustained = (RATE * SECONDS - (refused - refusedFirst)) / ((performance.now() - started) / 1000);
console.log(
  `  at ${RATE}/s for ${SECONDS} s     ${sustained.toFixed(1)} registrations/s completed; decision → approved p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`,
);
if (timedOut)
  console.log(`  TIMED OUT           ${timedOut} requests not approved ${APPROVAL_TIMEOUT_MS / 1000} s after the decision (not in the figures above)`);
if (refused)
  console.log(
    `  REFUSED             ${refused} decisions answered 503: the worker did not take them within the Update's deadline, more arriving than this machine approves (not in the figures above; nothing was decided)`,
  );

const total = N + RATE * SECONDS - refused;
await mail.waitFor((m) => m.subject.includes('approved'), total, 120_000).catch(() => {});
console.log(`  approval mails      ${mail.mails.filter((m) => m.subject.includes('approved')).length} of ${total} received`);
console.log(`  peak RSS            service process (API + worker) ${service.peakRssMb()} MB, Temporal dev server ${peakRssMb(services.temporalPid)} MB`);

await service.stop();
await services.stop();
rmSync(dataDir, { recursive: true, force: true });
