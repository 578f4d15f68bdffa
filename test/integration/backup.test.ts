// Backup and restore of a running system (README, Operations): the service runs on a PostgreSQL
// database of its own and the embedded Temporal dev server in DATA_DIR, a request with evidence
// waits on its escalation timer; `npm run backup` copies it while it runs; the service stops; `npm
// run restore` puts the copy into a new database and a new DATA_DIR; started there, the timer fires,
// the evidence reads back byte for byte and the audit chain holds.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../lib/net.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startMailCatcher, type MailCatcher } from '../../scripts/support/mail-catcher.ts';
import { callService, startService, type ServiceProcess } from '../support/service-process.ts';

const root = join(import.meta.dirname, '..', '..');
const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(5).toString('hex');
const databases = Object.fromEntries(
  ['before', 'after', 'app', 'temporal', 'visibility', 'appNew', 'temporalNew', 'visibilityNew'].map((n) => [n, `sso_backup_${suffix}_${n.toLowerCase()}`]),
) as Record<'before' | 'after' | 'app' | 'temporal' | 'visibility' | 'appNew' | 'temporalNew' | 'visibilityNew', string>;
const urlOf = (name: string) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
let admin: postgres.Sql;
const folders: string[] = [];
const folder = (prefix: string) => {
  const path = mkdtempSync(join(tmpdir(), prefix));
  folders.push(path);
  return path;
};
let mail: MailCatcher;
let running: ServiceProcess | undefined;
let baseUrl: string;

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

const start = async (env: Record<string, string>) => (running = await startService(env));
const call = (method: string, path: string, options?: Parameters<typeof callService>[3]) => callService(baseUrl, method, path, options);

/** Every file name under a folder, at any depth. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' });

beforeAll(async () => {
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  for (const name of Object.values(databases)) await admin.unsafe(`create database ${name}`);
  mail = await startMailCatcher();
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'ENCRYPTION_KEY', 'SSO_SIGNING_KEYS']) delete process.env[key];
});

afterAll(async () => {
  await running?.stop();
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
  const service = await start(before);
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

  // The dev server's file is in WAL mode: the backup's reads never block the server's writes.
  const temporalDb = new DatabaseSync(join(before.DATA_DIR, 'temporal', 'temporal.db'), { readOnly: true });
  expect(temporalDb.prepare('pragma journal_mode').get()).toEqual({ journal_mode: 'wal' });
  temporalDb.close();
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
  expect(await service.stop()).toBe(0);

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

  await start(after);
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

it("compose's Temporal on PostgreSQL: its two databases are dumped with the application's and restored into empty ones", async () => {
  for (const [name, value] of [
    ['app', 'application'],
    ['temporal', 'executions'],
    ['visibility', 'visibility'],
  ] as const) {
    const sql = postgres(urlOf(databases[name]), { max: 1, onnotice: () => {} });
    await sql`create table what (value text)`;
    await sql`insert into what values (${value})`;
    await sql.end();
  }
  const dataDir = folder('sso-backup-compose-');
  mkdirSync(join(dataDir, 'documents', 'ab'), { recursive: true });
  writeFileSync(join(dataDir, 'documents', 'ab', 'ab'.padEnd(64, '0')), 'sealed evidence');
  const env = { DATA_DIR: dataDir, DATABASE_URL: urlOf(databases.app), TEMPORAL_ADDRESS: 'temporal:7233', ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  const backupDir = join(folder('sso-backup-compose-'), 'backup');

  const withoutTemporal = await runScript('backup.ts', [backupDir], env);
  expect(withoutTemporal.out).toContain('give --temporal-database-url and --temporal-visibility-database-url');
  expect(withoutTemporal.code).toBe(2);
  const temporalUrls = (t: string, v: string) => ['--temporal-database-url', urlOf(t), '--temporal-visibility-database-url', urlOf(v)];
  const backedUp = await runScript('backup.ts', [backupDir, ...temporalUrls(databases.temporal, databases.visibility)], env);
  expect(backedUp.code, backedUp.out).toBe(0);
  const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
  expect(manifest.captured.map((c: { part: string }) => c.part)).toEqual(['temporal', 'temporal_visibility', 'app', 'documents']);
  const moments = manifest.captured.map((c: { at: string }) => c.at);
  expect(moments).toEqual([...moments].sort()); // Temporal's snapshot is never newer than the application's

  const newDataDir = join(folder('sso-backup-compose-'), 'data');
  const restored = await runScript('restore.ts', [backupDir, ...temporalUrls(databases.temporalNew, databases.visibilityNew)], {
    ...env,
    DATA_DIR: newDataDir,
    DATABASE_URL: urlOf(databases.appNew),
  });
  expect(restored.code, restored.out).toBe(0);
  for (const [name, value] of [
    ['appNew', 'application'],
    ['temporalNew', 'executions'],
    ['visibilityNew', 'visibility'],
  ] as const) {
    const sql = postgres(urlOf(databases[name]), { max: 1, onnotice: () => {} });
    expect(await sql`select value from what`).toEqual([{ value }]);
    await sql.end();
  }
  expect(readFileSync(join(newDataDir, 'documents', 'ab', 'ab'.padEnd(64, '0')), 'utf8')).toBe('sealed evidence');
}, 60_000);

it('the embedded database (PGlite) is copied only with the service stopped; its key goes apart and comes back with --keys-from', async () => {
  const dataDir = folder('sso-backup-embedded-');
  // PGlite's own files (the migrations are not what is tested here).
  const database = await PGlite.create(join(dataDir, 'pglite'));
  await database.exec("create table org_units (code text); insert into org_units values ('DLA')");
  await database.close();
  writeFileSync(join(dataDir, 'encryption.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
  mkdirSync(join(dataDir, 'temporal'));
  const temporal = new DatabaseSync(join(dataDir, 'temporal', 'temporal.db'));
  temporal.exec("create table executions (id text); insert into executions values ('registration-1')");
  temporal.close();
  const env = { DATA_DIR: dataDir };
  const backupDir = join(folder('sso-backup-embedded-'), 'backup');
  const keysDir = join(folder('sso-backup-embedded-keys-'), 'keys');

  const live = await runScript('backup.ts', [backupDir], env);
  expect(live.out).toContain('stop the service, then run the backup with --stopped');
  expect(live.code).toBe(2);
  const insideBackup = await runScript('backup.ts', [backupDir, '--stopped', '--keys-to', join(backupDir, 'keys')], env);
  expect(insideBackup.out).toContain('--keys-to must be outside the backup folder');
  const backedUp = await runScript('backup.ts', [backupDir, '--stopped', '--keys-to', keysDir], env);
  expect(backedUp.code, backedUp.out).toBe(0);
  expect(filesUnder(backupDir).filter((f) => f.includes('encryption.key'))).toEqual([]);
  expect(filesUnder(keysDir)).toEqual(['encryption.key']);

  const newDataDir = join(folder('sso-backup-embedded-'), 'data');
  const restored = await runScript('restore.ts', [backupDir, '--keys-from', keysDir], { DATA_DIR: newDataDir });
  expect(restored.code, restored.out).toBe(0);
  expect(readFileSync(join(newDataDir, 'encryption.key'), 'utf8')).toBe(readFileSync(join(dataDir, 'encryption.key'), 'utf8'));
  const copy = new DatabaseSync(join(newDataDir, 'temporal', 'temporal.db'), { readOnly: true });
  expect(copy.prepare('select id from executions').all()).toEqual([{ id: 'registration-1' }]);
  copy.close();
  const reopened = await PGlite.create(join(newDataDir, 'pglite'));
  expect((await reopened.query('select code from org_units')).rows).toEqual([{ code: 'DLA' }]);
  await reopened.close();
}, 60_000);
