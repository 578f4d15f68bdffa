// The portal's API: the connected systems the signed-in person may open, and the satisfaction survey.
import type { FastifyInstance } from 'fastify';
import { systemsOpenTo } from '../../services/portal.ts';
import { currentSurvey, recordSurveyResponse, SURVEY_QUESTIONS, SURVEY_SCALE, surveyResults } from '../../services/survey.ts';
import { problem } from '../responses.ts';
import { answer, nullableText, text, unitCode } from '../schemas.ts';

const question = { id: text, textTh: text, textEn: text } as const;

export default async function portalRoutes(app: FastifyInstance) {
  app.get(
    '/me/systems',
    {
      config: { scope: 'signed-in' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['portal'],
        security: [{ bearer: [] }],
        description: 'The connected systems the signed-in person may open, with their roles there.',
        response: {
          200: answer({
            items: { type: 'array', items: answer({ code: text, nameTh: text, nameEn: nullableText, url: text, roles: { type: 'array', items: text } }) },
          }),
        },
      },
    },
    async (request) => ({ items: await systemsOpenTo(app.deps, request.account!) }),
  );

  app.get(
    '/survey',
    {
      config: { scope: 'public' },
      schema: { tags: ['survey'], response: { 200: answer({ round: text, questions: { type: 'array', items: answer(question) } }) } },
    },
    async () => currentSurvey(app.deps),
  );

  app.post<{ Body: { round?: string; scores: Record<string, number>; comment?: string } }>(
    '/survey-responses',
    {
      config: { scope: 'signed-in' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['survey'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['scores'],
          additionalProperties: false,
          properties: {
            round: { type: 'string', maxLength: 20 },
            scores: {
              type: 'object',
              additionalProperties: false,
              required: SURVEY_QUESTIONS.map((q) => q.id),
              properties: Object.fromEntries(SURVEY_QUESTIONS.map((q) => [q.id, { type: 'integer', minimum: SURVEY_SCALE[0], maximum: SURVEY_SCALE.at(-1) }])),
            },
            comment: { type: 'string', maxLength: 2000 },
          },
        },
        response: { 201: answer({ round: text }), 409: problem('You have answered this round already.') },
      },
    },
    async (request, reply) => reply.status(201).send({ round: await recordSurveyResponse(app.deps, request.account!, request.body) }),
  );

  app.get<{ Querystring: { under?: string; round?: string } }>(
    '/survey-results',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['survey'],
        security: [{ bearer: [] }],
        querystring: { type: 'object', additionalProperties: false, properties: { under: unitCode, round: { type: 'string', maxLength: 20 } } },
        response: {
          200: answer({
            round: text,
            under: nullableText,
            responses: { type: 'integer' },
            questions: {
              type: 'array',
              items: answer({
                ...question,
                count: { type: 'integer' },
                average: { type: ['number', 'null'] },
                distribution: { type: 'object', additionalProperties: { type: 'integer' }, description: 'How many gave each score, 1 to 5.' },
              }),
            },
            comments: { type: 'array', items: text },
          }),
        },
      },
    },
    async (request) => surveyResults(app.deps, request.account!, request.query),
  );
}
