// Backup and restore of a running system (README, Operations): the service runs on a PostgreSQL
// database of its own and the embedded Temporal dev server in DATA_DIR, a request with evidence
// waits on its escalation timer; `npm run backup` copies it while it runs; the service stops; `npm
// run restore` puts the copy into a new database and a new DATA_DIR; started there, the timer fires,
// the evidence reads back byte for byte and the audit chain holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../lib/net.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startMailCatcher, type MailCatcher } from '../../scripts/support/mail-catcher.ts';

const root = join(import.meta.dirname, '..', '..');
const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(5).toString('hex');
const databases = { before: `sso_backup_${suffix}_a`, after: `sso_backup_${suffix}_b` };
const urlOf = (name: string) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
let admin: postgres.Sql;
const folders: string[] = [];
const folder = (prefix: string) => {
  const path = mkdtempSync(join(tmpdir(), prefix));
  folders.push(path);
  return path;
};
let mail: MailCatcher;
let running: ChildProcess | undefined;
let baseUrl: string;
let output = '';

/** Runs a script of ours to its end: its exit code and what it printed. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts', script), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

async function startService(env: Record<string, string>): Promise<ChildProcess> {
  output = '';
  const child = spawn(process.execPath, [join(root, 'bin', 'start.ts')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!output.includes('sso-lifecycle is up')) {
    if (child.exitCode !== null) throw new Error(`the service exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`the service did not come up: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  running = child;
  return child;
}

async function stopService(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await exited;
  running = undefined;
  return code;
}

async function call(method: string, path: string, options: { token?: string; json?: unknown; body?: FormData; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.body });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** Every file name under a folder, at any depth. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' });

beforeAll(async () => {
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databases.before}`);
  await admin.unsafe(`create database ${databases.after}`);
  mail = await startMailCatcher();
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'ENCRYPTION_KEY', 'SSO_SIGNING_KEYS']) delete process.env[key];
});

afterAll(async () => {
  if (running) await stopService(running);
  await mail?.close();
  for (const name of Object.values(databases)) await admin?.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.end();
  for (const path of folders) rmSync(path, { recursive: true, force: true });
});

it('restores a running system into a new database and DATA_DIR: timers fire, evidence reads back, the audit chain holds', async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const common = {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: baseUrl,
    SMTP_URL: mail.url,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password-1',
    ADMIN_MFA: 'off', // backup and restore are tested here, not the second factor
    REGISTRATION_REMIND_AFTER: '1h',
    REGISTRATION_ESCALATE_AFTER: '30s',
    REGISTRATION_EXPIRE_AFTER: '1h',
    LOG_LEVEL: 'warn',
  };
  const before = {
    ...common,
    DATA_DIR: folder('sso-backup-before-'),
    DATABASE_URL: urlOf(databases.before),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_DEV_UI_PORT: String(await freePort()),
  };
  const service = await startService(before);
  const token = (await call('POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'bootstrap-password-1' } })).body.token as string;
  const units = [
    { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
    { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.อุดรธานี' },
    { code: 'D4101', parentCode: 'P41', kind: 'district_office', nameTh: 'สถอ.เมืองอุดรธานี' },
    { code: 'S410101', parentCode: 'D4101', kind: 'sao', nameTh: 'อบต.หนองนาคำ' },
  ];
  expect((await call('PUT', '/api/v1/org-units', { token, json: units })).body).toEqual({ upserted: 4 });
  const emails: Record<string, string> = {};
  for (const unit of ['S410101', 'D4101']) {
    const username = uniqueName('admin');
    const created = await call('POST', '/api/v1/accounts', {
      token,
      json: { username, password: 'unit-admin-password', citizenId: randomCitizenId(), firstNameTh: 'ผู้ดูแล', lastNameTh: unit, email: `${username}@lao.test`, unitCode: unit },
    });
    expect(created.status).toBe(201);
    emails[unit] = `${username}@lao.test`;
    expect((await call('PUT', `/api/v1/org-units/${unit}/admins`, { token, json: [{ accountId: created.body.id }] })).status).toBe(200);
  }

  // Evidence of several 64 KiB encryption chunks, unique to this run.
  const evidence = Buffer.concat([
    Buffer.from('%PDF-1.4\n'),
    ...Array.from({ length: 3000 }, () => Buffer.from(`%${randomBytes(32).toString('hex')}\n`)),
    Buffer.from('1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'),
  ]);
  const applicant = `${uniqueName('applicant')}@lao.test`;
  const form = new FormData();
  form.append(
    'data',
    JSON.stringify({
      citizenId: randomCitizenId(),
      firstNameTh: 'สมหญิง',
      lastNameTh: 'รักงาน',
      email: applicant,
      position: 'นักวิชาการ',
      unitCode: 'S410101',
      username: uniqueName('applicant'),
      password: 'applicant-password',
      requestedAccess: [],
    }),
  );
  form.append('documents', new Blob([new Uint8Array(evidence)], { type: 'application/pdf' }), 'evidence.pdf');
  const submitted = await call('POST', '/api/v1/registrations', { body: form });
  expect(submitted.status).toBe(202);
  const tracking = { 'x-tracking-code': submitted.body.trackingCode as string };
  await mail.waitFor((m) => m.to === applicant);
  await mail.waitFor((m) => m.to === emails.S410101);

  // The backup, while the service runs; the embedded keys go to a folder of their own.
  const backupDir = join(folder('sso-backup-'), 'backup');
  const keysDir = join(folder('sso-backup-keys-'), 'keys');
  const backedUp = await runScript('backup.ts', [backupDir, '--keys-to', keysDir], before);
  expect(backedUp.out).toContain('backup written to');
  expect(backedUp.code).toBe(0);
  expect(backedUp.out).toContain('ENCRYPTION_KEY     from the environment');
  expect(filesUnder(backupDir)).toEqual(expect.arrayContaining(['manifest.json', 'app.dump', 'temporal.db']));
  expect(filesUnder(backupDir).filter((f) => /encryption\.key|sso-signing-keys/.test(f))).toEqual([]);
  expect(readFileSync(join(backupDir, 'manifest.json'), 'utf8')).not.toContain(common.ENCRYPTION_KEY);
  expect(filesUnder(keysDir)).toEqual(['sso-signing-keys.json']);
  // The timer had not fired when the backup was taken.
  expect(mail.mails.some((m) => m.subject.includes('escalated'))).toBe(false);
  expect(await stopService(service)).toBe(0);

  // A wrong key is refused before anything is written.
  const after = {
    ...common,
    DATA_DIR: join(folder('sso-backup-after-'), 'data'),
    DATABASE_URL: urlOf(databases.after),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_DEV_UI_PORT: String(await freePort()),
  };
  const wrongKey = await runScript('restore.ts', [backupDir, '--keys-from', keysDir], { ...after, ENCRYPTION_KEY: randomBytes(32).toString('base64') });
  expect(wrongKey.out).toContain('is not the key this backup was written with');
  expect(wrongKey.code).toBe(2);

  const restored = await runScript('restore.ts', [backupDir, '--keys-from', keysDir], after);
  expect(restored.out).toContain('restored');
  expect(restored.code).toBe(0);
  // A second restore into the same places is refused: nothing is merged into data already there.
  const again = await runScript('restore.ts', [backupDir], after);
  expect(again.out).toContain('already has');
  expect(again.code).toBe(2);

  await startService(after);
  await mail.waitFor((m) => m.to === emails.D4101 && m.subject.includes('escalated'), 1, 60_000);
  const tracked = await call('GET', `/api/v1/registrations/${submitted.body.id}`, { headers: tracking });
  expect(tracked.body).toMatchObject({ status: 'pending_approval', actingUnitCode: 'D4101' });
  expect(tracked.body.documents).toHaveLength(1);
  const document = await fetch(`${baseUrl}/api/v1/registrations/${submitted.body.id}/documents/${tracked.body.documents[0].id}`, { headers: tracking });
  expect(document.status).toBe(200);
  expect(Buffer.from(await document.arrayBuffer()).equals(evidence)).toBe(true);
  // The submission mail went out once, before the backup: the restored workflow did not send it again.
  expect(mail.mails.filter((m) => m.to === applicant)).toHaveLength(1);

  const verified = await runScript('audit-verify.ts', [], after);
  expect(verified.out).toContain('audit trail intact');
  expect(verified.code).toBe(0);
}, 170_000);
