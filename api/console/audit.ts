// Console pages of the audit trail: the events of the admin's units filtered by actor, subject,
// action and days, each with its record before and after as a difference; the same filter as a CSV
// download streamed from the database; and, for DLA central, the check of the hash chains run in
// the background (services/audit.ts), with its progress and result.
import type { FastifyInstance } from 'fastify';
import { csvFileName, csvStream } from '../../lib/csv.ts';
import { formatThaiDateTime } from '../../lib/templates.ts';
import { page } from '../scope.ts';
import {
  auditEventsToDownload,
  auditVerificationStatus,
  recentAuditActions,
  searchAuditEvents,
  startAuditVerification,
  type AuditEventView,
  type AuditFilter,
  type AuditVerificationRun,
  type FieldChange,
} from '../../services/audit.ts';

const PAGE = 50;

interface FilterQuery {
  actor?: string;
  subject?: string;
  action?: string;
  from?: string;
  to?: string;
  before?: string;
}

const text = (value: unknown, max = 200) => (typeof value === 'string' ? value.trim().slice(0, max) : '');

/** The filter as typed (empty fields left out), for the service and for the links that keep it. */
function readFilter(query: FilterQuery): AuditFilter & Record<string, string> {
  const filter: Record<string, string> = {};
  for (const key of ['actor', 'subject', 'action', 'from', 'to'] as const) {
    const value = text(query[key]);
    if (value) filter[key] = value;
  }
  return filter;
}

const CHANGE_NAMES: Record<FieldChange['change'], string> = { added: 'เพิ่ม / added', removed: 'ลบ / removed', changed: 'เปลี่ยน / changed' };

/** A difference as one line of the CSV: `field: before → after`, one per line. */
const changesText = (changes: FieldChange[]) => changes.map((c) => `${c.field}: ${c.before ?? '∅'} → ${c.after ?? '∅'}`).join('\n');

const CSV_HEADER = ['id', 'at', 'at_th', 'actor', 'action', 'subject_type', 'subject_id', 'subject', 'unit_code', 'reason', 'changes', 'before', 'after'];
const csvCells = (e: AuditEventView) => [
  e.id,
  e.at,
  formatThaiDateTime(e.at),
  e.actorName,
  e.action,
  e.subjectType,
  e.subjectId,
  e.subjectName ?? '',
  e.unitCode ?? '',
  e.reason ?? '',
  changesText(e.changes),
  e.before === null ? '' : JSON.stringify(e.before),
  e.after === null ? '' : JSON.stringify(e.after),
];

/** Done when completed; while running, the events checked of those counted at the start (or the chains walked), never 100 before the end. */
function progressPercent(run: AuditVerificationRun): number {
  if (run.status === 'completed') return 100;
  const share = run.total > 0 ? run.checked / run.total : run.chains > 0 ? run.chainsDone / run.chains : 0;
  return Math.min(99, Math.floor(share * 100));
}

export default async function auditPages(app: FastifyInstance) {
  app.get<{ Querystring: FilterQuery }>('/audit', page('admin'), async (request, reply) => {
    const filter = readFilter(request.query);
    const before = /^\d{1,15}$/.test(text(request.query.before)) ? Number(request.query.before) : undefined;
    const admin = request.admin!;
    try {
      const [rows, actions] = await Promise.all([searchAuditEvents(app.deps, admin, filter, { limit: PAGE, before }), recentAuditActions(app.deps, admin)]);
      const items = rows.slice(0, PAGE).map((e) => ({ ...e, changes: e.changes.map((c) => ({ ...c, changeName: CHANGE_NAMES[c.change] })) }));
      const query = (extra: Record<string, string>) => new URLSearchParams({ ...filter, ...extra }).toString();
      return reply.consolePage(200, 'admin-audit', {
        title: 'บันทึกการตรวจสอบ / Audit trail',
        filter,
        actions,
        items,
        central: admin.central,
        filtered: Object.keys(filter).length > 0,
        download: `/admin/audit/download?${query({})}`,
        next: rows.length > PAGE ? `/admin/audit?${query({ before: String(items[items.length - 1]!.id) })}` : null,
        first: before !== undefined ? `/admin/audit?${query({})}` : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/audit');
    }
  });

  app.get<{ Querystring: FilterQuery }>('/audit/download', page('admin'), async (request, reply) => {
    try {
      const events = await auditEventsToDownload(app.deps, request.admin!, readFilter(request.query));
      const name = csvFileName(`audit-${new Date().toISOString().slice(0, 10)}.csv`);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(csvStream(CSV_HEADER, events, csvCells));
    } catch (error) {
      return reply.consoleProblem(error, '/admin/audit');
    }
  });

  app.get('/audit/verification', page('central'), async (request, reply) => {
    try {
      const run = await auditVerificationStatus(app.deps, request.admin!);
      return reply.consolePage(200, 'admin-audit-verification', {
        title: 'ตรวจสอบห่วงโซ่บันทึก / Verify the audit chains',
        run: run && {
          ...run,
          running: run.status === 'running',
          completed: run.status === 'completed',
          failed: run.status === 'failed',
          intact: run.status === 'completed' && run.broken === null,
          percent: progressPercent(run),
          startedAt: new Date(run.startedAt).toISOString(),
          finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
        },
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/audit');
    }
  });

  app.post('/audit/verification', { preHandler: app.csrfProtection, ...page('central') }, async (request, reply) => {
    try {
      await startAuditVerification(app.deps, request.admin!);
      return reply.redirect('/admin/audit/verification', 303);
    } catch (error) {
      return reply.consoleProblem(error, '/admin/audit/verification');
    }
  });
}
