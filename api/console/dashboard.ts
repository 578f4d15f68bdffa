// Console page of the rollout dashboard: for an admin's subtree (DLA central's country, a provincial
// office's province, any admin's own units), accounts and units without an SSO admin per child unit,
// registrations per week, the median time to a decision, escalations and expiries, and personnel
// changes applied late or failed. Charts are SVG drawn here, each with its numbers in a table.
import type { FastifyInstance } from 'fastify';
import { barChart, CHART_COLORS } from '../../lib/charts.ts';
import { formatThaiDay } from '../../lib/templates.ts';
import { DASHBOARD_WEEKS, LATE_AFTER_HOURS, rolloutDashboard } from '../../services/dashboard.ts';
import { shortUnitName } from '../../services/unit-view.ts';
import { page } from '../scope.ts';

const CHART_UNITS = 80;
const weekLabel = new Intl.DateTimeFormat('th-TH-u-ca-buddhist', { day: 'numeric', month: 'short', timeZone: 'Asia/Bangkok' });

const EVENT_TYPES: Record<string, string> = {
  transfer: 'ย้าย / transfer',
  retirement: 'เกษียณ / retirement',
  role_change: 'เปลี่ยนหน้าที่ / change of duties',
  resignation: 'ลาออก / resignation',
  death: 'ถึงแก่กรรม / death',
  suspension: 'พักราชการ / suspension',
};
const EVENT_STATUSES: Record<string, string> = { applied: 'ดำเนินการแล้ว (ล่าช้า) / applied late', failed: 'ไม่สำเร็จ / failed' };

/** A duration as people read it: hours under two days, days beyond. */
function durationText(hours: number | null): string {
  if (hours === null) return '–';
  if (hours < 48) return `${hours.toFixed(1)} ชั่วโมง / hours`;
  return `${(hours / 24).toFixed(1)} วัน / days`;
}

const text = (value: unknown, max = 64) => (typeof value === 'string' ? value.trim().slice(0, max) : '');

export default async function dashboardPages(app: FastifyInstance) {
  app.get<{ Querystring: { under?: string; weeks?: string } }>('/dashboard', page('admin'), async (request, reply) => {
    const under = text(request.query.under) || undefined;
    const weeks = /^\d{1,2}$/.test(text(request.query.weeks)) ? Number(request.query.weeks) : undefined;
    try {
      const d = await rolloutDashboard(app.deps, request.admin!, { under, weeks });
      const label = (u: { self: boolean; nameTh: string }) => (u.self ? `${shortUnitName(u.nameTh)} (ที่หน่วยงานเอง)` : shortUnitName(u.nameTh));
      const charted = d.units.slice(0, CHART_UNITS);
      const link = (code: string) => `/admin/dashboard?${new URLSearchParams({ under: code, weeks: String(d.weeks) }).toString()}`;
      return reply.consolePage(200, 'admin-dashboard', {
        title: 'ภาพรวมการใช้งาน SSO / Rollout dashboard',
        d,
        weekChoices: [4, 12, 26, 52].map((w) => ({ w, selected: w === d.weeks })),
        minWeeks: DASHBOARD_WEEKS.min,
        sinceText: formatThaiDay(d.since),
        upLink: d.up ? link(d.up) : null,
        units: d.units.map((u) => ({ ...u, link: u.self ? null : link(u.code) })),
        accountsChart: barChart({
          id: 'accounts',
          title: 'บัญชีผู้ใช้รายหน่วยงาน: ใช้งาน / ระงับ — Accounts by unit: active / suspended',
          description: charted.map((u) => `${u.nameTh}: ${u.active} / ${u.suspended}`).join('; '),
          series: [
            { name: 'ใช้งาน / active', color: CHART_COLORS.primary },
            { name: 'ระงับ / suspended', color: CHART_COLORS.warn },
          ],
          bars: charted.map((u) => ({ label: label(u), values: [u.active, u.suspended] })),
          orientation: 'rows',
        }),
        gapsChart: barChart({
          id: 'without-admin',
          title: 'หน่วยงานที่ยังไม่มีผู้ดูแลระบบ SSO รายหน่วยงาน / Units without an SSO admin, by unit',
          description: charted.map((u) => `${u.nameTh}: ${u.withoutAdmin} / ${u.units}`).join('; '),
          series: [{ name: 'ไม่มีผู้ดูแล / without admin', color: CHART_COLORS.warn }],
          bars: charted.map((u) => ({ label: label(u), values: [u.withoutAdmin] })),
          orientation: 'rows',
        }),
        moreUnits: Math.max(0, d.units.length - CHART_UNITS),
        weeksRows: d.registrationWeeks.map((w) => ({ ...w, weekText: formatThaiDay(w.weekStart) })),
        weeksChart: barChart({
          id: 'registrations-weekly',
          title: 'คำขอลงทะเบียนรายสัปดาห์ / Registrations per week',
          description: d.registrationWeeks.map((w) => `${formatThaiDay(w.weekStart)}: ${w.submitted}`).join('; '),
          series: [{ name: 'ยื่นคำขอ / submitted', color: CHART_COLORS.primary }],
          bars: d.registrationWeeks.map((w) => ({ label: weekLabel.format(w.weekStart), values: [w.submitted] })),
          orientation: 'columns',
        }),
        medianText: durationText(d.decisions.medianHours),
        lateAfterHours: LATE_AFTER_HOURS,
        personnelRows: d.personnel.recent.map((p) => ({
          ...p,
          typeName: EVENT_TYPES[p.type] ?? p.type,
          statusName: EVENT_STATUSES[p.status] ?? p.status,
        })),
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin');
    }
  });
}
