// The console's re-confirmation step, beside the pages that use it (the console's index loads those
// pages, so it cannot live there without an import loop).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { secondFactorIsRecent } from '../services/mfa.ts';

/**
 * For the console's actions that need a recent second factor (approving an appointment, resetting
 * someone's second factor): true when this sign-in showed one within ADMIN_MFA_RECONFIRM_AFTER;
 * otherwise the browser is sent to confirm it (a code, or ThaiID) and back to `back`, where the
 * form is sent again, and false.
 */
export async function secondFactorConfirmed(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, back: string): Promise<boolean> {
  // The session is read only when the second factor is on.
  if (app.deps.config.adminMfa.mode !== 'required') return true;
  if (secondFactorIsRecent(app.deps, (await app.browserAccount(request))?.secondFactorAt)) return true;
  void reply.redirect(`/login/confirm?return=${encodeURIComponent(back)}`, 303);
  return false;
}
