// Changing, forgetting and resetting a password (being built: issue 13).
import type { FastifyInstance } from 'fastify';

export default async function passwordRoutes(_app: FastifyInstance) {}
