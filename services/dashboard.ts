// The rollout dashboard: how the single sign-on is taken up in an admin's subtree, per child unit
// (accounts, units still without an SSO admin) and over recent weeks (registrations, how long a
// decision takes, escalations and expiries, personnel changes applied late or failed). Each figure is
// one aggregate query over the tree's rows (db/unit-rows.ts), so DLA central's view of ~7,850 LAOs
// costs a handful of set-based statements, not a loop over units.
import { sql } from 'drizzle-orm';
import { rowsOf } from '../db/client.ts';
import { accounts, adminAppointments, appointmentEvents, personnelEvents, registrationEvents, registrations, unitAdmins } from '../db/schema.ts';
import { unitRowsSql } from '../db/unit-rows.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { resolveUnitView } from './unit-view.ts';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const BANGKOK_OFFSET_MS = 7 * 3_600_000;
export const DASHBOARD_WEEKS = { min: 4, max: 52, default: 12 } as const;
/** A personnel event applied more than this after 00:00 of its effective date (Asia/Bangkok) counts as late. */
export const LATE_AFTER_HOURS = 24;
const LIST_LIMIT = 20;

/** Monday 00:00 Asia/Bangkok of the week holding `at`, as an instant. */
export function bangkokWeekStart(at: Date): Date {
  const local = new Date(at.getTime() + BANGKOK_OFFSET_MS);
  const sinceMonday = (local.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - sinceMonday) - BANGKOK_OFFSET_MS);
}

export interface DashboardUnitRow {
  code: string;
  nameTh: string;
  kind: string;
  self: boolean;
  active: number;
  suspended: number;
  disabled: number;
  units: number;
  withoutAdmin: number;
}

export async function rolloutDashboard(
  deps: Pick<ServiceDeps, 'db'>,
  actor: Actor,
  query: { under?: string | undefined; weeks?: number | undefined; now?: Date | undefined },
) {
  const view = await resolveUnitView(deps, actor, query.under);
  const weeks = Math.min(DASHBOARD_WEEKS.max, Math.max(DASHBOARD_WEEKS.min, Math.trunc(query.weeks ?? DASHBOARD_WEEKS.default)));
  const now = query.now ?? new Date();
  const since = new Date(bangkokWeekStart(now).getTime() - (weeks - 1) * WEEK_MS);
  const inView = (column: ReturnType<typeof sql>) => sql`${column} in (select code from ${unitRowsSql(view.view)} v)`;
  const db = deps.db;

  const [accountRows, unitRows, weekRows, decisionRows, clockRows, personnelCounts, personnelList] = await Promise.all([
    db.execute(sql`select v.row_code, a.status, count(*)::int as n
      from ${accounts} a join ${unitRowsSql(view.view)} v on v.code = a.unit_code group by 1, 2`),
    db.execute(sql`select v.row_code, count(*)::int as units,
        (count(*) filter (where not exists (select 1 from ${unitAdmins} ua join ${accounts} a on a.id = ua.account_id
          where ua.unit_code = v.code and a.status = 'active')))::int as without_admin
      from ${unitRowsSql(view.view)} v group by 1`),
    db.execute(sql`select floor(extract(epoch from (r.submitted_at - ${since.toISOString()}::timestamptz)) / ${WEEK_MS / 1000})::int as week,
        count(*)::int as submitted,
        (count(*) filter (where r.status = 'approved'))::int as approved
      from ${registrations} r where r.submitted_at >= ${since.toISOString()}::timestamptz and ${inView(sql`r.unit_code`)} group by 1`),
    db.execute(sql`select count(*)::int as decided,
        percentile_cont(0.5) within group (order by extract(epoch from (r.decided_at - r.submitted_at))) as median_seconds
      from ${registrations} r
      where r.status in ('approved', 'rejected') and r.decided_at >= ${since.toISOString()}::timestamptz and ${inView(sql`r.unit_code`)}`),
    db.execute(sql`select 'registration' as flow, e.event, count(*)::int as n
        from ${registrationEvents} e join ${registrations} r on r.id = e.registration_id
        where e.event in ('escalated', 'expired') and e.at >= ${since.toISOString()}::timestamptz and ${inView(sql`r.unit_code`)} group by 1, 2
      union all
      select 'appointment', e.event, count(*)::int
        from ${appointmentEvents} e join ${adminAppointments} ap on ap.id = e.appointment_id
        where e.event in ('escalated', 'expired') and e.at >= ${since.toISOString()}::timestamptz and ${inView(sql`ap.unit_code`)} group by 1, 2`),
    db.execute(sql`select (count(*) filter (where p.status = 'failed'))::int as failed,
        (count(*) filter (where ${lateSql()}))::int as late
      from ${personnelEvents} p left join ${accounts} a on a.id = p.account_id
      where p.received_at >= ${since.toISOString()}::timestamptz and (${inView(sql`a.unit_code`)} or ${inView(sql`p.to_unit_code`)})`),
    db.execute(sql`select p.event_id, p.type, p.effective_date, p.status, p.received_at, p.applied_at, p.outcome,
        coalesce(a.unit_code, p.to_unit_code) as unit_code
      from ${personnelEvents} p left join ${accounts} a on a.id = p.account_id
      where p.received_at >= ${since.toISOString()}::timestamptz and (${inView(sql`a.unit_code`)} or ${inView(sql`p.to_unit_code`)})
        and (p.status = 'failed' or ${lateSql()})
      order by p.received_at desc, p.event_id limit ${LIST_LIMIT}`),
  ]);

  const counted = rowsOf<{ row_code: string; status: string; n: number }>(accountRows);
  const unitCounts = new Map(rowsOf<{ row_code: string; units: number; without_admin: number }>(unitRows).map((r) => [r.row_code, r]));
  const units: DashboardUnitRow[] = view.rows.map((u) => {
    const of = (status: string) => counted.find((c) => c.row_code === u.code && c.status === status)?.n ?? 0;
    return {
      ...u,
      active: of('active'),
      suspended: of('suspended'),
      disabled: of('disabled'),
      units: unitCounts.get(u.code)?.units ?? 0,
      withoutAdmin: unitCounts.get(u.code)?.without_admin ?? 0,
    };
  });
  const sum = (key: 'active' | 'suspended' | 'disabled' | 'units' | 'withoutAdmin') => units.reduce((a, u) => a + u[key], 0);

  const perWeek = rowsOf<{ week: number; submitted: number; approved: number }>(weekRows);
  const registrationWeeks = Array.from({ length: weeks }, (_, i) => {
    const row = perWeek.find((w) => w.week === i);
    return { weekStart: new Date(since.getTime() + i * WEEK_MS), submitted: row?.submitted ?? 0, approved: row?.approved ?? 0 };
  });
  const [decisions] = rowsOf<{ decided: number; median_seconds: number | string | null }>(decisionRows);
  const clocks = rowsOf<{ flow: string; event: string; n: number }>(clockRows);
  const clock = (flow: string, event: string) => clocks.find((c) => c.flow === flow && c.event === event)?.n ?? 0;
  const [personnel] = rowsOf<{ failed: number; late: number }>(personnelCounts);

  return {
    ...view,
    weeks,
    since,
    totals: { active: sum('active'), suspended: sum('suspended'), disabled: sum('disabled'), units: sum('units'), withoutAdmin: sum('withoutAdmin') },
    units,
    registrationWeeks,
    decisions: {
      decided: decisions?.decided ?? 0,
      medianHours: decisions?.median_seconds === null || decisions?.median_seconds === undefined ? null : Number(decisions.median_seconds) / 3600,
    },
    escalations: {
      registrationsEscalated: clock('registration', 'escalated'),
      registrationsExpired: clock('registration', 'expired'),
      appointmentsEscalated: clock('appointment', 'escalated'),
      appointmentsExpired: clock('appointment', 'expired'),
    },
    personnel: {
      failed: personnel?.failed ?? 0,
      late: personnel?.late ?? 0,
      recent: rowsOf<{
        event_id: string;
        type: string;
        effective_date: string;
        status: string;
        received_at: string | Date;
        applied_at: string | Date | null;
        outcome: string | null;
        unit_code: string | null;
      }>(personnelList).map((p) => ({
        eventId: p.event_id,
        type: p.type,
        effectiveDate: p.effective_date,
        status: p.status,
        receivedAt: new Date(p.received_at),
        appliedAt: p.applied_at ? new Date(p.applied_at) : null,
        outcome: p.outcome,
        unitCode: p.unit_code,
      })),
    },
  };
}

/** Applied later than LATE_AFTER_HOURS after 00:00 Asia/Bangkok of its effective date (over `personnel_events p`). */
function lateSql() {
  return sql`(p.status = 'applied' and p.applied_at > (p.effective_date::date::timestamp at time zone 'Asia/Bangkok') + make_interval(hours => ${LATE_AFTER_HOURS}))`;
}

export type RolloutDashboard = Awaited<ReturnType<typeof rolloutDashboard>>;
