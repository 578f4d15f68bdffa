// The helpdesk's reset of a lost second factor (issue 13): an admin who lost both the phone and the
// recovery codes asks an SSO admin over their unit, who removes the factor with a reason. Their
// sign-ins end, they are told by mail, and their next password sign-in sets up a new authenticator
// (as Okta's "reset factors" or Entra's "require re-register MFA" do). Nobody resets their own here:
// with ThaiID they set up a new one themselves (services/mfa.ts, restartTotpEnrolment).
import { randomUUID } from 'node:crypto';
import { actorOf, writeAudit } from '../db/audit.ts';
import { endSignIns } from '../db/sso-sessions.ts';
import { administeredAccount, reasonOf } from './accounts.ts';
import type { Actor } from './actor.ts';
import { removeSecondFactor } from './mfa.ts';
import { mailSoon, type Log } from './passwords.ts';
import { deliverLogouts, type SignInDeps } from './sign-in.ts';

/**
 * Removes the account's second factor (its TOTP and every recovery code), with a reason, audited;
 * every sign-in of the person ends and they are mailed. `changed` false when they had none (nothing
 * is done then). The scope of every other account action: an admin over the account's unit, never
 * their own account. The caller has checked the acting admin's recent second factor.
 */
export async function resetSecondFactor(
  deps: SignInDeps,
  actor: Actor,
  id: string,
  input: { reason: string },
  log: Log,
): Promise<{ id: string; changed: boolean }> {
  const reason = reasonOf(input.reason).trim();
  const account = await administeredAccount(deps.db, actor, id);
  const at = new Date();
  const changed = await deps.db.transaction(async (tx) => {
    const had = await removeSecondFactor(tx, account.id);
    if (!had) return false;
    await endSignIns(tx, account.id, `second factor reset by ${actor.id}`);
    await writeAudit(tx, {
      key: `account:${account.id}:mfa-reset:${randomUUID()}`,
      actorAccountId: actor.id,
      actor: actorOf(actor.id),
      action: 'account.mfa_reset',
      subjectType: 'account',
      subjectId: account.id,
      unitCode: account.unitCode,
      reason,
      before: { method: had.enrolledAt ? 'totp' : null, enrolledAt: had.enrolledAt?.toISOString() ?? null, recoveryCodesLeft: had.recoveryCodesLeft },
      after: { method: null },
    });
    return true;
  });
  if (!changed) return { id: account.id, changed };
  await deliverLogouts(deps, account.id);
  mailSoon(deps, log, account, `mfa-reset.${account.id}.${at.getTime()}`, 'mfa-reset', {
    firstNameTh: account.firstNameTh,
    lastNameTh: account.lastNameTh,
    username: account.username,
    at: at.toISOString(),
    loginUrl: `${deps.config.publicUrl}/login`,
  });
  return { id: account.id, changed };
}
