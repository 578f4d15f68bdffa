// Console pages of personnel changes: the HR events of the admin's units (searchable, paged), the
// admin's own report of a change (the API's admin path), and a CSV of changes checked row by row in a
// preview before anything is sent. The same services as the JSON API (services/personnel.ts).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { PERSONNEL_EVENT_TYPES, type PersonnelEventStatus, type PersonnelEventType } from '../../db/schema.ts';
import { badRequest } from '../../lib/problem.ts';
import { checkPersonnelEvents, listPersonnelEvents, receivePersonnelEvents, type PersonnelEventPosition } from '../../services/personnel.ts';
import { formFile, multipartFields, multipartRest, type FormFields } from '../multipart-form.ts';
import { CSV_COLUMNS, MAX_EVENTS, readEvents, readEventsCsv } from '../personnel-input.ts';
import { readCursor } from '../schemas.ts';
import { page, type Scope } from '../scope.ts';

const PAGE = 50;

const TYPE_NAMES: Record<PersonnelEventType, string> = {
  transfer: 'โอนย้าย / transfer',
  retirement: 'เกษียณอายุราชการ / retirement',
  role_change: 'เปลี่ยนแปลงหน้าที่ / change of duties',
  resignation: 'ลาออก / resignation',
  death: 'ถึงแก่กรรม / death',
  suspension: 'สั่งพักราชการ / suspension',
};
const STATUSES: PersonnelEventStatus[] = ['scheduled', 'applied', 'failed', 'superseded'];
const STATUS_NAMES: Record<PersonnelEventStatus, string> = {
  scheduled: 'รอวันมีผล / scheduled',
  applied: 'มีผลแล้ว / applied',
  failed: 'ไม่สำเร็จ / failed',
  superseded: 'ถูกแทนที่ / superseded',
};

const text = (value: unknown, max = 200) => (typeof value === 'string' ? value.trim().slice(0, max) : '');
const oneOf = <T extends string>(values: readonly T[], value: unknown): T | undefined => (values.includes(value as T) ? (value as T) : undefined);
const encodeAfter = (position: PersonnelEventPosition) => Buffer.from(JSON.stringify(position)).toString('base64url');

/** The report form's fields as an event: empty fields left out, as the CSV's empty cells are. */
function eventOfForm(body: Record<string, unknown>): Record<string, string> {
  const fields = { eventId: text(body.eventId, 100), type: text(body.type, 40), citizenId: text(body.citizenId, 20).replace(/[\s-]/g, '') };
  const optional = {
    effectiveDate: text(body.effectiveDate, 20),
    toUnitCode: text(body.toUnitCode, 32),
    newPosition: text(body.newPosition),
    note: text(body.note, 2000),
  };
  return { ...fields, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== '')) };
}

export default async function personnelPages(app: FastifyInstance) {
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });
  // The CSRF token is checked before the file is read.
  const uploadForm = (scope: Scope) => ({ preHandler: [multipartFields(), app.csrfProtection, multipartRest], ...page(scope) });
  const typeOptions = (selected?: string) => PERSONNEL_EVENT_TYPES.map((t) => ({ value: t, name: TYPE_NAMES[t], selected: t === selected }));

  app.get<{ Querystring: { q?: string; type?: string; status?: string; unit?: string; after?: string; sent?: string; again?: string } }>(
    '/personnel',
    page('admin'),
    async (request, reply) => {
      const q = text(request.query.q, 100);
      const type = oneOf(PERSONNEL_EVENT_TYPES, request.query.type);
      const status = oneOf(STATUSES, request.query.status);
      const unit = text(request.query.unit, 32);
      const afterText = text(request.query.after);
      try {
        const after = readCursor<PersonnelEventPosition>(afterText || undefined, { receivedAt: 'time', eventId: 'string' });
        const rows = await listPersonnelEvents(app.deps, request.admin!, {
          text: q || undefined,
          type,
          status,
          unitCode: unit || undefined,
          limit: PAGE,
          after,
        });
        const page = rows.slice(0, PAGE);
        const query = (extra: Record<string, string>) =>
          `/admin/personnel?${new URLSearchParams({ ...(q ? { q } : {}), ...(type ? { type } : {}), ...(status ? { status } : {}), ...(unit ? { unit } : {}), ...extra })}`;
        const count = (value: unknown) => (/^\d{1,4}$/.test(text(value)) ? Number(value) : null);
        const sent = count(request.query.sent);
        const again = count(request.query.again) || null;
        return reply.consolePage(200, 'admin-personnel', {
          title: 'ความเปลี่ยนแปลงบุคลากร / Personnel changes',
          q,
          unit,
          sent,
          again,
          searched: Boolean(q || type || status || unit || afterText),
          types: typeOptions(type),
          statuses: STATUSES.map((s) => ({ value: s, name: STATUS_NAMES[s], selected: s === status })),
          items: page.map(({ item, person, details }) => ({
            ...item,
            ...details,
            person,
            typeName: TYPE_NAMES[item.type],
            statusName: STATUS_NAMES[item.status],
            done: item.status === 'applied',
            trouble: item.status === 'failed',
          })),
          next: rows.length > PAGE ? query({ after: encodeAfter(rows[PAGE - 1]!.position) }) : null,
          first: afterText ? query({}) : null,
        });
      } catch (error) {
        return reply.consoleProblem(error, '/admin/personnel');
      }
    },
  );

  // The admin's own report: one event through the API's admin path. Its id is made with the form, so
  // that the same form sent twice is a duplicate that changes nothing.
  app.get<{ Querystring: { citizenId?: string } }>('/personnel/report', page('admin'), async (request, reply) =>
    reply.consolePage(200, 'admin-personnel-report', {
      title: 'แจ้งความเปลี่ยนแปลงบุคลากร / Report a personnel change',
      values: { eventId: `console-${randomUUID()}`, citizenId: text(request.query.citizenId, 13) },
      types: typeOptions(),
    }),
  );

  app.post<{ Body: Record<string, unknown> }>('/personnel/report', plainForm('hr-feed'), async (request, reply) => {
    const values = eventOfForm(request.body ?? {});
    if (!values.eventId) values.eventId = `console-${randomUUID()}`;
    try {
      const result = await receivePersonnelEvents(app.deps, { actor: request.admin! }, readEvents([values]), request.log);
      const refused = result.rejected[0];
      if (refused) {
        return reply.consolePage(400, 'admin-personnel-report', {
          title: 'แจ้งความเปลี่ยนแปลงบุคลากร / Report a personnel change',
          values,
          types: typeOptions(values.type),
          errors: refused.errors.map((e) => ({ field: e.path.split('.')[2] ?? '', message: e.message })),
        });
      }
      // Sent twice (a reload, a double click): the first one stands and nothing changes.
      return reply.redirect(
        `/admin/personnel?${new URLSearchParams({ q: values.eventId, sent: String(result.accepted), again: String(result.duplicates) })}`,
        303,
      );
    } catch (error) {
      return reply.consoleProblem(error, '/admin/personnel/report');
    }
  });

  app.get('/personnel/upload', page('admin'), async (_request, reply) =>
    reply.consolePage(200, 'admin-personnel-upload', {
      title: 'นำเข้าความเปลี่ยนแปลงบุคลากรจากไฟล์ CSV / Upload personnel changes (CSV)',
      columns: CSV_COLUMNS.join(','),
      max: MAX_EVENTS,
      types: typeOptions(),
    }),
  );

  // Step 1: the file is read and judged as sending it would judge it; nothing is stored or sent.
  app.post('/personnel/upload', uploadForm('hr-feed'), async (request, reply) => {
    const file = formFile(request.body as FormFields, 'file');
    try {
      if (!file) throw badRequest('เลือกไฟล์ CSV / Choose a CSV file.');
      const rows = readEventsCsv(file.content);
      const received = readEvents(rows);
      const check = await checkPersonnelEvents(app.deps, request.admin!, received);
      const problems = check.rejected.flatMap((r) =>
        r.errors.map((e) => ({ row: r.index + 2, eventId: r.eventId ?? '', message: e.message, field: e.path.split('.')[2] ?? '' })),
      );
      const duplicateRows = new Set(check.duplicates.map((d) => d.index));
      const clean = problems.length === 0;
      return reply.consolePage(clean ? 200 : 400, 'admin-personnel-preview', {
        title: 'ตรวจสอบก่อนส่ง / Check before sending',
        fileName: file.fileName,
        count: rows.length,
        errorCount: problems.length,
        problems: problems.slice(0, 200),
        moreProblems: Math.max(0, problems.length - 200),
        duplicates: check.duplicates.map((d) => ({ row: d.index + 2, eventId: d.eventId })),
        rows: rows.slice(0, PAGE).map((r, i) => ({
          ...r,
          row: i + 2,
          typeName: TYPE_NAMES[r.type as PersonnelEventType] ?? r.type,
          duplicate: duplicateRows.has(i),
          bad: check.rejected.some((x) => x.index === i),
        })),
        moreRows: Math.max(0, rows.length - PAGE),
        events: clean ? JSON.stringify(rows) : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/personnel/upload');
    }
  });

  // Step 2: confirmed; sent by the same operation as POST /personnel-events, which judges every row again.
  app.post<{ Body: { events?: string; confirm?: string } }>('/personnel/upload/confirm', plainForm('hr-feed'), async (request, reply) => {
    try {
      if (request.body?.confirm !== 'yes') throw badRequest('ทำเครื่องหมายยืนยันก่อน / Tick the box to confirm.');
      let events: unknown;
      try {
        events = JSON.parse(typeof request.body.events === 'string' ? request.body.events : '');
      } catch {
        events = null;
      }
      if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EVENTS)
        throw badRequest('ไม่พบรายการที่จะส่ง อัปโหลดไฟล์ใหม่ / The rows to send are missing; upload the file again.');
      const received = readEvents(events);
      const malformed = received.flatMap((r) => ('errors' in r ? r.errors : []));
      if (malformed.length > 0) throw badRequest(malformed.map((e) => e.message).join('; '), malformed);
      const result = await receivePersonnelEvents(app.deps, { actor: request.admin! }, received, request.log);
      if (result.rejected.length > 0) {
        // Something changed since the preview (a person moved away, a unit closed): say which rows were not sent.
        return reply.consolePage(400, 'admin-personnel-preview', {
          title: 'ส่งแล้วบางรายการ / Partly sent',
          sentCount: result.accepted,
          count: events.length,
          errorCount: result.rejected.length,
          problems: result.rejected.flatMap((r) => r.errors.map((e) => ({ row: r.index + 2, eventId: r.eventId ?? '', message: e.message }))),
          rows: [],
          events: null,
        });
      }
      return reply.redirect(`/admin/personnel?sent=${result.accepted}&again=${result.duplicates}`, 303);
    } catch (error) {
      return reply.consoleProblem(error, '/admin/personnel/upload');
    }
  });
}
