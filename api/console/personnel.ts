// Console pages of the personnel flow (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function personnelPages(_app: FastifyInstance) {}
