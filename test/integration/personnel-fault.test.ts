// A fault test: the worker process is killed (SIGKILL) while a burst of retirements is being
// applied, then started again. Every event is applied exactly once: one audit event, one mail (one
// Message-ID). SMTP cannot be exactly-once: a delivery the kill cut off before it was recorded is
// sent again, the same message with the same Message-ID; the test counts those deliveries too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { and, count, eq, inArray, like } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { accounts, auditEvents, entitlements } from '../../db/schema.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness, type Tree } from '../support/harness.ts';

const SECRET = 'fault-test-secret';
const PEOPLE = 300;
let h: Harness;
let tree: Tree;
let worker: ChildProcess | undefined;

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'worker.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: h.config.databaseUrl,
      TEMPORAL_ADDRESS: h.config.temporalAddress,
      TEMPORAL_TASK_QUEUE: h.config.taskQueue,
      SMTP_URL: h.mail.url,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      SSO_SIGNING_KEYS: h.config.sso.signingKeys,
      DATA_DIR: h.config.dataDir,
      PUBLIC_URL: h.config.publicUrl,
      LOG_LEVEL: 'warn',
      WORKER_HTTP_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: SECRET }, { worker: false });
  tree = await h.seedTree();
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  await h?.stop();
});

it('applies every event exactly once although the worker is SIGKILLed mid-burst: one audit event and one message each, deliveries counted', async () => {
  const db = h.resources.database.db;
  const passwordHash = await hashPassword('unused-password');
  const people = Array.from({ length: PEOPLE }, () => ({ id: randomUUID(), citizenId: randomCitizenId(), username: uniqueName('leaver') }));
  await db.insert(accounts).values(
    people.map((p) => ({
      id: p.id,
      username: p.username,
      passwordHash,
      firstNameTh: 'ก',
      lastNameTh: 'ข',
      email: `${p.username}@lao.test`,
      unitCode: tree.laoA,
      citizenIdHash: h.resources.cipher.lookupHash(p.citizenId),
      citizenIdEnc: h.resources.cipher.encrypt(p.citizenId),
    })),
  );
  await db.insert(entitlements).values(people.map((p) => ({ accountId: p.id, systemCode: 'INFO', role: 'viewer', unitCode: tree.laoA })));

  worker = startWorker();
  const prefix = uniqueName('burst-');
  const body = JSON.stringify({
    events: people.map((p, i) => ({ eventId: `${prefix}-${i}`, type: 'retirement', citizenId: p.citizenId, effectiveDate: '2026-01-01' })),
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${h.baseUrl}/api/v1/personnel-events`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-hr-timestamp': ts,
      'x-hr-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`,
    },
  });
  expect(res.status).toBe(202);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(PEOPLE);

  const suspended = async () =>
    (
      await db
        .select({ n: count() })
        .from(accounts)
        .where(
          and(
            inArray(
              accounts.id,
              people.map((p) => p.id),
            ),
            eq(accounts.status, 'suspended'),
          ),
        )
    )[0]!.n;
  // Kill it in the middle of the burst.
  // A margin for the worker's start on a loaded machine (it bundles the workflows first).
  await expect.poll(suspended, { timeout: 90_000, interval: 20 }).toBeGreaterThanOrEqual(20);
  worker.kill('SIGKILL');
  const atKill = await suspended();
  expect(atKill).toBeLessThan(PEOPLE);
  await new Promise((r) => setTimeout(r, 500));
  worker = startWorker();
  await expect.poll(suspended, { timeout: 60_000, interval: 200 }).toBe(PEOPLE);

  // Exactly once: one audit event per person, one mail (by Message-ID) to each person.
  const audits = await db
    .select({ n: count() })
    .from(auditEvents)
    .where(like(auditEvents.key, `personnel:${prefix}-%`));
  expect(audits[0]!.n).toBe(PEOPLE);
  await h.mail.waitFor((m) => m.to.startsWith('leaver'), PEOPLE, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  // Deliveries, counted: one per person, plus at most one repeat of the same message for a person
  // whose mail was in flight when the worker died.
  let repeated = 0;
  for (const p of people) {
    const mails = h.mail.mails.filter((m) => m.to === `${p.username}@lao.test`.toLowerCase());
    expect(new Set(mails.map((m) => m.messageId)).size, p.username).toBe(1);
    expect(new Set(mails.map((m) => `${m.subject}\n${m.text}`)).size, p.username).toBe(1);
    expect(mails.length, p.username).toBeGreaterThanOrEqual(1);
    expect(mails.length, p.username).toBeLessThanOrEqual(2);
    if (mails.length === 2) repeated++;
  }
  const deliveries = h.mail.mails.filter((m) => m.to.startsWith('leaver')).length;
  expect(deliveries).toBe(PEOPLE + repeated);
  console.log(`fault test: killed the worker with ${atKill} of ${PEOPLE} applied; ${deliveries} deliveries, ${repeated} repeated (same Message-ID)`);
}, 240_000);
