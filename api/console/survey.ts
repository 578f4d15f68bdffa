// Console page of the satisfaction survey's results: per round and subtree, the number of answers,
// each question's mean and the spread of its scores as charts (with the numbers in tables beside them),
// the child units side by side and ranked, the comments page by page, and the answers as CSV.
import type { FastifyInstance } from 'fastify';
import { barChart, CHART_COLORS } from '../../lib/charts.ts';
import { csvFileName, csvStream } from '../../lib/csv.ts';
import { SURVEY_CSV_COLUMNS, SURVEY_QUESTIONS, SURVEY_SCALE, surveyAnswerRows, surveyComments, surveyReport } from '../../services/survey.ts';
import { shortUnitName } from '../../services/unit-view.ts';
import { page } from '../scope.ts';

const PAGE = 50;
/** The units drawn in the side-by-side chart (all of them are in its table). */
const CHART_UNITS = 80;

interface SurveyQuery {
  under?: string;
  round?: string;
  after?: string;
}

const text = (value: unknown, max = 64) => (typeof value === 'string' ? value.trim().slice(0, max) : '');
const roundOf = (value: unknown) => (/^\d{4}$/.test(text(value)) ? text(value) : undefined);
const decimal = (n: number | null) => (n === null ? '–' : n.toFixed(2));

/** A keyset position in the comments, as the `after` of the next page's link. */
const encodeAfter = (last: { createdAt: Date; id: string }) =>
  Buffer.from(JSON.stringify({ createdAt: last.createdAt.toISOString(), id: last.id })).toString('base64url');
function decodeAfter(value: unknown): { createdAt: string; id: string } | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { createdAt?: unknown; id?: unknown };
    return typeof parsed.createdAt === 'string' &&
      !Number.isNaN(Date.parse(parsed.createdAt)) &&
      typeof parsed.id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(parsed.id)
      ? { createdAt: parsed.createdAt, id: parsed.id }
      : undefined;
  } catch {
    return undefined;
  }
}

export default async function surveyPages(app: FastifyInstance) {
  app.get<{ Querystring: SurveyQuery }>('/survey', page('admin'), async (request, reply) => {
    const under = text(request.query.under) || undefined;
    const round = roundOf(request.query.round);
    const after = decodeAfter(request.query.after);
    try {
      const [report, comments] = await Promise.all([
        surveyReport(app.deps, request.admin!, { under, round }),
        surveyComments(app.deps, request.admin!, { under, round, after, limit: PAGE + 1 }),
      ]);
      const shown = comments.slice(0, PAGE);
      const query = (extra: Record<string, string>) => new URLSearchParams({ ...(under ? { under } : {}), round: report.round, ...extra }).toString();
      const unitLabel = (u: { self: boolean; nameTh: string; code: string }) => (u.self ? `${shortUnitName(u.nameTh)} (ที่หน่วยงานเอง)` : shortUnitName(u.nameTh));
      const answered = report.units.filter((u) => u.responses > 0);
      return reply.consolePage(200, 'admin-survey', {
        title: 'ผลแบบประเมินความพึงพอใจ / Survey results',
        report,
        rounds: report.rounds.map((r) => ({ round: r, selected: r === report.round })),
        questions: report.questions.map((q, i) => ({
          ...q,
          averageText: decimal(q.average),
          scores: SURVEY_SCALE.map((n) => ({ score: n, count: q.distribution[String(n)] ?? 0 })),
          chart: barChart({
            id: `q-${q.id}`,
            title: `การกระจายคะแนน: ${q.textTh} / Scores: ${q.textEn}`,
            description: `${SURVEY_SCALE.map((n) => `${n} คะแนน: ${q.distribution[String(n)] ?? 0}`).join(', ')}; ค่าเฉลี่ย / mean ${decimal(q.average)}`,
            series: [{ name: 'คำตอบ / answers', color: CHART_COLORS.primary }],
            bars: SURVEY_SCALE.map((n) => ({ label: `${n}`, values: [q.distribution[String(n)] ?? 0] })),
            orientation: 'columns',
          }),
          number: i + 1,
        })),
        questionHeads: SURVEY_QUESTIONS.map((q, i) => ({ id: q.id, number: i + 1, textEn: q.textEn })),
        units: report.units.map((u) => ({
          ...u,
          label: unitLabel(u),
          averageCells: SURVEY_QUESTIONS.map((q) => decimal(u.averages[q.id] ?? null)),
          link: u.self ? null : `/admin/survey?${new URLSearchParams({ under: u.code, round: report.round }).toString()}`,
        })),
        unitsChart: answered.length
          ? barChart({
              id: 'units-overall',
              title: `ความพึงพอใจโดยรวมเฉลี่ยรายหน่วยงาน (เรียงลำดับ) / Mean overall satisfaction by unit, ranked`,
              description: answered
                .slice(0, CHART_UNITS)
                .map((u) => `${u.rank}. ${u.nameTh}: ${decimal(u.averages.overall ?? null)} (${u.responses})`)
                .join('; '),
              series: [{ name: 'ค่าเฉลี่ย / mean', color: CHART_COLORS.primary }],
              bars: answered.slice(0, CHART_UNITS).map((u) => ({ label: unitLabel(u), values: [u.averages.overall ?? 0] })),
              orientation: 'rows',
              max: SURVEY_SCALE.at(-1),
              format: (n) => n.toFixed(2),
            })
          : null,
        moreUnits: Math.max(0, answered.length - CHART_UNITS),
        comments: shown,
        next: comments.length > PAGE ? `/admin/survey?${query({ after: encodeAfter(shown[shown.length - 1]!) })}#comments` : null,
        first: after ? `/admin/survey?${query({})}#comments` : null,
        csv: `/admin/survey.csv?${query({})}`,
        upLink: report.up ? `/admin/survey?${new URLSearchParams({ under: report.up, round: report.round }).toString()}` : null,
      });
    } catch (error) {
      return reply.consoleProblem(error, '/admin/survey');
    }
  });

  app.get<{ Querystring: SurveyQuery }>('/survey.csv', page('admin'), async (request, reply) => {
    try {
      const answers = await surveyAnswerRows(app.deps, request.admin!, { under: text(request.query.under) || undefined, round: roundOf(request.query.round) });
      const name = csvFileName(`survey-${answers.round}-${answers.under ?? 'all'}.csv`);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(csvStream(SURVEY_CSV_COLUMNS, answers.rows, (row) => row));
    } catch (error) {
      return reply.consoleProblem(error, '/admin/survey');
    }
  });
}
