// npm run bench:leavers — how fast leavers lose access. Real PostgreSQL (a throw-away database), a
// real Temporal dev server and SMTP server; the API in this process, the worker in its own
// (bin/worker.ts) so that its memory is measured alone.
//  0. the server's ceiling: BENCH_CEILING_N (3,000) no-op workflows started as fast as the server takes them, on
//     the idle server (the service's worker has nothing to do yet);
//  1. sustained: BENCH_RATE (50) retirements/s for BENCH_SECONDS (60) s → p50/p99 from the 202 to the account reading suspended;
//  2. the ceiling again, just before the burst, on the idle server holding what the phases above left: the
//     in-memory database of the dev server slows as it fills, so this is the yardstick of the burst;
//  3. burst: BENCH_BURST (10,000) retirements effective today, in calls of 1,000 → seconds until all are suspended, the
//     rate as a fraction of that ceiling, worker peak RSS, and where the machine's CPU went per retirement (as for
//     each no-op workflow of the ceilings).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import { and, eq, inArray, like, sql } from 'drizzle-orm';
import { accounts, entitlements, orgUnits, unitAdmins } from '../db/schema.ts';
import { hashPassword } from '../lib/passwords.ts';
import { randomCitizenId } from './support/fixtures.ts';
import { installTemporalRuntime } from '../lib/temporal.ts';
import { cpuMsOf, cpuMsOfCommand, machine, peakRssMb, percentile, pool, startBenchService, startBenchServices } from './bench-support.ts';

const RATE = Number(process.env.BENCH_RATE ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BURST = Number(process.env.BENCH_BURST ?? 10_000);
const CEILING_N = Number(process.env.BENCH_CEILING_N ?? 3000);
const SECRET = randomBytes(16).toString('hex');
/** How long the burst may take before the bench says it timed out. */
const BURST_TIMEOUT_S = Number(process.env.BENCH_BURST_TIMEOUT ?? 600);

// Its SMTP server counts the mails: parsing and keeping 26,000 would take the CPU the service is measured on.
const services = await startBenchServices({ keepMail: false });
const service = await startBenchService(services, { HR_FEED_SECRET: SECRET });
const { config, db, client, base, worker, resources } = service;

// A unit with an admin, and the people who will leave, each with a right.
await db.insert(orgUnits).values([
  { code: 'DLA', kind: 'dla', nameTh: 'สถ.' },
  { code: 'S1', parentCode: 'DLA', kind: 'sao', nameTh: 'อบต.' },
]);
const passwordHash = await hashPassword('bench-password');
const adminId = randomUUID();
await db
  .insert(accounts)
  .values({ id: adminId, username: 'bench-admin', passwordHash, firstNameTh: 'ก', lastNameTh: 'ข', email: 'admin@bench.test', unitCode: 'S1' });
await db.insert(unitAdmins).values({ unitCode: 'S1', accountId: adminId, source: 'designation' });
async function makePeople(n: number, group: string) {
  const people = Array.from({ length: n }, () => ({ id: randomUUID(), citizenId: randomCitizenId() }));
  for (let i = 0; i < n; i += 1000) {
    const chunk = people.slice(i, i + 1000);
    await db.insert(accounts).values(
      chunk.map((p) => ({
        id: p.id,
        username: `${group}-${p.id}`,
        passwordHash,
        firstNameTh: 'ก',
        lastNameTh: 'ข',
        email: `${p.id}@lao.test`,
        unitCode: 'S1',
        citizenIdHash: resources.cipher.lookupHash(p.citizenId),
        citizenIdEnc: resources.cipher.encrypt(p.citizenId),
      })),
    );
    await db.insert(entitlements).values(chunk.map((p) => ({ accountId: p.id, systemCode: 'INFO', role: 'viewer', unitCode: 'S1' })));
  }
  return people;
}
const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
async function sendRetirements(people: { citizenId: string }[]) {
  const body = JSON.stringify({ events: people.map((p) => ({ eventId: randomUUID(), type: 'retirement', citizenId: p.citizenId, effectiveDate: today })) });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${base}/personnel-events`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-hr-timestamp': ts,
      'x-hr-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`,
    },
  });
  if (res.status !== 202) throw new Error(`feed: ${res.status} ${await res.text()}`);
  return performance.now();
}
/** Polls the database until every id reads suspended; calls back with the moment each was first seen so. */
async function watchSuspended(ids: string[], seen: (id: string, at: number) => void, timeoutMs: number) {
  const waiting = new Set(ids);
  const deadline = performance.now() + timeoutMs;
  while (waiting.size > 0 && performance.now() < deadline) {
    const batch = [...waiting].slice(0, 5000);
    const rows = await db
      .select({ id: accounts.id })
      .from(accounts)
      .where(and(inArray(accounts.id, batch), eq(accounts.status, 'suspended')));
    const now = performance.now();
    for (const r of rows) {
      waiting.delete(r.id);
      seen(r.id, now);
    }
    await delay(10);
  }
  return waiting.size;
}

/** CPU time so far of the processes on this machine that do the work: where a phase's CPU went, per workflow. */
const cpuNow = () => ({
  'Temporal dev server': cpuMsOf(services.temporalPid),
  worker: cpuMsOf(worker.pid!),
  'this process': cpuMsOf(process.pid),
  PostgreSQL: cpuMsOfCommand('postgres'),
});
const cpuSince = (before: ReturnType<typeof cpuNow>, workflows: number) => {
  const now = cpuNow();
  const parts = Object.entries(now).map(([name, ms]) => [name, (ms - before[name as keyof typeof before]) / workflows] as const);
  const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
  return `${total.toFixed(1)} in all = ${parts.map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(' + ')}`;
};

console.log(
  `bench:leavers — measures wall-clock rates and latencies of retirements on one Temporal dev server, and the worker process's peak RSS (bin/worker.ts alone). Machine: ${machine()}.`,
);
await delay(3000); // the worker bundles its workflows

// The ceiling: no-op workflows on the idle server, each started as soon as the server answered the
// one before on its lane (256 lanes), a worker in this process running them; the time from the
// first start to the last completion. Its runtime's logs kept to warnings; closing its connection
// shuts the runtime down, so the process exits.
installTemporalRuntime('warn');
async function measureCeiling(): Promise<{ rate: number; cpu: string }> {
  const connection = await NativeConnection.connect({ address: config.temporalAddress! });
  const noopWorker = await Worker.create({
    connection,
    taskQueue: 'bench-noop',
    workflowsPath: join(import.meta.dirname, 'bench-noop-workflow.ts'),
  });
  const running = noopWorker.run();
  const cpuBefore = cpuNow();
  const start = performance.now();
  const handles: Awaited<ReturnType<typeof client.workflow.start>>[] = [];
  await pool(
    Array.from({ length: CEILING_N }, (_, i) => i),
    256,
    async (i) => {
      handles.push(await client.workflow.start('noop', { taskQueue: 'bench-noop', workflowId: `noop-${i}-${randomUUID()}` }));
    },
  );
  await pool(handles, 256, async (handle) => {
    await handle.result();
  });
  const rate = CEILING_N / ((performance.now() - start) / 1000);
  const cpu = cpuSince(cpuBefore, CEILING_N);
  noopWorker.shutdown();
  await running;
  await connection.close();
  return { rate, cpu };
}

// 0. The ceiling on the empty server.
const empty = await measureCeiling();
console.log(`  ceiling, empty server   ${empty.rate.toFixed(0)} no-op workflows/s started and completed`);

// 1. Sustained.
const sustainedPeople = await makePeople(RATE * SECONDS, 'sustained');
const idOf = new Map(sustainedPeople.map((p) => [p.citizenId, p.id]));
const acceptedAt = new Map<string, number>();
const latencies: number[] = [];
let watching = true;
const watcher = (async () => {
  while (watching || acceptedAt.size > 0) {
    const ids = [...acceptedAt.keys()];
    if (ids.length > 0) {
      await watchSuspended(
        ids,
        (id, at) => {
          latencies.push(at - acceptedAt.get(id)!);
          acceptedAt.delete(id);
        },
        1,
      );
    }
    await delay(10);
  }
})();
const perCall = Math.max(1, Math.round(RATE / 10)); // ten calls a second
const started = performance.now();
for (let i = 0; i < sustainedPeople.length; i += perCall) {
  const due = started + (i / RATE) * 1000;
  await delay(Math.max(0, due - performance.now()));
  const slice = sustainedPeople.slice(i, i + perCall);
  void sendRetirements(slice).then((at) => {
    for (const p of slice) acceptedAt.set(idOf.get(p.citizenId)!, at);
  });
}
const until = performance.now() + 30_000;
while (acceptedAt.size > 0 && performance.now() < until) await delay(50);
const unfinished = acceptedAt.size;
acceptedAt.clear();
watching = false;
await watcher;
console.log(
  `  sustained ${RATE}/s for ${SECONDS} s  ${latencies.length} of ${sustainedPeople.length} suspended${
    unfinished ? ` (TIMED OUT: ${unfinished} still active 30 s after the last call; their latencies are not in the figures)` : ''
  }; 202 → suspended p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`,
);

// What the sustained phase left running finishes before the burst starts: the burst is measured alone.
if (unfinished > 0) {
  const drainStart = performance.now();
  const still = await watchSuspended(
    sustainedPeople.map((p) => p.id),
    () => {},
    BURST_TIMEOUT_S * 1000,
  );
  console.log(
    `                          the burst waited ${((performance.now() - drainStart) / 1000).toFixed(0)} s for them to finish${still ? ` (${still} never did)` : ''}`,
  );
}

// 2. The ceiling again, on the server as the burst finds it (its people made first).
const BURST_GROUP = 'burst';
const burstPeople = await makePeople(BURST, BURST_GROUP);
const ceiling = await measureCeiling();
console.log(
  `  ceiling, before burst   ${ceiling.rate.toFixed(0)} no-op workflows/s on the idle server holding the workflows above (the yardstick of the burst)`,
);

// 3. Burst. Watched by one count a tenth of a second (asking for 10,000 ids every few ms would load the
// machine the burst runs on).
const suspendedOfBurst = async () => {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(accounts)
    .where(and(like(accounts.username, `${BURST_GROUP}-%`), eq(accounts.status, 'suspended')));
  return row!.n;
};
const mailsBefore = services.mail.received;
const burstCpu = cpuNow();
const burstStart = performance.now();
await pool(
  Array.from({ length: Math.ceil(BURST / 1000) }, (_, i) => burstPeople.slice(i * 1000, (i + 1) * 1000)),
  2,
  async (chunk) => {
    await sendRetirements(chunk);
  },
);
const accepted = (performance.now() - burstStart) / 1000;
let suspended = await suspendedOfBurst();
while (suspended < BURST && performance.now() - burstStart < BURST_TIMEOUT_S * 1000) {
  await delay(100);
  suspended = await suspendedOfBurst();
}
const burstSeconds = (performance.now() - burstStart) / 1000;
const burstUsed = cpuSince(burstCpu, suspended);
const burstRate = suspended / burstSeconds;
// A retirement's mails leave after its commit: count them once the count has stood still for a second.
for (let last = -1; services.mail.received !== last;) {
  last = services.mail.received;
  await delay(1000);
}
console.log(
  suspended < BURST
    ? `  burst of ${BURST}         TIMED OUT after ${burstSeconds.toFixed(0)} s: ${suspended} suspended, ${BURST - suspended} not (accepted in ${accepted.toFixed(1)} s)`
    : `  burst of ${BURST}         accepted in ${accepted.toFixed(1)} s; all suspended after ${burstSeconds.toFixed(1)} s (${burstRate.toFixed(0)}/s), ${(burstRate / ceiling.rate).toFixed(2)} of the ceiling before it (${(burstRate / empty.rate).toFixed(2)} of the empty server's); ${services.mail.received - mailsBefore} mails delivered (the person's and their unit admin's)`,
);
console.log(
  `  CPU ms per workflow     ceiling, empty server:  ${empty.cpu} (this process runs the no-op worker)\n` +
    `                          ceiling, before burst:  ${ceiling.cpu}\n` +
    `                          burst:                  ${burstUsed} (this process runs the API)`,
);
console.log(`  peak RSS                worker process ${peakRssMb(worker.pid!)} MB; Temporal dev server ${peakRssMb(services.temporalPid)} MB`);

await service.stop();
await services.stop();
