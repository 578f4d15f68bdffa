// The README's run command on its embedded defaults (PGlite, a Temporal dev server persisted in
// DATA_DIR): stopped while a request waits, started again, the request goes on and its timers fire.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { embeddedDatabaseDir } from '../../db/client.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { freePort } from '../../lib/net.ts';
import { startMailCatcher, type MailCatcher } from '../../scripts/support/mail-catcher.ts';
import { callService, launchService, startService, type ServiceProcess } from '../support/service-process.ts';

let dataDir: string;
let mail: MailCatcher;
let env: Record<string, string>;
let baseUrl: string;
let running: ServiceProcess | undefined;
const start = async () => (running = await startService(env));
const call = (method: string, path: string, options?: Parameters<typeof callService>[3]) => callService(baseUrl, method, path, options);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sso-restart-'));
  mail = await startMailCatcher();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SMTP_URL: mail.url,
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password-1',
    // A restart is what is tested here, not the admins' second factor (mfa.test.ts).
    ADMIN_MFA: 'off',
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_DEV_UI_PORT: String(await freePort()),
    REGISTRATION_REMIND_AFTER: '1h',
    REGISTRATION_ESCALATE_AFTER: '6s',
    REGISTRATION_EXPIRE_AFTER: '1h',
    LOG_LEVEL: 'warn',
  };
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'ENCRYPTION_KEY']) delete process.env[key];
});

afterAll(async () => {
  await running?.stop();
  await mail?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('keeps a waiting request across a restart; its escalation fires afterwards', async () => {
  const service = await start();
  expect(service.output()).toContain('First admin    username "admin", password from BOOTSTRAP_ADMIN_PASSWORD');
  expect(service.output()).toContain(join(dataDir, 'pglite'));
  const login = await call('POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'bootstrap-password-1' } });
  expect(login.status).toBe(200);
  expect(login.body.account.roles).toContain('central_admin');
  const admin = login.body.token as string;

  const units = [
    { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
    { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.อุดรธานี' },
    { code: 'D4101', parentCode: 'P41', kind: 'district_office', nameTh: 'สถอ.เมืองอุดรธานี' },
    { code: 'S410101', parentCode: 'D4101', kind: 'sao', nameTh: 'อบต.หนองนาคำ' },
  ];
  expect((await call('PUT', '/api/v1/org-units', { token: admin, json: units })).body).toEqual({ upserted: 4 });
  const people: Record<string, { id: string; username: string; email: string }> = {};
  for (const unit of ['S410101', 'D4101']) {
    const username = uniqueName('admin');
    const created = await call('POST', '/api/v1/accounts', {
      token: admin,
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
    expect(created.status).toBe(201);
    people[unit] = { id: created.body.id, username, email: `${username}@lao.test` };
    expect((await call('PUT', `/api/v1/org-units/${unit}/admins`, { token: admin, json: [{ accountId: created.body.id }] })).status).toBe(200);
  }

  const form = new FormData();
  form.append(
    'data',
    JSON.stringify({
      citizenId: randomCitizenId(),
      firstNameTh: 'สมหญิง',
      lastNameTh: 'รักงาน',
      email: 'applicant@lao.test',
      position: 'นักวิชาการ',
      unitCode: 'S410101',
      username: uniqueName('applicant'),
      password: 'applicant-password',
      requestedAccess: [],
    }),
  );
  form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'evidence.pdf');
  const submitted = await call('POST', '/api/v1/registrations', { body: form });
  expect(submitted.status).toBe(202);
  const submittedAt = Date.now();
  await mail.waitFor((m) => m.to === 'applicant@lao.test');

  // Stop it while the request waits; SIGTERM also stops the dev server it started.
  expect(await service.stop()).toBe(0);
  expect(readdirSync(join(dataDir, 'temporal'))).toContain('temporal.db');
  expect(mail.mails.some((m) => m.subject.includes('escalated'))).toBe(false);
  // Down past the escalation time: nothing can have fired while stopped.
  await new Promise((r) => setTimeout(r, Math.max(0, submittedAt + 7000 - Date.now())));

  await start();
  await mail.waitFor((m) => m.to === people.D4101!.email && m.subject.includes('escalated'), 1, 30_000);
  const tracked = await call('GET', `/api/v1/registrations/${submitted.body.id}`, { headers: { 'x-tracking-code': submitted.body.trackingCode } });
  expect(tracked.body).toMatchObject({ status: 'pending_approval', actingUnitCode: 'D4101' });

  const districtToken = (await call('POST', '/api/v1/auth/login', { json: { username: people.D4101!.username, password: 'unit-admin-password' } })).body.token;
  const decided = await call('POST', `/api/v1/registrations/${submitted.body.id}/decision`, { token: districtToken, json: { decision: 'approve' } });
  expect(decided).toEqual({ status: 200, body: { status: 'approved' } });
  await mail.waitFor((m) => m.to === 'applicant@lao.test' && m.subject.includes('approved'));
  // The submission mail went out once, before the restart, and not again after it.
  expect(mail.mails.filter((m) => m.to === 'applicant@lao.test' && m.subject.includes('received'))).toHaveLength(1);
}, 180_000);

/** Another service beside the first: its own empty DATA_DIR and ports, the rest of the first's settings. */
async function freshService(): Promise<{ dir: string; port: number; temporalPort: number; env: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sso-fresh-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  return {
    dir,
    port,
    temporalPort,
    env: { ...env, DATA_DIR: dir, PORT: String(port), TEMPORAL_DEV_PORT: String(temporalPort), TEMPORAL_DEV_UI_PORT: String(uiPort) },
  };
}

it('starts cleanly after its first start was interrupted while it created the embedded database', async () => {
  const fresh = await freshService();
  try {
    // Ctrl-C at the terminal while initdb writes the database's folder (opened so, PGlite failed on the next start).
    const first = launchService(fresh.env, { group: true });
    const database = embeddedDatabaseDir(fresh.dir);
    while (!existsSync(join(database, 'PG_VERSION')) && first.running()) await new Promise((r) => setTimeout(r, 20));
    first.interrupt();
    await first.stop();
    expect(existsSync(database), first.output()).toBe(true);
    expect(existsSync(`${database}.creating`)).toBe(true);

    const second = await startService(fresh.env);
    try {
      expect(second.output()).toContain('Offices');
      expect(existsSync(`${database}.creating`)).toBe(false);
      const login = await callService(`http://127.0.0.1:${fresh.port}`, 'POST', '/api/v1/auth/login', {
        json: { username: 'admin', password: 'bootstrap-password-1' },
      });
      expect(login.status).toBe(200);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(fresh.dir, { recursive: true, force: true });
  }
}, 180_000);

it('leaves no Temporal dev server behind when its start fails half way', async () => {
  const fresh = await freshService();
  try {
    // The dev server starts first; then the database cannot be opened and the start fails.
    const failing = launchService({
      ...fresh.env,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/sso_no_such_database',
      PUBLIC_URL: 'http://127.0.0.1',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(await failing.exited).not.toBe(0);
    expect(failing.output()).toContain('sso_no_such_database');
    expect(existsSync(join(fresh.dir, 'temporal', 'temporal.db')), failing.output()).toBe(true);
    // Nothing listens on the dev server's port any more.
    await expect.poll(() => portAnswers(fresh.temporalPort), { timeout: 15_000, interval: 250 }).toBe(false);
  } finally {
    rmSync(fresh.dir, { recursive: true, force: true });
  }
}, 120_000);

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
