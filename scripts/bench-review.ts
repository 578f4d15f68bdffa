// npm run bench:review — one access review campaign over a synthetic tree of the real shape
// (76 provincial offices, 878 district offices, ~7,850 LAOs, an admin each) holding BENCH_RIGHTS
// (200,000) active rights. Prints the seconds until every item exists and every unit's reviewers
// have their digest, the seconds to apply the rule at the due date with the audit entries counted,
// and the peak RSS of the worker (its own process). PostgreSQL's memory is not shown: its server is
// shared with whatever else runs on the machine, so no figure of its processes is this bench's.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { and, eq, like, sql } from 'drizzle-orm';
import { accessReviewItems, accessReviews, accounts, auditEvents, entitlements, mailOutbox, orgUnits, unitAdmins } from '../db/schema.ts';
import { hashPassword } from '../lib/passwords.ts';
import { machine, peakRssMb, startBenchService, startBenchServices } from './bench-support.ts';

const RIGHTS = Number(process.env.BENCH_RIGHTS ?? 200_000);
const PROVINCES = 76,
  DISTRICTS = 878,
  LAOS = Number(process.env.BENCH_LAOS ?? 7850);
const DUE_IN_S = Number(process.env.BENCH_DUE_IN ?? 240);
/** How long the rule may take at the due date before the bench says it timed out. */
const RULE_TIMEOUT_S = Number(process.env.BENCH_RULE_TIMEOUT ?? 900);

const services = await startBenchServices();
// No reminder; the escalation point lies already in the past.
const service = await startBenchService(services, { ACCESS_REVIEW_REMIND_BEFORE: '', ACCESS_REVIEW_ESCALATE_BEFORE: '30d' });
const { db, base, worker } = service;

console.log(
  `bench:review — measures wall-clock seconds of one campaign's phases and the worker process's peak RSS (bin/worker.ts alone). Machine: ${machine()}.`,
);
console.log(`  seeding ${PROVINCES} provinces, ${DISTRICTS} districts, ${LAOS} LAOs, ${RIGHTS} rights …`);
const seedStart = performance.now();
const units: (typeof orgUnits.$inferInsert)[] = [{ code: 'DLA', kind: 'dla', nameTh: 'สถ.' }];
for (let p = 0; p < PROVINCES; p++) units.push({ code: `P${p}`, parentCode: 'DLA', kind: 'province_office', nameTh: `สถจ.${p}` });
for (let d = 0; d < DISTRICTS; d++) units.push({ code: `D${d}`, parentCode: `P${d % PROVINCES}`, kind: 'district_office', nameTh: `สถอ.${d}` });
for (let l = 0; l < LAOS; l++) units.push({ code: `L${l}`, parentCode: `D${l % DISTRICTS}`, kind: 'sao', nameTh: `อบต.${l}` });
for (let i = 0; i < units.length; i += 2000) await db.insert(orgUnits).values(units.slice(i, i + 2000));
const passwordHash = await hashPassword('bench-password');
const adminOf = new Map<string, string>();
const adminRows = units.map((u) => {
  const id = randomUUID();
  adminOf.set(u.code, id);
  return { id, username: `admin-${u.code}`, passwordHash, firstNameTh: 'ผู้ดูแล', lastNameTh: u.code, email: `admin-${u.code}@bench.test`, unitCode: u.code };
});
for (let i = 0; i < adminRows.length; i += 2000) await db.insert(accounts).values(adminRows.slice(i, i + 2000));
for (let i = 0; i < units.length; i += 2000) {
  await db
    .insert(unitAdmins)
    .values(units.slice(i, i + 2000).map((u) => ({ unitCode: u.code, accountId: adminOf.get(u.code)!, source: 'designation' as const })));
}
const people = Math.ceil(RIGHTS / 2);
for (let i = 0; i < people; i += 5000) {
  const chunk = Array.from({ length: Math.min(5000, people - i) }, (_, k) => ({ id: randomUUID(), unit: `L${(i + k) % LAOS}` }));
  await db.insert(accounts).values(
    chunk.map((p) => ({
      id: p.id,
      username: `staff-${p.id}`,
      passwordHash,
      firstNameTh: 'ก',
      lastNameTh: 'ข',
      email: `${p.id}@bench.test`,
      unitCode: p.unit,
    })),
  );
  await db
    .insert(entitlements)
    .values(
      chunk
        .flatMap((p) => ['viewer', 'editor'].map((role) => ({ accountId: p.id, systemCode: 'INFO', role, unitCode: p.unit })))
        .slice(0, Math.min(10_000, RIGHTS - i * 2)),
    );
}
const [{ rights } = { rights: 0 }] = await db
  .select({ rights: sql<number>`count(*)`.mapWith(Number) })
  .from(entitlements)
  .where(eq(entitlements.status, 'active'));
console.log(`  seeded in ${((performance.now() - seedStart) / 1000).toFixed(0)} s: ${units.length} units, ${rights} active rights`);
await delay(3000); // the worker bundles its workflows

// A DLA central admin starts the campaign over the whole country.
const centralId = randomUUID();
await db
  .insert(accounts)
  .values({ id: centralId, username: 'bench-central', passwordHash, firstNameTh: 'ส่วนกลาง', lastNameTh: 'ก', email: 'central@bench.test', centralAdmin: true });
const login = (await (
  await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench-central', password: 'bench-password' }),
  })
).json()) as { token: string };
const started = performance.now();
const dueAt = new Date(Date.now() + DUE_IN_S * 1000);
const res = await fetch(`${base}/access-reviews`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
  body: JSON.stringify({ name: 'bench', scopeUnitCode: 'DLA', dueAt: dueAt.toISOString(), onNoDecision: 'suspend' }),
});
const { id } = (await res.json()) as { id: string };
if (res.status !== 202) throw new Error(`start: ${res.status}`);

const countItems = async () =>
  (
    await db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(accessReviewItems)
      .where(eq(accessReviewItems.reviewId, id))
  )[0]!.n;
const countDigests = async () =>
  (
    await db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(mailOutbox)
      .where(and(like(mailOutbox.key, `review:${id}:0:%`), sql`${mailOutbox.sentAt} is not null`))
  )[0]!.n;
let itemsAt = 0;
const reviewersWithItems = async () =>
  (
    await db
      .execute(sql`select count(distinct reviewer_unit_code)::int as n from access_review_items where review_id = ${id}`)
      .then((r) => (Array.isArray(r) ? r : (r as { rows: { n: number }[] }).rows) as { n: number }[])
  )[0]!.n;
for (;;) {
  if (!itemsAt && (await countItems()) >= rights) itemsAt = performance.now();
  if (itemsAt && (await countDigests()) >= (await reviewersWithItems())) break;
  if (performance.now() - started > (DUE_IN_S - 5) * 1000) break;
  await delay(500);
}
const runningAt = performance.now();
const [items, digests, reviewers] = [await countItems(), await countDigests(), await reviewersWithItems()];
console.log(
  itemsAt
    ? `  every item exists       after ${((itemsAt - started) / 1000).toFixed(1)} s (${items} items)`
    : `  every item exists       TIMED OUT: ${items} of ${rights} items after ${((runningAt - started) / 1000).toFixed(1)} s (the due date came first)`,
);
console.log(
  itemsAt && digests >= reviewers
    ? `  every unit's review runs after ${((runningAt - started) / 1000).toFixed(1)} s (${digests} reviewer digests sent)`
    : `  every unit's review runs TIMED OUT: ${digests} of ${reviewers} reviewer digests sent after ${((runningAt - started) / 1000).toFixed(1)} s`,
);

// At the due date the rule applies to everything (nobody decided).
await delay(Math.max(0, dueAt.getTime() - Date.now()));
const ruleStart = performance.now();
let ruleDone = false;
while (performance.now() - ruleStart < RULE_TIMEOUT_S * 1000) {
  const [review] = await db.select({ status: accessReviews.status }).from(accessReviews).where(eq(accessReviews.id, id));
  if (review?.status !== 'running') {
    ruleDone = true;
    break;
  }
  await delay(500);
}
const ruleSeconds = (performance.now() - ruleStart) / 1000;
const autoApplied = (
  await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(accessReviewItems)
    .where(and(eq(accessReviewItems.reviewId, id), eq(accessReviewItems.autoApplied, true)))
)[0]!.n;
// The rule's audit entries, one per item (activities/access-review-campaign.ts keys them review:<id>:<item>:rule).
const audited = (
  await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(auditEvents)
    .where(like(auditEvents.key, `review:${id}:%:rule`))
)[0]!.n;
const itemsAtDue = await countItems();
console.log(
  ruleDone
    ? `  rule applied at due     in ${ruleSeconds.toFixed(1)} s (${autoApplied} of ${itemsAtDue} items auto-applied; ${audited} audit entries for them)`
    : `  rule applied at due     TIMED OUT after ${ruleSeconds.toFixed(0)} s: ${autoApplied} of ${itemsAtDue} items auto-applied; ${audited} audit entries`,
);
console.log(`  peak RSS                worker process ${peakRssMb(worker.pid!)} MB`);

await service.stop();
await services.stop();
