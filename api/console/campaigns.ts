// Console pages of access review campaigns (การทบทวนสิทธิ์ประจำรอบ): for DLA central and provincial
// admins the campaigns of their scope with the progress per unit, a start after a preview, cancel,
// and the schedules; for a unit's reviewer the unit's items by person, decided a page at a time; the
// report as a page and as a streamed CSV. The same services as the JSON API (services/access-reviews.ts).
import type { FastifyInstance } from 'fastify';
import { REVIEW_RULES, type ReviewRule } from '../../db/schema.ts';
import { csvFileName, csvStream } from '../../lib/csv.ts';
import { badRequest, forbidden } from '../../lib/problem.ts';
import {
  campaignProgress,
  campaignReport,
  campaignReportPage,
  campaignScopes,
  cancelCampaign,
  decideReviewPage,
  deleteReviewSchedule,
  listCampaigns,
  listReviewSchedules,
  previewCampaign,
  reviewerItems,
  setReviewSchedule,
  startCampaign,
  type CampaignInput,
  type ReviewDecision,
  type ReviewerItem,
} from '../../services/access-reviews.ts';
import { readCursor, toPage } from '../schemas.ts';
import { page, type Scope } from '../scope.ts';

const PAGE = 50;

const STATUS_NAMES: Record<string, string> = { running: 'กำลังทบทวน / running', completed: 'เสร็จสิ้น / completed', cancelled: 'ยกเลิก / cancelled' };
const RULES: Record<ReviewRule, string> = {
  revoke: 'เพิกถอนสิทธิ์ที่ไม่มีผู้ตัดสิน / revoke what nobody decided',
  suspend: 'ระงับสิทธิ์ไว้ก่อน / suspend what nobody decided',
  keep: 'คงสิทธิ์ไว้ แต่ทำเครื่องหมายในรายงาน / keep it, flagged in the report',
};

/** Schedules in plain words: each choice is a cron in Asia/Bangkok (the raw cron is shown beside it). */
const FREQUENCIES = [
  { key: 'monthly', cron: '0 8 1 * *', label: 'ทุกเดือน วันที่ 1 เวลา 08:00 น. / every month on the 1st at 08:00' },
  { key: 'quarterly', cron: '0 8 1 1,4,7,10 *', label: 'ทุก 3 เดือน วันที่ 1 (ต.ค. ม.ค. เม.ย. ก.ค.) / every 3 months on the 1st (Oct, Jan, Apr, Jul)' },
  { key: 'half-yearly', cron: '0 8 1 4,10 *', label: 'ทุก 6 เดือน วันที่ 1 (ต.ค. และ เม.ย.) / every 6 months on the 1st (October and April)' },
  { key: 'yearly', cron: '0 8 1 10 *', label: 'ทุกปี วันที่ 1 ตุลาคม ต้นปีงบประมาณ / every year on 1 October, the start of the fiscal year' },
] as const;
const describeCron = (cron: string) => FREQUENCIES.find((f) => f.cron === cron.trim().replace(/\s+/g, ' '))?.label ?? 'กำหนดเอง / custom';

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const percent = (part: number, whole: number) => (whole === 0 ? 100 : Math.floor((part * 100) / whole));

interface StartForm {
  name?: string;
  scopeUnitCode?: string;
  due?: string;
  durationDays?: string;
  dueAt?: string;
  onNoDecision?: string;
}

/** The start form as the service takes it; a local date-time (datetime-local) is read in Asia/Bangkok. */
function campaignInput(form: StartForm): CampaignInput {
  const onNoDecision = text(form.onNoDecision);
  if (!(REVIEW_RULES as readonly string[]).includes(onNoDecision)) throw badRequest('เลือกกฎสำหรับรายการที่ไม่มีผู้ตัดสิน / Choose the rule for undecided items.');
  const byDate = text(form.due) === 'date';
  const local = text(form.dueAt);
  if (byDate && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) throw badRequest('ระบุวันและเวลาครบกำหนด / Give the due date and time.');
  const days = Number.parseInt(text(form.durationDays), 10);
  if (!byDate && !(days >= 1 && days <= 365)) throw badRequest('ระยะเวลาเป็นจำนวนวัน 1 ถึง 365 / The duration is 1 to 365 days.');
  return {
    name: text(form.name),
    scopeUnitCode: text(form.scopeUnitCode),
    onNoDecision: onNoDecision as ReviewRule,
    ...(byDate ? { dueAt: new Date(`${local.length === 16 ? `${local}:00` : local}+07:00`).toISOString() } : { durationDays: days }),
  };
}

/** The page's items, one group per person (the list is ordered by person). */
function byPerson(items: (ReviewerItem & { open: boolean })[]) {
  const groups: { accountId: string; name: string; username: string; position: string | null; lastSignInAt: Date | null; items: typeof items }[] = [];
  for (const item of items) {
    const last = groups[groups.length - 1];
    if (last?.accountId === item.accountId) last.items.push(item);
    else
      groups.push({
        accountId: item.accountId,
        name: item.name,
        username: item.username,
        position: item.position,
        lastSignInAt: item.lastSignInAt,
        items: [item],
      });
  }
  return groups;
}

/** The decisions of a page's form: `d_<item>` keep or revoke, `j_<item>` the reason; "keep all" keeps every item not revoked. */
function decisionsOf(body: Record<string, unknown>): { decisions: ReviewDecision[]; missingReason: string[] } {
  const ids = text(body.items)
    .split(',')
    .filter((id) => /^[0-9a-f-]{36}$/i.test(id))
    .slice(0, PAGE);
  const keepAll = text(body.all) === 'keep';
  const decisions: ReviewDecision[] = [];
  const missingReason: string[] = [];
  for (const id of ids) {
    const chosen = text(body[`d_${id}`]);
    const justification = text(body[`j_${id}`]).slice(0, 2000);
    if (chosen === 'revoke') {
      if (!justification) missingReason.push(id);
      decisions.push({ itemId: id, decision: 'revoke', justification: justification || undefined });
    } else if (chosen === 'keep' || keepAll) {
      decisions.push({ itemId: id, decision: 'keep', justification: justification || undefined });
    }
  }
  return { decisions, missingReason };
}

export default async function campaignPages(app: FastifyInstance) {
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });
  const deps = app.deps;

  app.get<{ Querystring: { cursor?: string } }>('/campaigns', page('admin'), async (request, reply) => {
    try {
      const admin = request.admin!;
      const after = readCursor<{ t: string; id: string }>(request.query.cursor, { t: 'time', id: 'uuid' });
      const page = toPage(
        await listCampaigns(deps, admin, { limit: PAGE, after: after && { createdAt: after.t, id: after.id } }),
        PAGE,
        (c) => ({ ...c, statusName: STATUS_NAMES[c.status] ?? c.status, running: c.status === 'running', percent: percent(c.decided, c.items) }),
        (last) => ({ t: last.createdAt.toISOString(), id: last.id }),
      );
      const scopes = await campaignScopes(deps, admin);
      return reply.consolePage(200, 'admin-campaign-list', {
        title: 'รอบทบทวนสิทธิ์ / Access review campaigns',
        items: page.items,
        mayStart: scopes.length > 0,
        next: page.nextCursor ? `/admin/campaigns?cursor=${page.nextCursor}` : null,
        first: after ? '/admin/campaigns' : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin');
    }
  });

  app.get('/campaigns/new', page('campaign-runner'), async (request, reply) => {
    const scopes = await campaignScopes(deps, request.admin!);
    if (scopes.length === 0) {
      return reply.consoleProblem(
        forbidden('เริ่มรอบทบทวนได้เฉพาะส่วนกลางและสำนักงานจังหวัด / Only DLA central and provincial offices start campaigns.'),
        '/admin/campaigns',
      );
    }
    return reply.consolePage(200, 'admin-campaign-new', {
      title: 'เริ่มรอบทบทวนสิทธิ์ / Start a campaign',
      scopes,
      rules: REVIEW_RULES.map((r) => ({ value: r, label: RULES[r], checked: r === 'revoke' })),
    });
  });

  // Step 1: what the campaign would cover; nothing is started. The confirmation carries the form on.
  app.post<{ Body: StartForm }>('/campaigns/preview', plainForm('campaign-runner'), async (request, reply) => {
    try {
      const input = campaignInput(request.body ?? {});
      if (!input.name) throw badRequest('ตั้งชื่อรอบทบทวน / Name the campaign.');
      const preview = await previewCampaign(deps, request.admin!, input.scopeUnitCode);
      return reply.consolePage(200, 'admin-campaign-preview', {
        title: 'ตรวจสอบก่อนเริ่ม / Check before starting',
        preview,
        input,
        form: request.body,
        dueAt: input.dueAt ?? new Date(Date.now() + input.durationDays! * 86_400_000).toISOString(),
        ruleName: RULES[input.onNoDecision],
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/campaigns/new');
    }
  });

  // Step 2: confirmed; started by the same operation as POST /api/v1/access-reviews.
  app.post<{ Body: StartForm }>('/campaigns', plainForm('campaign-runner'), async (request, reply) => {
    try {
      const started = await startCampaign(deps, request.admin!, campaignInput(request.body ?? {}), request.log);
      return reply.redirect(`/admin/campaigns/${started.id}?started=1`, 303);
    } catch (error) {
      return reply.consoleProblem(error, '/admin/campaigns/new');
    }
  });

  app.get('/campaigns/schedules', page('admin'), async (request, reply) => {
    try {
      const admin = request.admin!;
      const scopes = await campaignScopes(deps, admin);
      const schedules = await listReviewSchedules(deps, admin);
      return reply.consolePage(200, 'admin-campaign-schedules', {
        title: 'กำหนดการทบทวนสิทธิ์ / Campaign schedules',
        schedules: schedules.map((s) => ({ ...s, plain: s.cron ? describeCron(s.cron) : '', ruleName: RULES[s.onNoDecision] })),
        scopes,
        frequencies: FREQUENCIES,
        rules: REVIEW_RULES.map((r) => ({ value: r, label: RULES[r], checked: r === 'revoke' })),
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/campaigns');
    }
  });

  app.post<{ Body: { name?: string; frequency?: string; cron?: string; scopeUnitCode?: string; durationDays?: string; onNoDecision?: string } }>(
    '/campaigns/schedules',
    plainForm('campaign-runner'),
    async (request, reply) => {
      try {
        const form = request.body ?? {};
        const preset = FREQUENCIES.find((f) => f.key === text(form.frequency));
        const cron = preset ? preset.cron : text(form.cron);
        if (!cron) throw badRequest('เลือกความถี่ หรือระบุ cron / Choose how often, or give a cron expression.');
        await setReviewSchedule(deps, request.admin!, text(form.name), {
          cron,
          scopeUnitCode: text(form.scopeUnitCode),
          durationDays: Number.parseInt(text(form.durationDays), 10),
          onNoDecision: text(form.onNoDecision) as ReviewRule,
        });
        return reply.redirect('/admin/campaigns/schedules', 303);
      } catch (error) {
        return reply.consoleProblem(error, '/admin/campaigns/schedules');
      }
    },
  );

  app.post<{ Body: { name?: string; confirm?: string } }>('/campaigns/schedules/delete', plainForm('campaign-runner'), async (request, reply) => {
    try {
      if (text(request.body?.confirm) !== 'yes') throw badRequest('ทำเครื่องหมายยืนยันการลบก่อน / Tick the box to confirm the deletion.');
      await deleteReviewSchedule(deps, request.admin!, text(request.body?.name));
      return reply.redirect('/admin/campaigns/schedules', 303);
    } catch (error) {
      return reply.consoleProblem(error, '/admin/campaigns/schedules');
    }
  });

  app.get<{ Params: { id: string }; Querystring: { after?: string; started?: string; cancelled?: string } }>(
    '/campaigns/:id',
    page('unit-admin'),
    async (request, reply) => {
      const { id } = request.params;
      try {
        const afterUnit = text(request.query.after) || undefined;
        const view = await campaignProgress(deps, request.admin!, id, { limit: PAGE, afterUnit });
        const units = view.units
          .slice(0, PAGE)
          .map((u) => ({ ...u, percent: percent(u.decided + u.autoApplied, u.items), settled: u.decided + u.autoApplied }));
        const t = view.review.totals!;
        return reply.consolePage(200, 'admin-campaign', {
          title: `รอบทบทวนสิทธิ์ / Campaign: ${view.review.name}`,
          ...view,
          units,
          totals: { ...t, settled: t.decided + t.autoApplied, percent: percent(t.decided + t.autoApplied, t.items) },
          statusName: STATUS_NAMES[view.review.status] ?? view.review.status,
          running: view.review.status === 'running',
          ruleName: RULES[view.review.onNoDecision],
          started: request.query.started === '1',
          cancelled: request.query.cancelled === '1',
          next: view.units.length > PAGE ? `/admin/campaigns/${id}?after=${encodeURIComponent(units[units.length - 1]!.unitCode)}` : null,
          first: afterUnit ? `/admin/campaigns/${id}` : null,
        });
      } catch (error) {
        return reply.consoleProblem(error, '/admin/campaigns');
      }
    },
  );

  app.post<{ Params: { id: string }; Body: { confirm?: string } }>('/campaigns/:id/cancel', plainForm('campaign-runner'), async (request, reply) => {
    const back = `/admin/campaigns/${encodeURIComponent(request.params.id)}`;
    try {
      if (text(request.body?.confirm) !== 'yes') throw badRequest('ทำเครื่องหมายยืนยันการยกเลิกก่อน / Tick the box to confirm the cancellation.');
      await cancelCampaign(deps, request.admin!, request.params.id, request.log);
      return reply.redirect(`${back}?cancelled=1`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { undecided?: string; system?: string; cursor?: string; done?: string } }>(
    '/campaigns/:id/items',
    page('unit-admin'),
    async (request, reply) => {
      const { id } = request.params;
      try {
        const undecided = request.query.undecided !== '0';
        const system = text(request.query.system) || undefined;
        const after = readCursor<{ a: string; id: string }>(request.query.cursor, { a: 'uuid', id: 'uuid' });
        const view = await reviewerItems(deps, request.admin!, id, { undecided, system, limit: PAGE, after: after && { accountId: after.a, id: after.id } });
        const page = toPage(
          view.items,
          PAGE,
          (i) => ({ ...i, open: view.open && i.decision === null && !i.autoApplied }),
          (last) => ({ a: last.accountId, id: last.id }),
        );
        const query = (extra: Record<string, string>) =>
          new URLSearchParams({ ...(undecided ? {} : { undecided: '0' }), ...(system ? { system } : {}), ...extra }).toString();
        const openIds = page.items.filter((i) => i.open).map((i) => i.id);
        const selfQuery = query(request.query.cursor ? { cursor: request.query.cursor } : {});
        return reply.consolePage(200, 'admin-campaign-items', {
          title: `ทบทวนสิทธิ์ / Review: ${view.review.name}`,
          review: view.review,
          open: view.open,
          groups: byPerson(page.items),
          openIds: openIds.join(','),
          anyOpen: openIds.length > 0,
          undecided,
          systems: view.systems.map((s) => ({ code: s, selected: s === system })),
          done: /^\d+$/.test(request.query.done ?? '') ? Number(request.query.done) : null,
          next: page.nextCursor ? `/admin/campaigns/${id}/items?${query({ cursor: page.nextCursor })}` : null,
          first: after ? `/admin/campaigns/${id}/items?${query({})}` : null,
          self: `/admin/campaigns/${id}/items${selfQuery ? `?${selfQuery}` : ''}`,
        });
      } catch (error) {
        return reply.consoleProblem(error, `/admin/campaigns`);
      }
    },
  );

  // A page of decisions in one round trip; revoking asks for a confirmation first (the form comes back with confirm=yes).
  app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>('/campaigns/:id/items', plainForm('unit-admin'), async (request, reply) => {
    const { id } = request.params;
    const body = request.body ?? {};
    const back = text(body.back).startsWith(`/admin/campaigns/${id}/items`) ? text(body.back) : `/admin/campaigns/${id}/items`;
    try {
      const { decisions, missingReason } = decisionsOf(body);
      const revokes = decisions.filter((d) => d.decision === 'revoke');
      if (missingReason.length > 0) throw badRequest('การเพิกถอนต้องระบุเหตุผล / A revocation needs a reason: fill in the reason of each right you revoke.');
      if (revokes.length > 0 && text(body.confirm) !== 'yes') {
        const view = await reviewerItems(deps, request.admin!, id, { limit: PAGE, undecided: true });
        const known = new Map(view.items.map((i) => [i.id, i]));
        return reply.consolePage(200, 'admin-campaign-confirm', {
          title: 'ยืนยันการเพิกถอน / Confirm the revocations',
          review: view.review,
          revokes: revokes.map((d) => ({ ...d, item: known.get(d.itemId) })),
          keeps: decisions.length - revokes.length,
          fields: Object.entries(body)
            .filter(([k]) => k !== '_csrf' && k !== 'confirm')
            .map(([name, value]) => ({ name, value })),
          back,
        });
      }
      const result = await decideReviewPage(deps, request.admin!, id, decisions, request.log);
      if (result.rejected.length > 0) {
        return reply.consolePage(400, 'message', {
          title: 'บันทึกได้บางส่วน / Partly recorded',
          error: true,
          back,
          message: `บันทึกแล้ว ${result.applied} รายการ / ${result.applied} recorded. ไม่ได้บันทึก / Not recorded: ${result.rejected.map((r) => r.reason).join('; ')}.`,
        });
      }
      return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}done=${result.applied}`, 303);
    } catch (error) {
      return reply.consoleProblem(error, back);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string } }>('/campaigns/:id/report', page('unit-admin'), async (request, reply) => {
    const { id } = request.params;
    try {
      const after = readCursor<{ e: string }>(request.query.cursor, { e: 'uuid' });
      const report = await campaignReportPage(deps, request.admin!, id, { limit: PAGE, after: after?.e });
      const page = toPage(
        report.decisions,
        PAGE,
        (d) => d,
        (last) => ({ e: last.entitlementId }),
      );
      return reply.consolePage(200, 'admin-campaign-report', {
        title: `รายงานการทบทวนสิทธิ์ / Report: ${report.review.name}`,
        ...report,
        decisions: page.items,
        statusName: STATUS_NAMES[report.review.status] ?? report.review.status,
        ruleName: RULES[report.review.onNoDecision],
        csv: `/admin/campaigns/${id}/report.csv`,
        next: page.nextCursor ? `/admin/campaigns/${id}/report?cursor=${page.nextCursor}` : null,
        first: after ? `/admin/campaigns/${id}/report` : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, `/admin/campaigns/${encodeURIComponent(id)}`);
    }
  });

  app.get<{ Params: { id: string } }>('/campaigns/:id/report.csv', page('unit-admin'), async (request, reply) => {
    const { id } = request.params;
    try {
      const report = await campaignReport(deps, request.admin!, id, 'csv');
      if (report.format !== 'csv') throw new Error('unreachable');
      return reply
        .type('text/csv; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${csvFileName(report.fileName)}"`)
        .send(csvStream(report.columns, report.rows, (row) => report.columns.map((c) => row[c])));
    } catch (error) {
      return reply.consoleProblem(error, `/admin/campaigns/${encodeURIComponent(id)}`);
    }
  });
}
