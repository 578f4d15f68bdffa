// The portal: the connected systems the signed-in person may open, and the satisfaction survey
// that the 2023 letter asks every SSO user to answer.
import { and, asc, eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/client.ts';
import { subtreeSql } from '../../db/org-tree.ts';
import { entitlements, surveyResponses, systems } from '../../db/schema.ts';
import { isUniqueViolation } from '../../db/identity.ts';
import { badRequest, conflict, forbidden, notFound } from '../../lib/problem.ts';
import { unitCode } from '../schemas.ts';

export const SURVEY_QUESTIONS = [
  { id: 'registration', textTh: 'ความสะดวกในการลงทะเบียนและยื่นเอกสาร', textEn: 'How easy it was to register and upload documents' },
  { id: 'approval', textTh: 'ความรวดเร็วในการอนุมัติคำขอ', textEn: 'How fast the request was approved' },
  { id: 'sign_in', textTh: 'ความสะดวกในการเข้าสู่ระบบ (ThaiID หรือชื่อผู้ใช้งาน)', textEn: 'How easy it is to sign in (ThaiID or username)' },
  { id: 'systems', textTh: 'ความสะดวกในการเข้าใช้ระบบที่เชื่อมโยง', textEn: 'How easy it is to open the connected systems' },
  { id: 'overall', textTh: 'ความพึงพอใจโดยรวม', textEn: 'Overall satisfaction' },
] as const;

/** The connected systems a person may open (an active right there), with their roles. */
export async function systemsOpenTo(db: Db, accountId: string) {
  const rights = await db.select({ code: systems.code, nameTh: systems.nameTh, nameEn: systems.nameEn, url: systems.url, role: entitlements.role })
    .from(entitlements).innerJoin(systems, eq(systems.code, entitlements.systemCode))
    .where(and(eq(entitlements.accountId, accountId), eq(entitlements.status, 'active'))).orderBy(asc(systems.code), asc(entitlements.role));
  const bySystem = new Map<string, { code: string; nameTh: string; nameEn: string | null; url: string; roles: string[] }>();
  for (const r of rights) {
    const entry = bySystem.get(r.code) ?? { code: r.code, nameTh: r.nameTh, nameEn: r.nameEn, url: r.url, roles: [] };
    if (!entry.roles.includes(r.role)) entry.roles.push(r.role);
    bySystem.set(r.code, entry);
  }
  return [...bySystem.values()];
}

/** One answer per person and round (the API's and the survey page's), scores already checked 1..5. */
export async function recordSurveyResponse(db: Db, currentRound: string, me: { id: string; unitCode: string | null },
  answer: { round?: string; scores: Record<string, number>; comment?: string }): Promise<string> {
  const round = answer.round ?? currentRound;
  if (round !== currentRound) throw badRequest(`Round ${round} is not open; the current round is ${currentRound}.`, [{ path: 'round', message: 'not the current round' }]);
  try {
    await db.insert(surveyResponses).values({ round, accountId: me.id, unitCode: me.unitCode, scores: answer.scores, comment: answer.comment?.trim() || null });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`You have answered round ${round} already.`);
    throw error;
  }
  return round;
}

export default async function portalRoutes(app: FastifyInstance) {
  const { db, config } = app.deps;

  app.get('/me/systems', {
    preValidation: app.requireAccount,
    schema: { tags: ['portal'], security: [{ bearer: [] }], description: 'The connected systems the signed-in person may open, with their roles there.' },
  }, async (request) => ({ items: await systemsOpenTo(db, request.account!.id) }));

  app.get('/survey', { schema: { tags: ['survey'] } }, async () => ({ round: config.surveyRound, questions: SURVEY_QUESTIONS }));

  app.post<{ Body: { round?: string; scores: Record<string, number>; comment?: string } }>('/survey-responses', {
    preValidation: app.requireAccount,
    schema: {
      tags: ['survey'], security: [{ bearer: [] }],
      body: {
        type: 'object', required: ['scores'], additionalProperties: false,
        properties: {
          round: { type: 'string', maxLength: 20 },
          scores: {
            type: 'object', additionalProperties: false, required: SURVEY_QUESTIONS.map((q) => q.id),
            properties: Object.fromEntries(SURVEY_QUESTIONS.map((q) => [q.id, { type: 'integer', minimum: 1, maximum: 5 }])),
          },
          comment: { type: 'string', maxLength: 2000 },
        },
      },
    },
  }, async (request, reply) => reply.status(201).send({ round: await recordSurveyResponse(db, config.surveyRound, request.account!, request.body) }));

  app.get<{ Querystring: { under?: string; round?: string } }>('/survey-results', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['survey'], security: [{ bearer: [] }],
      querystring: { type: 'object', additionalProperties: false, properties: { under: unitCode, round: { type: 'string', maxLength: 20 } } },
    },
  }, async (request) => {
    const me = request.account!;
    const round = request.query.round ?? config.surveyRound;
    const under = request.query.under;
    if (under && !(await app.mayActFor(me, under))) throw forbidden(`You do not administer ${under} or a unit above it.`);
    if (!under && !me.central && me.adminUnits.length === 0) throw notFound('No units to report on.');
    const scope = under ? [under] : me.central ? null : me.adminUnits;
    const rows = await db.select({ scores: surveyResponses.scores, comment: surveyResponses.comment }).from(surveyResponses)
      .where(and(eq(surveyResponses.round, round), scope ? sql`${surveyResponses.unitCode} in ${subtreeSql(scope)}` : undefined));
    return {
      round, under: under ?? null, responses: rows.length,
      questions: SURVEY_QUESTIONS.map((q) => {
        const values = rows.map((r) => r.scores[q.id]).filter((v): v is number => typeof v === 'number');
        const distribution = Object.fromEntries([1, 2, 3, 4, 5].map((n) => [String(n), values.filter((v) => v === n).length]));
        return { id: q.id, textTh: q.textTh, textEn: q.textEn, count: values.length,
          average: values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100 : null, distribution };
      }),
      comments: rows.map((r) => r.comment).filter((c): c is string => !!c).slice(0, 200),
    };
  });
}
