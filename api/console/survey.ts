// Console pages of the survey flow (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function surveyPages(_app: FastifyInstance) {}
