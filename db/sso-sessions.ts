// Ending a person's sign-ins everywhere, in the transaction that suspends them or takes a right
// away: API tokens revoked, single sign-on sessions, grants and refresh tokens deleted, and a
// back-channel logout notice queued for every connected system they were signed in to. Whatever
// they still may open, they open after signing in again, with tokens that carry their new roles.
import { and, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Queryable } from './client.ts';
import { authTokens, oidcPayloads, ssoLogoutOutbox, systems } from './schema.ts';

interface SessionPayload {
  authorizations?: Record<string, { sid?: string }>;
}

/** Returns how many logout notices were queued. */
export async function endSignIns(tx: Queryable, accountId: string, reason: string): Promise<number> {
  // One round trip: API tokens revoked, and every single sign-on artefact deleted and returned.
  const removed = rowsOf<{ model: string; payload: unknown }>(
    await tx.execute(sql`
    with revoked as (update ${authTokens} set revoked_at = now() where account_id = ${accountId} and revoked_at is null)
    delete from ${oidcPayloads} where account_id = ${accountId} returning model, payload`),
  );
  const notices = removed
    .filter((r) => r.model === 'Session')
    .flatMap((s) => Object.entries((s.payload as SessionPayload).authorizations ?? {}).map(([clientId, auth]) => ({ clientId, sid: auth.sid ?? null })));
  if (notices.length === 0) return 0;
  const listening = await tx
    .select({ clientId: sql<string>`${systems.oidc}->>'clientId'` })
    .from(systems)
    .where(
      and(inArray(sql`${systems.oidc}->>'clientId'`, [...new Set(notices.map((n) => n.clientId))]), sql`${systems.oidc}->>'backchannelLogoutUri' is not null`),
    );
  const wanted = new Set(listening.map((l) => l.clientId));
  const rows = notices.filter((n) => wanted.has(n.clientId)).map((n) => ({ clientId: n.clientId, accountId, sid: n.sid, reason }));
  if (rows.length > 0) await tx.insert(ssoLogoutOutbox).values(rows);
  return rows.length;
}

/** Of these accounts, those with anything of the single sign-on stored (most have nothing). */
export async function accountsWithSsoState(tx: Queryable, accountIds: string[]): Promise<string[]> {
  if (accountIds.length === 0) return [];
  const rows = await tx.selectDistinct({ accountId: oidcPayloads.accountId }).from(oidcPayloads).where(inArray(oidcPayloads.accountId, accountIds));
  return rows.map((r) => r.accountId!);
}
