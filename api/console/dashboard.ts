// Console pages of the dashboard flow (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function dashboardPages(_app: FastifyInstance) {}
