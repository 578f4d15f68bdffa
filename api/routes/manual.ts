// The manual and the printable QR sheet (being built: issue 12).
import type { FastifyInstance } from 'fastify';

export default async function manualRoutes(_app: FastifyInstance) {}
