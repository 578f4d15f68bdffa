// npm-less: node scripts/bench-rollout.ts — what the survey results and the rollout dashboard cost on a
// country-sized tree: 76 provincial offices, 878 district offices, BENCH_LAOS (7,850) LAOs, with
// BENCH_ACCOUNTS (200,000) accounts, BENCH_ANSWERS (100,000) survey answers and BENCH_REGISTRATIONS
// (100,000) registrations spread over them. Seeds a scratch database (dropped at the end) on
// TEST_DATABASE_ADMIN_URL's server and prints the time of each page's service call, DLA central's
// (all 76 provinces side by side) and one province's, as the median of BENCH_RUNS (5) runs.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase } from '../db/client.ts';
import type { Actor } from '../services/actor.ts';
import { rolloutDashboard } from '../services/dashboard.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { surveyReport } from '../services/survey.ts';

const LAOS = Number(process.env.BENCH_LAOS ?? 7850);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200_000);
const ANSWERS = Number(process.env.BENCH_ANSWERS ?? 100_000);
const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROUND = '2570';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `bench_rollout_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = await openDatabase({ databaseUrl: url.toString(), dataDir: mkdtempSync(join(tmpdir(), 'bench-rollout-')) });
const { db } = database;

try {
  const t0 = performance.now();
  await db.execute(sql`insert into org_units (code, parent_code, kind, name_th) values ('DLA', null, 'dla', 'กรมส่งเสริมการปกครองท้องถิ่น')`);
  await db.execute(sql`insert into org_units (code, parent_code, kind, name_th)
    select 'P' || g, 'DLA', 'province_office', 'สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด' || g from generate_series(0, 75) g`);
  await db.execute(sql`insert into org_units (code, parent_code, kind, name_th)
    select 'D' || g, 'P' || (g % 76), 'district_office', 'สถอ.' || g from generate_series(0, 877) g`);
  await db.execute(sql`insert into org_units (code, parent_code, kind, name_th)
    select 'L' || g, 'D' || (g % 878), 'sao', 'อบต.' || g from generate_series(0, ${LAOS - 1}) g`);
  await db.execute(sql`insert into accounts (id, username, password_hash, first_name_th, last_name_th, email, unit_code, status)
    select gen_random_uuid(), 'u' || g, 'x', 'ก', 'ข', 'u' || g || '@bench.test', 'L' || (g % ${LAOS}),
      case when g % 20 = 0 then 'suspended' else 'active' end from generate_series(1, ${ACCOUNTS}) g`);
  // Every other LAO and every office has an admin.
  await db.execute(sql`insert into unit_admins (unit_code, account_id, source)
    select distinct on (a.unit_code) a.unit_code, a.id, 'designation' from accounts a
    where a.status = 'active' and substring(a.unit_code from 2)::int % 2 = 0 order by a.unit_code, a.id`);
  await db.execute(sql`insert into survey_responses (round, account_id, unit_code, scores, comment)
    select ${ROUND}, gen_random_uuid(), 'L' || (g % ${LAOS}),
      jsonb_build_object('registration', 1 + g % 5, 'approval', 1 + (g / 5) % 5, 'sign_in', 1 + (g / 25) % 5, 'systems', 1 + (g * 3) % 5, 'overall', 1 + (g * 7) % 5),
      case when g % 10 = 0 then 'ความเห็น ' || g end from generate_series(1, ${ANSWERS}) g`);
  await db.execute(sql`insert into registrations (id, tracking_code_hash, citizen_id_enc, citizen_id_hash, first_name_th, last_name_th, email, position,
      unit_code, username, password_hash, requested_access, status, acting_unit_code, submitted_at, decided_at)
    select gen_random_uuid(), 'h' || g, 'e', 'c' || g, 'ก', 'ข', 'r' || g || '@bench.test', 'p', 'L' || (g % ${LAOS}), 'r' || g, 'x', '[]',
      case g % 4 when 0 then 'pending_approval' when 3 then 'rejected' else 'approved' end, 'L' || (g % ${LAOS}),
      now() - (g % 84) * interval '1 day', case when g % 4 <> 0 then now() - (g % 84) * interval '1 day' + (g % 72) * interval '1 hour' end
    from generate_series(1, ${REGISTRATIONS}) g`);
  await db.execute(sql`insert into registration_events (registration_id, seq, event, at)
    select id, 1, case when random() < 0.5 then 'escalated' else 'expired' end, submitted_at + interval '5 days' from registrations where random() < 0.1`);
  await db.execute(sql`analyze`);
  console.log(
    `bench:rollout — seeded ${77 + 878 + LAOS} units, ${ACCOUNTS} accounts, ${ANSWERS} answers, ${REGISTRATIONS} registrations in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const deps = { db, config: { surveyRound: ROUND } } as unknown as ServiceDeps;
  const central: Actor = { id: randomUUID(), username: 'central', unitCode: null, citizenIdHash: null, adminUnits: [], central: true };
  const median = async (what: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await what();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  };
  if (process.env.BENCH_EXPLAIN) {
    const t = performance.now();
    await surveyReport(deps, central, { under: 'DLA' });
    console.log(`one survey report: ${(performance.now() - t).toFixed(0)} ms`);
  }
  const rows: [string, number][] = [
    ['survey results, DLA central (76 provinces ranked)', await median(() => surveyReport(deps, central, { under: 'DLA' }))],
    ['survey results, one province', await median(() => surveyReport(deps, central, { under: 'P41' }))],
    ['rollout dashboard, DLA central (76 provinces)', await median(() => rolloutDashboard(deps, central, { under: 'DLA' }))],
    ['rollout dashboard, one province', await median(() => rolloutDashboard(deps, central, { under: 'P41' }))],
  ];
  if (process.env.BENCH_EXPLAIN) {
    const rowsSql = sql`(with recursive sub(code, row_code, depth) as (select code, code, 0 from org_units where parent_code = 'DLA' union all select u.code, s.row_code, s.depth + 1 from org_units u join sub s on u.parent_code = s.code where s.depth < 32) select code, row_code from sub union all select 'DLA', 'DLA')`;
    for (const q of [
      sql`explain analyze select count(*) from survey_responses r where r.round = ${ROUND} and r.unit_code in (select code from ${rowsSql} v)`,
      sql`explain analyze select v.row_code, count(*), avg((r.scores ->> 'overall')::numeric) from survey_responses r join ${rowsSql} v on v.code = r.unit_code where r.round = ${ROUND} group by v.row_code`,
    ])
      console.log(
        ((await db.execute(q)) as unknown as { 'QUERY PLAN': string }[])
          .map((l) => l['QUERY PLAN'])
          .filter((l) => /Execution Time|Semi|Nested|Hash Join|CTE Scan|Seq Scan on survey/.test(l))
          .join('\n'),
      );
  }
  for (const [label, ms] of rows) console.log(`  ${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms (median of ${RUNS})`);
} finally {
  await database.close();
  await admin.unsafe(`drop database ${name} with (force)`);
  await admin.end();
}
