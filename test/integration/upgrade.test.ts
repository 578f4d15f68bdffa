// An upgrade from the previous release's schema (README, Upgrading): a database of its own is built
// with exactly the migrations that release shipped (test/releases/previous.json), filled the way that
// release filled it, then the service starts on it as a new release does — applying the newer
// migrations at start — and reads and changes those rows through its API.
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditHash, chainOf, verifyAuditChain } from '../../db/audit.ts';
import { rowsOf } from '../../db/client.ts';
import { createCipher, sha256Hex } from '../../lib/crypto.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../support/harness.ts';

const MIGRATIONS = join(import.meta.dirname, '..', '..', 'db', 'migrations');
const released = Object.keys(
  (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'releases', 'previous.json'), 'utf8')) as { migrations: Record<string, string> }).migrations,
);
const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `sso_upgrade_${randomBytes(5).toString('hex')}`;
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
const cipher = createCipher(Buffer.from(TEST_ENCRYPTION_KEY, 'base64'));
let admin: postgres.Sql;
let h: Harness | undefined;
let folder: string;

const old = {
  admin: { id: randomUUID(), username: uniqueName('oldadmin'), password: 'old-admin-password' },
  staff: { id: randomUUID(), username: uniqueName('oldstaff'), password: 'old-staff-password', citizenId: randomCitizenId() },
  registration: { id: randomUUID(), citizenId: randomCitizenId() },
  documentId: randomUUID(),
};

/** The previous release's database: its migrations only, and rows as its code wrote them. */
async function previousReleaseDatabase() {
  folder = mkdtempSync(join(tmpdir(), 'sso-upgrade-'));
  mkdirSync(join(folder, 'meta'));
  const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  writeFileSync(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({ ...journal, entries: journal.entries.filter((e) => released.includes(`${e.tag}.sql`)) }),
  );
  for (const name of released) cpSync(join(MIGRATIONS, name), join(folder, name));
  const pg = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(pg), { migrationsFolder: folder });
    const units = [
      ['DLA', null, 'dla', 'กรมส่งเสริมการปกครองท้องถิ่น'],
      ['P41', 'DLA', 'province_office', 'สถจ.อุดรธานี'],
      ['D4101', 'P41', 'district_office', 'สถอ.เมืองอุดรธานี'],
      ['S410101', 'D4101', 'sao', 'อบต.หนองนาคำ'],
    ] as const;
    for (const [code, parent, kind, name] of units)
      await pg`insert into org_units (code, parent_code, kind, name_th) values (${code}, ${parent}, ${kind}, ${name})`;
    await pg`insert into systems (code, name_th, url, roles) values ('INFO', 'ระบบสารสนเทศ', 'http://info.test', ${JSON.stringify(['viewer', 'editor'])}::jsonb)`;
    await pg`insert into accounts (id, username, password_hash, first_name_th, last_name_th, email, unit_code)
      values (${old.admin.id}, ${old.admin.username}, ${await hashPassword(old.admin.password)}, 'ผู้ดูแล', 'อำเภอ', ${`${old.admin.username}@old.test`}, 'D4101')`;
    await pg`insert into unit_admins (unit_code, account_id, source) values ('D4101', ${old.admin.id}, 'designation')`;
    await pg`insert into accounts (id, username, password_hash, citizen_id_enc, citizen_id_hash, first_name_th, last_name_th, email, unit_code, registration_id)
      values (${old.staff.id}, ${old.staff.username}, ${await hashPassword(old.staff.password)}, ${cipher.encrypt(old.staff.citizenId)},
              ${cipher.lookupHash(old.staff.citizenId)}, 'สมชาย', 'ใจดี', ${`${old.staff.username}@old.test`}, 'S410101', null)`;
    await pg`insert into entitlements (account_id, system_code, role, unit_code) values (${old.staff.id}, 'INFO', 'viewer', 'S410101')`;
    // A request waiting at the district (its SAO has no admin), with its evidence.
    const r = old.registration;
    await pg`insert into registrations (id, tracking_code_hash, citizen_id_enc, citizen_id_hash, first_name_th, last_name_th, email, position,
                unit_code, username, password_hash, requested_access, status, acting_unit_code)
      values (${r.id}, ${sha256Hex('OLD-TRACKING-CODE')}, ${cipher.encrypt(r.citizenId)}, ${cipher.lookupHash(r.citizenId)}, 'สมหญิง', 'รักงาน',
              'applicant@old.test', 'นักวิชาการ', 'S410101', ${uniqueName('applicant')}, ${await hashPassword('applicant-password')},
              ${JSON.stringify([{ systemCode: 'INFO', role: 'viewer' }])}::jsonb, 'pending_approval', 'D4101')`;
    await pg`insert into registration_events (registration_id, seq, event, acting_unit_code) values (${r.id}, 1, 'submitted', 'D4101')`;
    await pg`insert into documents (id, registration_id, sha256, media_type, size, file_name) values (${old.documentId}, ${r.id}, ${sha256Hex('evidence')}, 'application/pdf', 8, 'evidence.pdf')`;
    // Audit events chained as that release chained them.
    let prevHash: string | null = null;
    for (const [subjectType, subjectId, action] of [
      ['account', old.staff.id, 'account.created'],
      ['account', old.staff.id, 'entitlement.granted'],
    ] as const) {
      const chain = chainOf(subjectType, subjectId);
      const [{ id }] = (await pg`select nextval(pg_get_serial_sequence('audit_events', 'id'))::int as id`) as unknown as [{ id: number }];
      const event = {
        id,
        at: new Date(),
        chain,
        prevHash,
        key: `upgrade:${randomUUID()}`,
        actorAccountId: old.admin.id,
        actor: `account:${old.admin.id}`,
        action,
        subjectType,
        subjectId,
        unitCode: 'S410101',
        reason: 'previous release',
        before: null,
        after: { username: old.staff.username },
      };
      const hash = auditHash(event);
      await pg`insert into audit_events (id, at, chain, prev_hash, hash, key, actor_account_id, actor, action, subject_type, subject_id, unit_code, reason, before, after)
        values (${id}, ${event.at.toISOString()}::timestamptz, ${chain}, ${prevHash}, ${hash}, ${event.key}, ${old.admin.id}, ${event.actor}, ${action}, ${subjectType}, ${subjectId}, 'S410101',
                ${event.reason}, null, ${JSON.stringify(event.after)}::jsonb)`;
      prevHash = hash;
    }
  } finally {
    await pg.end({ timeout: 5 });
  }
}

beforeAll(async () => {
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  await previousReleaseDatabase();
  // The new release starts on it: openResources applies the migrations newer than the release's.
  h = await startHarness({ DATABASE_URL: databaseUrl }, { worker: false });
});

afterAll(async () => {
  await h?.stop();
  await admin?.unsafe(`drop database if exists ${database} with (force)`);
  await admin?.end();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

it('upgrades a database at the previous release: every migration since applies, its rows read and change through the API', async () => {
  const h_ = h!;
  const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  const [applied] = rowsOf<{ n: number }>(await h_.resources.database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
  expect(applied!.n).toBe(journal.entries.length);
  expect(journal.entries.length).toBeGreaterThanOrEqual(released.length);

  const adminToken = await h_.login(old.admin.username, old.admin.password);
  const request = await h_.request('GET', `/api/v1/registrations/${old.registration.id}`, { token: adminToken });
  expect(request.status).toBe(200);
  expect(request.body).toMatchObject({ status: 'pending_approval', actingUnitCode: 'D4101', unitCode: 'S410101' });
  expect(request.body.documents).toEqual([expect.objectContaining({ id: old.documentId, fileName: 'evidence.pdf' })]);
  // Decrypted with the key of that release (admins see the last four digits).
  expect(request.body.applicant.citizenId).toBe(`*********${old.registration.citizenId.slice(-4)}`);

  const staff = await h_.request('GET', `/api/v1/accounts/${old.staff.id}`, { token: adminToken });
  expect(staff.status).toBe(200);
  expect(staff.body).toMatchObject({ username: old.staff.username, status: 'active' });
  expect(staff.body.entitlements).toEqual([expect.objectContaining({ system: 'INFO', role: 'viewer', unitCode: 'S410101', status: 'active' })]);
  const staffToken = await h_.login(old.staff.username, old.staff.password);
  expect(JSON.stringify((await h_.request('GET', '/api/v1/me/systems', { token: staffToken })).body)).toContain('INFO');

  // A change on the old rows, audited on the chain the old release began.
  const suspended = await h_.request('POST', `/api/v1/accounts/${old.staff.id}/suspend`, { token: adminToken, json: { reason: 'upgrade test' } });
  expect(suspended.status).toBe(200);
  expect((await h_.request('GET', '/api/v1/me/systems', { token: staffToken })).status).toBe(401);
  const report = await verifyAuditChain(h_.resources.database.db);
  expect(report.broken).toBeUndefined();
  expect(report.checked).toBeGreaterThanOrEqual(3);
}, 120_000);
