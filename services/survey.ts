// The satisfaction survey that the 2023 letter asks every SSO user to answer: one answer per person
// and round, and the results of an admin's units.
import { and, eq, sql } from 'drizzle-orm';
import { isUniqueViolation } from '../db/identity.ts';
import { mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import { surveyResponses } from '../db/schema.ts';
import { badRequest, conflict, forbidden } from '../lib/problem.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';

export const SURVEY_QUESTIONS = [
  { id: 'registration', textTh: 'ความสะดวกในการลงทะเบียนและยื่นเอกสาร', textEn: 'How easy it was to register and upload documents' },
  { id: 'approval', textTh: 'ความรวดเร็วในการอนุมัติคำขอ', textEn: 'How fast the request was approved' },
  { id: 'sign_in', textTh: 'ความสะดวกในการเข้าสู่ระบบ (ThaiID หรือชื่อผู้ใช้งาน)', textEn: 'How easy it is to sign in (ThaiID or username)' },
  { id: 'systems', textTh: 'ความสะดวกในการเข้าใช้ระบบที่เชื่อมโยง', textEn: 'How easy it is to open the connected systems' },
  { id: 'overall', textTh: 'ความพึงพอใจโดยรวม', textEn: 'Overall satisfaction' },
] as const;

export const SURVEY_SCALE = [1, 2, 3, 4, 5] as const;

/** The current round and its questions. */
export const currentSurvey = (deps: Pick<ServiceDeps, 'config'>) => ({ round: deps.config.surveyRound, questions: SURVEY_QUESTIONS });

/** One answer per person and round (the API's and the survey page's): every question scored 1..5. */
export async function recordSurveyResponse(
  deps: Pick<ServiceDeps, 'db' | 'config'>,
  actor: Pick<Actor, 'id' | 'unitCode'>,
  answer: { round?: string | undefined; scores: Record<string, unknown>; comment?: string | undefined },
): Promise<string> {
  const currentRound = deps.config.surveyRound;
  const round = answer.round ?? currentRound;
  if (round !== currentRound)
    throw badRequest(`Round ${round} is not open; the current round is ${currentRound}.`, [{ path: 'round', message: 'not the current round' }]);
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

/** Averages and distributions per question over the admin's units (or the subtree under `under`). */
export async function surveyResults(deps: Pick<ServiceDeps, 'db' | 'config'>, actor: Actor, query: { under?: string | undefined; round?: string | undefined }) {
  const round = query.round ?? deps.config.surveyRound;
  const { under } = query;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  if (under && !(await mayActFor(deps.db, actor, under))) throw forbidden(`You do not administer ${under} or a unit above it.`);
  const rows = await deps.db
    .select({ scores: surveyResponses.scores, comment: surveyResponses.comment })
    .from(surveyResponses)
    .where(
      and(
        eq(surveyResponses.round, round),
        under ? sql`${surveyResponses.unitCode} in ${subtreeSql([under])}` : withinScopeSql(actor, surveyResponses.unitCode),
      ),
    );
  return {
    round,
    under: under ?? null,
    responses: rows.length,
    questions: SURVEY_QUESTIONS.map((q) => {
      const values = rows.map((r) => r.scores[q.id]).filter((v): v is number => typeof v === 'number');
      const distribution = Object.fromEntries(SURVEY_SCALE.map((n) => [String(n), values.filter((v) => v === n).length]));
      return {
        id: q.id,
        textTh: q.textTh,
        textEn: q.textEn,
        count: values.length,
        average: values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100 : null,
        distribution,
      };
    }),
    comments: rows
      .map((r) => r.comment)
      .filter((c): c is string => !!c)
      .slice(0, 200),
  };
}
