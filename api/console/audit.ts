// Console pages of the audit flow (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function auditPages(_app: FastifyInstance) {}
