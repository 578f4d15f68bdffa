// Console pages of the campaigns flow (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function campaignsPages(_app: FastifyInstance) {}
