// Console pages of the organisation tree: browsing a unit (its admins, its children, the upload of an
// appointment letter), the units without an SSO admin (page and CSV), and DLA central's CSV import of
// the tree. The same services as the JSON API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse } from 'csv-parse/sync';
import { UNIT_KINDS } from '../../db/schema.ts';
import { csvFileName, csvStream } from '../../lib/csv.ts';
import { Problem, badRequest, type FieldError } from '../../lib/problem.ts';
import { uploadAppointmentLetter } from '../../services/appointments.ts';
import { browseUnit, checkOrgUnits, putOrgUnits, unitsAdministered, unitsWithoutAdmin, type UnitInput } from '../../services/org-units.ts';
import { orgUnitItem } from '../schemas.ts';
import { formDocument, formFile, multipartFields, multipartRest, type FormFields } from '../multipart-form.ts';
import { checker } from '../uploads.ts';
import { page, type Scope } from '../scope.ts';

const PAGE = 50;
const MAX_IMPORT_ROWS = 20_000;

const KIND_NAMES: Record<string, string> = {
  dla: 'กรม / DLA',
  province_office: 'สถจ. / provincial office',
  district_office: 'สถอ. / district office',
  pao: 'อบจ. / PAO',
  municipality: 'เทศบาล / municipality',
  sao: 'อบต. / SAO',
};

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const pageNumber = (value: unknown) => Math.max(1, Math.min(10_000, Number.parseInt(String(value ?? '1'), 10) || 1));

const checkUnitRow = checker(orgUnitItem);

/** The rows of an import CSV (columns as `PUT /org-units` names them) as units, with each row's problems. */
function readTreeCsv(content: Buffer): { units: UnitInput[]; errors: FieldError[] } {
  let records: Record<string, string>[];
  try {
    records = parse(content, { columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: false });
  } catch (error) {
    throw badRequest(`The file is not a CSV this page can read: ${(error as Error).message}`);
  }
  if (records.length === 0) throw badRequest('The file has no rows.');
  if (records.length > MAX_IMPORT_ROWS) throw badRequest(`At most ${MAX_IMPORT_ROWS} rows at a time.`);
  const known = new Set(Object.keys(orgUnitItem.properties));
  const unknown = Object.keys(records[0]!).filter((c) => !known.has(c));
  if (unknown.length > 0) throw badRequest(`Unknown columns: ${unknown.join(', ')}. The columns are ${[...known].join(', ')}.`);
  const errors: FieldError[] = [];
  const units = records.map((r, i) => {
    const unit = {
      code: r.code ?? '',
      parentCode: r.parentCode || null,
      kind: (r.kind ?? '') as UnitInput['kind'],
      nameTh: r.nameTh ?? '',
      nameEn: r.nameEn || null,
    };
    errors.push(...checkUnitRow(unit, String(i)));
    return unit;
  });
  return { units, errors };
}

export default async function unitPages(app: FastifyInstance) {
  const uploadForm = (scope: Scope) => ({ preHandler: [multipartFields(), app.csrfProtection, multipartRest], ...page(scope) });
  const plainForm = (scope: Scope) => ({ preHandler: app.csrfProtection, ...page(scope) });

  /** An action's refusal as a page; anything else is a fault. */
  const refused = (reply: FastifyReply, back: string) => (error: unknown) => reply.consoleProblem(error, back);

  app.get('/units', page('admin'), async (request, reply) =>
    reply.consolePage(200, 'admin-unit-list', {
      title: 'หน่วยงาน / Units',
      units: (await unitsAdministered(app.deps, request.admin!)).map((u) => ({ ...u, kindName: KIND_NAMES[u.kind] })),
    }),
  );

  app.get<{ Params: { code: string }; Querystring: { page?: string; uploaded?: string } }>('/units/:code', page('unit-admin'), async (request, reply) => {
    const page = pageNumber(request.query.page);
    try {
      const view = await browseUnit(app.deps, request.admin!, request.params.code, { offset: (page - 1) * PAGE, limit: PAGE });
      const pages = Math.max(1, Math.ceil(view.childCount / PAGE));
      return reply.consolePage(200, 'admin-unit', {
        title: `${view.unit.nameTh} (${view.unit.code})`,
        ...view,
        kindName: KIND_NAMES[view.unit.kind],
        children: view.children.map((c) => ({ ...c, kindName: KIND_NAMES[c.kind] })),
        page,
        pages,
        previous: page > 1 ? page - 1 : null,
        next: page < pages ? page + 1 : null,
      });
    } catch (error) {
      return refused(reply, '/admin/units')(error);
    }
  });

  // The letter streams into the document store (encrypted); the rest is read inside, so a refused file shows as the others do.
  const letterForm = { preHandler: [multipartFields({ accept: { letter: ['application/pdf'] } }), app.csrfProtection], ...page('unit-admin') };
  app.post<{ Params: { code: string } }>('/units/:code/appointments', letterForm, async (request, reply) => {
    const { code } = request.params;
    try {
      await multipartRest(request);
      const form = request.body as FormFields;
      const created = await uploadAppointmentLetter(
        app.deps,
        request.admin!,
        code,
        {
          accountId: text(form.accountId),
          termEnd: text(form.termEnd) || null,
          letter: formDocument(form, 'letter'),
        },
        request.log,
      );
      return reply.redirect(`/admin/appointments/${created.id}?uploaded=1`, 303);
    } catch (error) {
      return refused(reply, `/admin/units/${encodeURIComponent(code)}`)(error);
    }
  });

  app.get<{ Querystring: { under?: string; after?: string } }>('/compliance', page('admin'), async (request, reply) => {
    const under = text(request.query.under) || undefined;
    const after = text(request.query.after) || undefined;
    try {
      const gaps = await unitsWithoutAdmin(app.deps, request.admin!, { under, after, limit: PAGE + 1 });
      const items = gaps.items.slice(0, PAGE);
      const query = (extra: Record<string, string>) => new URLSearchParams({ ...(under ? { under } : {}), ...extra }).toString();
      return reply.consolePage(200, 'admin-compliance', {
        title: 'หน่วยงานที่ยังไม่มีผู้ดูแลระบบ SSO / Units without an SSO admin',
        under: gaps.under,
        total: gaps.total,
        counts: Object.entries(gaps.counts).map(([kind, n]) => ({ kindName: KIND_NAMES[kind], n })),
        items: items.map((u) => ({ ...u, kindName: KIND_NAMES[u.kind] })),
        next: gaps.items.length > PAGE ? `/admin/compliance?${query({ after: items[items.length - 1]!.code })}` : null,
        first: after ? `/admin/compliance?${query({})}` : null,
        csv: `/admin/compliance.csv?${query({})}`,
      });
    } catch (error) {
      return refused(reply, '/admin/compliance')(error);
    }
  });

  app.get<{ Querystring: { under?: string } }>('/compliance.csv', page('admin'), async (request, reply) => {
    const under = text(request.query.under) || undefined;
    try {
      const gaps = await unitsWithoutAdmin(app.deps, request.admin!, { under });
      // The gaps come from the tree model, which holds the tree in memory anyway; the file is written as a stream.
      const body = csvStream(['code', 'nameTh', 'kind', 'parentCode', 'coveredBy'], gaps.items, (u) => [u.code, u.nameTh, u.kind, u.parentCode, u.coveredBy]);
      return reply
        .type('text/csv; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="units-without-admin-${csvFileName(under ?? 'all')}.csv"`)
        .send(body);
    } catch (error) {
      return refused(reply, '/admin/compliance')(error);
    }
  });

  /** The import is DLA central's: others get the refusal page. */
  const centralOnly = (request: FastifyRequest, reply: FastifyReply) => {
    if (request.admin!.central) return false;
    reply.consoleProblem(new Problem(403, 'Forbidden', 'นำเข้าผังหน่วยงานได้เฉพาะผู้ดูแลส่วนกลาง / Only DLA central admins import the tree.'), '/admin');
    return true;
  };

  app.get('/tree/import', page('central'), async (request, reply) => {
    if (centralOnly(request, reply)) return reply;
    return reply.consolePage(200, 'admin-tree-import', {
      title: 'นำเข้าผังหน่วยงาน / Import the organisation tree',
      kinds: UNIT_KINDS.map((k) => ({ k, name: KIND_NAMES[k] })),
    });
  });

  // Step 1: the file is read and checked; nothing is written. The preview carries the rows to step 2.
  app.post('/tree/import', uploadForm('central'), async (request, reply) => {
    if (centralOnly(request, reply)) return reply;
    const file = formFile(request.body as FormFields, 'file');
    try {
      if (!file) throw badRequest('เลือกไฟล์ CSV / Choose a CSV file.');
      const { units, errors } = readTreeCsv(file.content);
      const rowOf = (path: string) => Number.parseInt(path.split('.')[0]!, 10);
      errors.push(...(await checkOrgUnits(app.deps, request.admin!, units)));
      errors.sort((a, b) => rowOf(a.path) - rowOf(b.path));
      const problems = errors.slice(0, 200).map((e) => ({ row: rowOf(e.path) + 2, code: units[rowOf(e.path)]?.code ?? '', message: e.message }));
      return reply.consolePage(errors.length > 0 ? 400 : 200, 'admin-tree-preview', {
        title: 'ตรวจสอบก่อนนำเข้า / Check before importing',
        fileName: file.fileName,
        count: units.length,
        errorCount: errors.length,
        problems,
        moreProblems: Math.max(0, errors.length - problems.length),
        rows: units.slice(0, PAGE).map((u, i) => ({ ...u, row: i + 2, kindName: KIND_NAMES[u.kind] ?? u.kind })),
        moreRows: Math.max(0, units.length - PAGE),
        units: errors.length === 0 ? JSON.stringify(units) : null,
      });
    } catch (error) {
      return refused(reply, '/admin/tree/import')(error);
    }
  });

  // Step 2: confirmed; written by the same operation as PUT /org-units (which checks everything again).
  app.post('/tree/import/confirm', plainForm('central'), async (request, reply) => {
    if (centralOnly(request, reply)) return reply;
    try {
      let units: unknown;
      try {
        units = JSON.parse(text((request.body as { units?: string }).units));
      } catch {
        throw badRequest('The rows to import are missing; upload the file again.');
      }
      if (!Array.isArray(units) || units.length === 0 || units.length > MAX_IMPORT_ROWS)
        throw badRequest('The rows to import are missing; upload the file again.');
      const errors = units.flatMap((u, i) => checkUnitRow(u, String(i)));
      if (errors.length > 0)
        throw badRequest(
          errors
            .slice(0, 5)
            .map((e) => e.message)
            .join('; '),
          errors,
        );
      const done = await putOrgUnits(app.deps, request.admin!, units as UnitInput[]);
      return reply.consolePage(200, 'message', {
        title: 'นำเข้าแล้ว / Imported',
        back: '/admin/units',
        message: `นำเข้าหรือปรับปรุง ${done.upserted} หน่วยงานแล้ว / ${done.upserted} units created or updated.`,
      });
    } catch (error) {
      return refused(reply, '/admin/tree/import')(error);
    }
  });
}
