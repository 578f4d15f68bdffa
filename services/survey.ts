// The satisfaction survey that the 2023 letter asks every SSO user to answer: one answer per person
// and round, and the results of an admin's units.
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Queryable } from '../db/client.ts';
import { isUniqueViolation } from '../db/identity.ts';
import { mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import { surveyResponses } from '../db/schema.ts';
import { unitRowsSql } from '../db/unit-rows.ts';
import { inBatches } from '../lib/csv.ts';
import { thaiFiscalYear } from '../lib/fiscal-year.ts';
import { badRequest, conflict, forbidden } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import { resolveUnitView, type UnitView } from './unit-view.ts';

export const SURVEY_QUESTIONS = [
  { id: 'registration', textTh: 'ความสะดวกในการลงทะเบียนและยื่นเอกสาร', textEn: 'How easy it was to register and upload documents' },
  { id: 'approval', textTh: 'ความรวดเร็วในการอนุมัติคำขอ', textEn: 'How fast the request was approved' },
  { id: 'sign_in', textTh: 'ความสะดวกในการเข้าสู่ระบบ (ThaiID หรือชื่อผู้ใช้งาน)', textEn: 'How easy it is to sign in (ThaiID or username)' },
  { id: 'systems', textTh: 'ความสะดวกในการเข้าใช้ระบบที่เชื่อมโยง', textEn: 'How easy it is to open the connected systems' },
  { id: 'overall', textTh: 'ความพึงพอใจโดยรวม', textEn: 'Overall satisfaction' },
] as const;

export const SURVEY_SCALE = [1, 2, 3, 4, 5] as const;

/**
 * The round open now: SURVEY_ROUND when configured, else the Thai fiscal year (October–September,
 * Buddhist Era) of today in Asia/Bangkok, so that a long-running process turns over on 1 October.
 */
export const currentRound = (config: { surveyRound?: string | undefined }, now = new Date()) => config.surveyRound ?? String(thaiFiscalYear(now));

/** The current round and its questions. */
export const currentSurvey = (deps: Pick<ServiceDeps, 'config'>) => ({ round: currentRound(deps.config), questions: SURVEY_QUESTIONS });

/** One answer per person and round (the API's and the survey page's): every question scored 1..5. */
export async function recordSurveyResponse(
  deps: Pick<ServiceDeps, 'db' | 'config'>,
  actor: Pick<Actor, 'id' | 'unitCode'>,
  answer: { round?: string | undefined; scores: Record<string, unknown>; comment?: string | undefined },
): Promise<string> {
  const open = currentRound(deps.config);
  const round = answer.round ?? open;
  if (round !== open) throw badRequest(`Round ${round} is not open; the current round is ${open}.`, [{ path: 'round', message: 'not the current round' }]);
  const unscored = SURVEY_QUESTIONS.filter((q) => !SURVEY_SCALE.includes(answer.scores[q.id] as 1));
  if (unscored.length > 0) {
    throw badRequest(
      `กรุณาให้คะแนน 1–5 ทุกข้อ / Please score every question from 1 to 5 (${unscored.map((q) => q.textEn).join('; ')}).`,
      unscored.map((q) => ({ path: `scores.${q.id}`, message: 'a score from 1 to 5 is required' })),
    );
  }
  const scores = Object.fromEntries(SURVEY_QUESTIONS.map((q) => [q.id, answer.scores[q.id] as number]));
  try {
    await deps.db.insert(surveyResponses).values({ round, accountId: actor.id, unitCode: actor.unitCode, scores, comment: answer.comment?.trim() || null });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`You have answered round ${round} already.`);
    throw error;
  }
  return round;
}

/** The mean of each question, to two decimals (null without answers). */
const mean = (value: unknown) => (value === null || value === undefined ? null : Math.round(Number(value) * 100) / 100);

/** One average per question as SQL select items (`avg_<id>`), over `survey_responses r`. */
const averagesSql = () =>
  sql.join(
    SURVEY_QUESTIONS.map((q) => sql`avg((r.scores ->> ${q.id})::numeric) as ${sql.identifier(`avg_${q.id}`)}`),
    sql`, `,
  );

/** Each question's score read once per answer (a column per question id), over `survey_responses r`. */
const scoreColumnsSql = () =>
  sql.join(
    SURVEY_QUESTIONS.map((q) => sql`(r.scores ->> ${q.id})::int as ${sql.identifier(q.id)}`),
    sql`, `,
  );

/** Per question, the mean (`avg_<id>`) and how many gave each score (`n_<id>_<score>`), over the columns of `scoreColumnsSql` as `s`. */
const summarySql = () =>
  sql.join(
    SURVEY_QUESTIONS.flatMap((q) => [
      sql`avg(s.${sql.identifier(q.id)}) as ${sql.identifier(`avg_${q.id}`)}`,
      ...SURVEY_SCALE.map((n) => sql`(count(*) filter (where s.${sql.identifier(q.id)} = ${n}))::int as ${sql.identifier(`n_${q.id}_${n}`)}`),
    ]),
    sql`, `,
  );

/** Responses, average, count and distribution per question, of one round where `inScope` (over `survey_responses r`): one pass. */
async function aggregate(db: Queryable, round: string, inScope: SQL | undefined) {
  const [totals] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`select count(*)::int as responses, ${summarySql()}
      from (select ${scoreColumnsSql()} from ${surveyResponses} r where r.round = ${round}${inScope ? sql` and ${inScope}` : sql``}) s`),
  );
  return {
    responses: Number(totals?.responses ?? 0),
    questions: SURVEY_QUESTIONS.map((q) => {
      const distribution = Object.fromEntries(SURVEY_SCALE.map((n) => [String(n), Number(totals?.[`n_${q.id}_${n}`] ?? 0)]));
      return {
        id: q.id,
        textTh: q.textTh,
        textEn: q.textEn,
        count: Object.values(distribution).reduce((a, b) => a + b, 0),
        average: mean(totals?.[`avg_${q.id}`]),
        distribution,
      };
    }),
  };
}

/** Averages and distributions per question over the admin's units (or the subtree under `under`): the API's. */
export async function surveyResults(deps: Pick<ServiceDeps, 'db' | 'config'>, actor: Actor, query: { under?: string | undefined; round?: string | undefined }) {
  const round = query.round ?? currentRound(deps.config);
  const { under } = query;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  if (under && !(await mayActFor(deps.db, actor, under))) throw forbidden(`You do not administer ${under} or a unit above it.`);
  const inScope = under ? sql`r.unit_code in ${subtreeSql([under])}` : withinScopeSql(actor, sql`r.unit_code`);
  const results = await aggregate(deps.db, round, inScope);
  const comments = rowsOf<{ comment: string }>(
    await deps.db.execute(sql`select r.comment from ${surveyResponses} r
      where r.round = ${round} and r.comment is not null${inScope ? sql` and ${inScope}` : sql``} order by r.created_at, r.id limit 200`),
  );
  return { round, under: under ?? null, ...results, comments: comments.map((c) => c.comment) };
}

// The console's results page: per round and subtree, the child units side by side, the comments
// page by page, and the answers as CSV. Every figure is aggregated in SQL over the tree's rows.

const inViewSql = (view: UnitView) => sql`r.unit_code in (select code from ${unitRowsSql(view.view)} v)`;

/** The rounds that have answers, newest first, with the current one. */
async function roundsWithAnswers(deps: Pick<ServiceDeps, 'db' | 'config'>): Promise<string[]> {
  const rows = rowsOf<{ round: string }>(await deps.db.execute(sql`select distinct round from ${surveyResponses} order by round desc limit 50`));
  return [...new Set([currentRound(deps.config), ...rows.map((r) => r.round)])].sort().reverse();
}

export interface SurveyUnitRow {
  code: string;
  nameTh: string;
  kind: string;
  self: boolean;
  responses: number;
  /** Mean per question id. */
  averages: Record<string, number | null>;
  /** Rank by the mean of the overall question, 1 = best; null without answers. */
  rank: number | null;
}

/** The results of one round over the view's subtree, with its row units side by side and ranked. */
export async function surveyReport(deps: Pick<ServiceDeps, 'db' | 'config'>, actor: Actor, query: { under?: string | undefined; round?: string | undefined }) {
  const view = await resolveUnitView(deps, actor, query.under);
  const round = query.round ?? currentRound(deps.config);
  // Three independent scans, side by side on the pool's connections.
  const [results, perRowResult, rounds] = await Promise.all([
    aggregate(deps.db, round, inViewSql(view)),
    deps.db.execute(sql`select v.row_code, count(*)::int as responses, ${averagesSql()}
      from ${surveyResponses} r join ${unitRowsSql(view.view)} v on v.code = r.unit_code
      where r.round = ${round} group by v.row_code`),
    roundsWithAnswers(deps),
  ]);
  const perRow = rowsOf<Record<string, unknown> & { row_code: string; responses: number }>(perRowResult);
  const byCode = new Map(perRow.map((r) => [r.row_code, r]));
  const units: SurveyUnitRow[] = view.rows.map((u) => {
    const row = byCode.get(u.code);
    return {
      ...u,
      responses: row ? Number(row.responses) : 0,
      averages: Object.fromEntries(SURVEY_QUESTIONS.map((q) => [q.id, mean(row?.[`avg_${q.id}`])])),
      rank: null,
    };
  });
  // Ranked by overall satisfaction, then by the number of answers; units without answers last, by code.
  const ranked = units
    .filter((u) => u.responses > 0)
    .sort((a, b) => (b.averages.overall ?? 0) - (a.averages.overall ?? 0) || b.responses - a.responses || a.code.localeCompare(b.code));
  ranked.forEach((u, i) => (u.rank = i + 1));
  const unanswered = units.filter((u) => u.responses === 0);
  return { round, rounds, ...view, ...results, units: [...ranked, ...unanswered] };
}

export interface SurveyComment {
  id: string;
  comment: string;
  unitCode: string | null;
  unitNameTh: string | null;
  createdAt: Date;
}

/** The comments of a round over the view's subtree, newest first, a page at a time (keyset on time and id). */
export async function surveyComments(
  deps: Pick<ServiceDeps, 'db' | 'config'>,
  actor: Actor,
  query: { under?: string | undefined; round?: string | undefined; after?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<SurveyComment[]> {
  const view = await resolveUnitView(deps, actor, query.under);
  const round = query.round ?? currentRound(deps.config);
  const after = query.after ? sql` and (r.created_at, r.id) < (${query.after.createdAt}::timestamptz, ${query.after.id}::uuid)` : sql``;
  const rows = rowsOf<{ id: string; comment: string; unit_code: string | null; name_th: string | null; created_at: string | Date }>(
    await deps.db.execute(sql`select r.id, r.comment, r.unit_code, u.name_th, r.created_at
      from ${surveyResponses} r left join org_units u on u.code = r.unit_code
      where r.round = ${round} and r.comment is not null and ${inViewSql(view)}${after}
      order by r.created_at desc, r.id desc limit ${query.limit}`),
  );
  return rows.map((r) => ({ id: r.id, comment: r.comment, unitCode: r.unit_code, unitNameTh: r.name_th, createdAt: new Date(r.created_at) }));
}

interface AnswerRow {
  id: string;
  created_at: string | Date;
  unit_code: string | null;
  name_th: string | null;
  scores: Record<string, number>;
  comment: string | null;
}

/** The columns of the answers' CSV: no account, only the unit and the scores. */
export const SURVEY_CSV_COLUMNS = ['round', 'answeredAt', 'unitCode', 'unitNameTh', ...SURVEY_QUESTIONS.map((q) => q.id), 'comment'];

/**
 * The answers of a round over the view's subtree as CSV rows, read in keyset batches so that a
 * country's answers never sit in memory at once. The scope is checked before anything is read.
 */
export async function surveyAnswerRows(
  deps: Pick<ServiceDeps, 'db' | 'config'>,
  actor: Actor,
  query: { under?: string | undefined; round?: string | undefined },
): Promise<{ round: string; under: string | null; rows: AsyncIterable<unknown[]> }> {
  const view = await resolveUnitView(deps, actor, query.under);
  const round = query.round ?? currentRound(deps.config);
  const BATCH = 1_000;
  const batches = inBatches<AnswerRow>(BATCH, async (last) =>
    rowsOf<AnswerRow>(
      await deps.db.execute(sql`select r.id, r.created_at, r.unit_code, u.name_th, r.scores, r.comment
        from ${surveyResponses} r left join org_units u on u.code = r.unit_code
        where r.round = ${round} and ${inViewSql(view)}${last ? sql` and r.id > ${last.id}::uuid` : sql``}
        order by r.id limit ${BATCH}`),
    ),
  );
  async function* rows() {
    for await (const r of batches) {
      yield [round, new Date(r.created_at), r.unit_code, r.name_th, ...SURVEY_QUESTIONS.map((q) => r.scores[q.id] ?? null), r.comment];
    }
  }
  return { round, under: view.unit?.code ?? null, rows: rows() };
}
