// More than one of each, as a DLA that outgrows one machine runs it: two APIs (bin/api.ts) and two
// workers (bin/worker.ts) started at the same moment on one PostgreSQL database and one Temporal.
// Start-up's chores (migrations, the first admin, the schedules) happen once; requests submitted to
// one API and decided at the other, and HR events delivered to both, each make one account, one
// audit event and one mail, although a worker is SIGKILLed in the middle.
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient } from '../../lib/temporal.ts';
import { freePort } from '../../lib/net.ts';
import { generateSigningKey } from '../../lib/sso/keys.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startBenchServices, startServiceProcess, type BenchServices } from '../../scripts/bench-support.ts';

const SECRET = 'replicas-hr-secret';
const REQUESTS = 12;
const LEAVERS = 12;
type Service = Awaited<ReturnType<typeof startServiceProcess>>;

let services: BenchServices;
let dataDir: string;
let sql: postgres.Sql;
const apis: { url: string; process: Service }[] = [];
const workers: Service[] = [];

async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: FormData | string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.body });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  services = await startBenchServices();
  sql = postgres(services.databaseUrl, { max: 2, onnotice: () => {} });
  dataDir = mkdtempSync(join(tmpdir(), 'sso-replicas-')); // the evidence store every process shares
  const shared = {
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
    SMTP_URL: services.mail.url,
    DATA_DIR: dataDir,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SSO_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    HR_FEED_SECRET: SECRET,
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password-1',
    PUBLIC_URL: 'http://127.0.0.1',
    ADMIN_MFA: 'off',
    LOG_LEVEL: 'warn',
  };
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // All four at once: migrations, the first admin and the schedules race as they would in a deployment.
  const started = await Promise.all([
    ...ports
      .slice(0, 2)
      .map((port) => startServiceProcess('api', { ...shared, PORT: String(port), HOST: '127.0.0.1' }, `http://127.0.0.1:${port}/health/ready`)),
    ...ports.slice(2).map((port) => startServiceProcess('worker', { ...shared, WORKER_HTTP_PORT: String(port) }, `http://127.0.0.1:${port}/health/ready`)),
  ]);
  apis.push({ url: `http://127.0.0.1:${ports[0]}`, process: started[0]! }, { url: `http://127.0.0.1:${ports[1]}`, process: started[1]! });
  workers.push(started[2]!, started[3]!);
}, 240_000);

afterAll(async () => {
  await Promise.all([...apis.map((a) => a.process.stop()), ...workers.map((w) => w.stop())]);
  await sql?.end();
  await services?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('does start-up once, and every request and HR event once, across two APIs and two workers', async () => {
  // Start-up, once: every migration recorded once, one first admin, one of each schedule.
  const migrations = readdirSync(join(import.meta.dirname, '..', '..', 'db', 'migrations')).filter((f) => f.endsWith('.sql'));
  const [{ n: applied } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
  expect(applied).toBe(migrations.length);
  const admins = await sql<{ id: string }[]>`select id from accounts where username = 'admin'`;
  expect(admins).toHaveLength(1);
  const [{ n: bootstrapAudits } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from audit_events where key = 'account:bootstrap-admin'`;
  expect(bootstrapAudits).toBe(1);
  const client = await connectClient(services.temporalAddress, 'default');
  const schedules: string[] = [];
  for await (const s of client.schedule.list()) schedules.push(s.scheduleId);
  await client.connection.close();
  expect(schedules.length).toBeGreaterThan(0);
  expect(new Set(schedules).size).toBe(schedules.length);

  const [a, b] = [apis[0]!.url, apis[1]!.url];
  const admin = (await call(a, 'POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'bootstrap-password-1' } })).body.token as string;
  const units = [
    { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
    { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.อุดรธานี' },
    { code: 'S410101', parentCode: 'P41', kind: 'sao', nameTh: 'อบต.หนองนาคำ' },
  ];
  expect((await call(b, 'PUT', '/api/v1/org-units', { token: admin, json: units })).status).toBe(200);

  // Requests: each submitted to one API and approved at the other.
  const applicants = Array.from({ length: REQUESTS }, () => ({ username: uniqueName('applicant'), citizenId: randomCitizenId() }));
  const submitted = await Promise.all(
    applicants.map(async (p, i) => {
      const form = new FormData();
      const data = { ...p, firstNameTh: 'สมหญิง', lastNameTh: 'รักงาน', email: `${p.username}@lao.test`, position: 'นักวิชาการ', unitCode: 'S410101' };
      form.append('data', JSON.stringify({ ...data, password: 'applicant-password-1', requestedAccess: [] }));
      form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'evidence.pdf');
      const res = await call(i % 2 ? b : a, 'POST', '/api/v1/registrations', { body: form });
      expect(res.status).toBe(202);
      return res.body.id as string;
    }),
  );
  const decisions = await Promise.all(
    submitted.map((id, i) => call(i % 2 ? a : b, 'POST', `/api/v1/registrations/${id}/decision`, { token: admin, json: { decision: 'approve' } })),
  );
  expect(decisions.map((d) => d.status)).toEqual(submitted.map(() => 200));

  // HR: the same leavers delivered to both APIs at once, while one worker is killed mid-burst.
  const leavers = applicants.slice(0, LEAVERS);
  const body = JSON.stringify({
    events: leavers.map((p, i) => ({ eventId: `replicas-${i}`, type: 'retirement', citizenId: p.citizenId, effectiveDate: '2026-01-01' })),
  });
  const signed = () => {
    const ts = String(Math.floor(Date.now() / 1000));
    return {
      'content-type': 'application/json',
      'x-hr-timestamp': ts,
      'x-hr-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`,
    };
  };
  const delivered = await Promise.all([a, b].map((api) => call(api, 'POST', '/api/v1/personnel-events', { body, headers: signed() })));
  expect(delivered.map((d) => d.status)).toEqual([202, 202]);
  await new Promise((r) => setTimeout(r, 300));
  await workers[0]!.kill();

  const usernames = applicants.map((p) => p.username);
  const suspended = async () =>
    (await sql<{ n: number }[]>`select count(*)::int as n from accounts where username = any(${usernames}) and status = 'suspended'`)[0]!.n;
  await expect.poll(suspended, { timeout: 90_000, interval: 250 }).toBe(LEAVERS);

  // Once each: one account per applicant, one audit event per step, one mail per Message-ID.
  const accounts = await sql<{ username: string; id: string }[]>`select username, id from accounts where username = any(${usernames})`;
  expect(accounts.map((r) => r.username).sort()).toEqual([...usernames].sort());
  const ids = accounts.map((r) => r.id);
  const audits = await sql<{ action: string; n: number }[]>`
    select action, count(*)::int as n from audit_events where subject_id = any(${ids}) group by action, subject_id`;
  const byAction = (action: string) => audits.filter((r) => r.action === action);
  expect(byAction('account.created')).toHaveLength(REQUESTS);
  expect(byAction('account.created').every((r) => r.n === 1)).toBe(true);
  expect(byAction('personnel.retirement')).toHaveLength(LEAVERS);
  expect(byAction('personnel.retirement').every((r) => r.n === 1)).toBe(true);

  const mails = services.mail;
  await mails.waitFor((m) => usernames.some((u) => m.to === `${u}@lao.test`) && /approved/i.test(m.subject), REQUESTS, 60_000);
  await new Promise((r) => setTimeout(r, 2000)); // a duplicate, if any, would arrive meanwhile
  const mine = mails.mails.filter((m) => usernames.some((u) => m.to === `${u}@lao.test`));
  const perMessageId = new Map<string, number>();
  for (const m of mine) perMessageId.set(m.messageId ?? 'none', (perMessageId.get(m.messageId ?? 'none') ?? 0) + 1);
  expect(perMessageId.has('none')).toBe(false);
  // SMTP cannot be exactly once across a SIGKILL: every send the kill cut off before it was recorded goes again (the
  // pool may hold several), with the same Message-ID, which receivers drop. A step done twice would make a second one.
  const repeated = [...perMessageId.values()].filter((n) => n > 1).length;
  console.log(`replicas: ${mine.length} deliveries, ${perMessageId.size} Message-IDs, ${repeated} delivered again after the kill`);
  const approvals = mine.filter((m) => /approved/i.test(m.subject));
  expect(new Set(approvals.map((m) => m.messageId)).size).toBe(REQUESTS);
  for (const username of usernames) {
    const theirs = new Set(mine.filter((m) => m.to === `${username}@lao.test`).map((m) => `${m.subject}|${m.messageId}`));
    const subjects = [...theirs].map((k) => k.slice(0, k.lastIndexOf('|')));
    expect(new Set(subjects).size, `${username}: one Message-ID per mail`).toBe(subjects.length);
  }
}, 300_000);
