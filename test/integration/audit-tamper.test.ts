// The audit trail's tamper check (npm run audit:verify) against a database of its own: the test
// edits, deletes and reorders audit rows, which must not collide with files running beside it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { asc, count, desc, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../db/client.ts';
import { auditEvents } from '../../db/schema.ts';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness, type Tree } from '../support/harness.ts';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `sso_audit_${randomBytes(5).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let h: Harness;
let tree: Tree;

beforeAll(async () => {
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const migrated = await openDatabase({ databaseUrl: url.toString(), dataDir: '/tmp' });
  await migrated.close();
  h = await startHarness({ DATABASE_URL: url.toString() }, { worker: false });
  tree = await h.seedTree();
});

afterAll(async () => {
  await h?.stop();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

/** A trail with a few chains: accounts made, admins designated, one suspended and reactivated. */
async function makeEvents() {
  const [laoAdmin, staff] = [await h.createAccount(tree.laoA), await h.createAccount(tree.laoA)];
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAdmin.token, json: { reason: 'ทดสอบ' } });
  await h.request('POST', `/api/v1/accounts/${staff.id}/reactivate`, { token: laoAdmin.token, json: { reason: 'ทดสอบ' } });
  const [{ n } = { n: 0 }] = await h.resources.database.db.select({ n: count() }).from(auditEvents);
  expect(n).toBeGreaterThanOrEqual(3);
}

it('audit:verify passes on the real trail, and fails when a row is edited, deleted or reordered', async () => {
  const verify = async () => {
    const run = promisify(execFile)(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'audit-verify.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: h.config.databaseUrl,
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        SSO_SIGNING_KEYS: h.config.sso.signingKeys,
        DATA_DIR: h.config.dataDir,
      },
    });
    return run.then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
  };
  const db = h.resources.database.db;
  await makeEvents();
  const ok = await verify();
  expect(ok.code, ok.out).toBe(0);
  expect(ok.out).toMatch(/intact: \d+ events/);

  // Three consecutive events of one chain (others keep appending after them).
  const [busiest] = await db.select({ chain: auditEvents.chain, n: count() }).from(auditEvents).groupBy(auditEvents.chain).orderBy(desc(count())).limit(1);
  const [a, b, c] = await db.select().from(auditEvents).where(eq(auditEvents.chain, busiest!.chain)).orderBy(asc(auditEvents.id)).limit(3);
  expect(c).toBeDefined();

  await db.update(auditEvents).set({ reason: 'rewritten by hand' }).where(eq(auditEvents.id, b!.id));
  const edited = await verify();
  expect(edited.code).toBe(1);
  expect(edited.out).toContain(`event ${b!.id}`);
  expect(edited.out).toMatch(/edited/);
  await db.update(auditEvents).set({ reason: b!.reason }).where(eq(auditEvents.id, b!.id));
  expect((await verify()).code).toBe(0);

  await db.delete(auditEvents).where(eq(auditEvents.id, b!.id));
  const deleted = await verify();
  expect(deleted.code).toBe(1);
  expect(deleted.out).toContain(`event ${c!.id}`); // the next of its chain no longer links
  await db.insert(auditEvents).values(b!);
  expect((await verify()).code).toBe(0);

  // Reorder: b's content where a was and a's where b was.
  const { id: _aId, ...aContent } = a!;
  const { id: _bId, ...bContent } = b!;
  await db
    .update(auditEvents)
    .set({ ...bContent, key: `${bContent.key}#moving` })
    .where(eq(auditEvents.id, a!.id));
  await db.update(auditEvents).set(aContent).where(eq(auditEvents.id, b!.id));
  await db.update(auditEvents).set({ key: bContent.key }).where(eq(auditEvents.id, a!.id));
  const reordered = await verify();
  expect(reordered.code).toBe(1);
  expect(reordered.out).toContain(`event ${a!.id}`);
  await db
    .update(auditEvents)
    .set({ key: `${aContent.key}#moving` })
    .where(eq(auditEvents.id, b!.id));
  await db.update(auditEvents).set(aContent).where(eq(auditEvents.id, a!.id));
  await db.update(auditEvents).set(bContent).where(eq(auditEvents.id, b!.id));
  expect((await verify()).code).toBe(0);
  const [latest] = await db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  expect(latest!.hash).toMatch(/^[0-9a-f]{64}$/);
}, 180_000); // seven runs of audit:verify, each a process of its own
