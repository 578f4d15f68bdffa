// Bearer tokens (stored hashed, expiring, revocable) and the admin scope that follows the tree:
// an SSO admin acts for their unit and every unit below it; DLA central acts everywhere.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { mayActFor } from '../../db/org-tree.ts';
import { rolesOf, type Actor } from '../../services/actor.ts';
import { tokenSignIn } from '../../services/sign-in.ts';
import { forbidden, SecondFactorProblem, unauthorized } from '../../lib/problem.ts';
import { secondFactorIsRecent } from '../../services/mfa.ts';

const RECONFIRM =
  'ยืนยันรหัสจากแอปยืนยันตัวตนอีกครั้งก่อนทำรายการนี้ (POST /api/v1/auth/mfa/confirm) / Confirm with a code again before this (POST /api/v1/auth/mfa/confirm).';

/** The signed-in account: the services' Actor. */
export type SignedInAccount = Actor;

declare module 'fastify' {
  interface FastifyRequest {
    account: SignedInAccount | null;
    /** When the request's sign-in last showed a second factor (a code or ThaiID); null: never. */
    secondFactorAt: Date | null;
  }
  interface FastifyInstance {
    /** preHandler: 401 without a valid token. */
    requireAccount: (request: FastifyRequest) => Promise<void>;
    /** preHandler: 403 unless the account administers some unit. */
    requireAdmin: (request: FastifyRequest) => Promise<void>;
    /** preHandler: 401 `mfa: required` unless the sign-in showed its second factor recently (ADMIN_MFA_RECONFIRM_AFTER). */
    requireRecentSecondFactor: (request: FastifyRequest) => Promise<void>;
    /** preHandler: 403 unless DLA central admin. */
    requireCentralAdmin: (request: FastifyRequest) => Promise<void>;
    /** May this signed-in account act for `unitCode` (an admin of it or of a unit above it)? */
    mayActFor(account: SignedInAccount, unitCode: string): Promise<boolean>;
    rolesOf(account: SignedInAccount): string[];
  }
}

export default fp(async function auth(app: FastifyInstance) {
  const { db } = app.deps;
  if (app.deps.config.adminMfa.mode === 'off') {
    app.log.warn('ADMIN_MFA=off: SSO admins sign in without a second factor and are never asked to confirm again; for closed test environments only');
  }
  app.decorateRequest('account', null);
  app.decorateRequest('secondFactorAt', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Bearer tokens are the API's; the OIDC endpoints read their own Authorization (client_secret_basic).
    if (!request.url.startsWith('/api/')) return;
    const header = request.headers.authorization;
    if (!header) return;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('The Authorization header must be "Bearer <token>".');
    const signIn = await tokenSignIn(db, match[1]!);
    if (!signIn) throw unauthorized('The token is unknown, expired or revoked; sign in again.');
    request.account = signIn.actor;
    request.secondFactorAt = signIn.secondFactorAt;
    if (!request.account) throw unauthorized('The account is no longer active.');
  });

  app.decorate('requireAccount', async (request: FastifyRequest) => {
    if (!request.account) throw unauthorized();
  });
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    if (!request.account) throw unauthorized();
    if (!request.account.central && request.account.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  });
  app.decorate('requireRecentSecondFactor', async (request: FastifyRequest) => {
    if (!request.account) throw unauthorized();
    if (!secondFactorIsRecent(app.deps, request.secondFactorAt)) throw new SecondFactorProblem('required', RECONFIRM);
  });
  app.decorate('requireCentralAdmin', async (request: FastifyRequest) => {
    if (!request.account) throw unauthorized();
    if (!request.account.central) throw forbidden('Only DLA central admins may do this.');
  });

  app.decorate('mayActFor', (account: SignedInAccount, unitCode: string) => mayActFor(db, account, unitCode));

  app.decorate('rolesOf', rolesOf);
});
