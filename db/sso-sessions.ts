// Ending a person's sign-ins everywhere, in the transaction that suspends them or changes their
// rights: API tokens revoked, single sign-on sessions, grants and refresh tokens deleted, and a
// back-channel logout notice queued for every connected system they were signed in to.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { authTokens, oidcPayloads, ssoLogoutOutbox, systems } from './schema.ts';

interface SessionPayload { authorizations?: Record<string, { sid?: string; grantId?: string }> }

/**
 * `systemCodes` given: only those systems lose the person (their roles there changed); the
 * person's own sign-in and other systems stay. Otherwise everything of the account ends.
 * Returns how many logout notices were queued.
 */
export async function endSignIns(tx: Db, accountId: string, reason: string, systemCodes?: string[]): Promise<number> {
  const whole = systemCodes === undefined;
  if (!whole && systemCodes.length === 0) return 0;
  if (whole) await tx.update(authTokens).set({ revokedAt: new Date() }).where(and(eq(authTokens.accountId, accountId), isNull(authTokens.revokedAt)));

  const sessions = await tx.select({ id: oidcPayloads.id, payload: oidcPayloads.payload }).from(oidcPayloads)
    .where(and(eq(oidcPayloads.model, 'Session'), eq(oidcPayloads.accountId, accountId)));
  const notices: { clientId: string; sid: string | null }[] = [];
  const grantIds: string[] = [];
  for (const session of sessions) {
    for (const [clientId, auth] of Object.entries((session.payload as SessionPayload).authorizations ?? {})) {
      if (!whole && !systemCodes.includes(clientId)) continue;
      notices.push({ clientId, sid: auth.sid ?? null });
      if (auth.grantId) grantIds.push(auth.grantId);
    }
  }
  if (whole) {
    await tx.delete(oidcPayloads).where(eq(oidcPayloads.accountId, accountId));
  } else {
    // Grants and every token under them, for those systems only (the session itself stays).
    await tx.delete(oidcPayloads).where(and(eq(oidcPayloads.accountId, accountId), inArray(sql`${oidcPayloads.payload}->>'clientId'`, systemCodes)));
    if (grantIds.length > 0) await tx.delete(oidcPayloads).where(inArray(oidcPayloads.grantId, grantIds));
  }

  const listening = notices.length === 0 ? [] : await tx.select({ clientId: sql<string>`${systems.oidc}->>'clientId'` }).from(systems)
    .where(and(inArray(sql`${systems.oidc}->>'clientId'`, [...new Set(notices.map((n) => n.clientId))]), sql`${systems.oidc}->>'backchannelLogoutUri' is not null`));
  const wanted = new Set(listening.map((l) => l.clientId));
  const rows = notices.filter((n) => wanted.has(n.clientId)).map((n) => ({ clientId: n.clientId, accountId, sid: n.sid, reason }));
  if (rows.length > 0) await tx.insert(ssoLogoutOutbox).values(rows);
  return rows.length;
}
