// Delivers the back-channel logout notices that `endSignIns` queued (OpenID Connect Back-Channel
// Logout 1.0): a signed logout token POSTed to each system's registered URI. Sent right after the
// change commits, and again by the sweeper until the system answers; a notice delivered twice is
// harmless (the system has no session left to end).
import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { importJWK, SignJWT } from 'jose';
import type { Db } from '../../db/client.ts';
import { deleteExpiredOidcPayloads } from './oidc-adapter.ts';
import { ssoLogoutOutbox, systems } from '../../db/schema.ts';
import type { LogoutSigner } from './keys.ts';
export type { LogoutSigner };

/**
 * A notice that failed waits longer each time: tried again from 2^attempts - 1 seconds after it was
 * queued (1 s, 3 s, 7 s … capped at a day), and given up two days after it was queued.
 */
const dueForDelivery = sql`${ssoLogoutOutbox.createdAt} > now() - interval '2 days'
  and now() >= ${ssoLogoutOutbox.createdAt} + make_interval(secs => least(power(2, ${ssoLogoutOutbox.attempts}) - 1, 86400))`;

async function logoutToken(signer: LogoutSigner, clientId: string, sub: string, sid: string | null): Promise<string> {
  const jwk = signer.keys.keys[0]!;
  const key = await importJWK(jwk, jwk.alg ?? 'RS256');
  return new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, ...(sid ? { sid } : {}) })
    .setProtectedHeader({ alg: jwk.alg ?? 'RS256', kid: jwk.kid!, typ: 'logout+jwt' })
    .setIssuer(signer.issuer)
    .setAudience(clientId)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('2m')
    .setJti(randomUUID())
    .sign(key);
}

/**
 * Sends pending notices (of one account, or all); returns how many were delivered. The notices are
 * claimed for the send (rows locked, SKIP LOCKED), so that several processes sweeping the same outbox
 * never post one notice twice at once; a process that dies mid-send releases its claim with its
 * connection, and the notice is tried again.
 */
export async function deliverSsoLogouts(db: Db, signer: LogoutSigner, options: { accountId?: string; timeoutMs?: number } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    const pending = await tx
      .select({
        id: ssoLogoutOutbox.id,
        clientId: ssoLogoutOutbox.clientId,
        accountId: ssoLogoutOutbox.accountId,
        sid: ssoLogoutOutbox.sid,
        uri: sql<string | null>`${systems.oidc}->>'backchannelLogoutUri'`,
      })
      .from(ssoLogoutOutbox)
      .leftJoin(systems, sql`${systems.oidc}->>'clientId' = ${ssoLogoutOutbox.clientId}`)
      .where(and(isNull(ssoLogoutOutbox.sentAt), dueForDelivery, ...(options.accountId ? [eq(ssoLogoutOutbox.accountId, options.accountId)] : [])))
      .orderBy(asc(ssoLogoutOutbox.id))
      .limit(200)
      .for('update', { of: ssoLogoutOutbox, skipLocked: true });
    const outcomes = await Promise.all(
      pending.map(async (notice) => {
        if (!notice.uri) return { id: notice.id, error: 'the system no longer has a back-channel logout URI' };
        try {
          const response = await fetch(notice.uri, {
            method: 'POST',
            redirect: 'error',
            signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ logout_token: await logoutToken(signer, notice.clientId, notice.accountId, notice.sid) }),
          });
          return { id: notice.id, error: response.ok ? null : `HTTP ${response.status}` };
        } catch (cause) {
          return { id: notice.id, error: cause instanceof Error ? cause.message : String(cause) };
        }
      }),
    );
    // One connection per transaction: the outcomes are written one after the other.
    for (const { id, error } of outcomes) {
      await tx
        .update(ssoLogoutOutbox)
        .set(
          error === null
            ? { sentAt: new Date(), attempts: sql`${ssoLogoutOutbox.attempts} + 1` }
            : { attempts: sql`${ssoLogoutOutbox.attempts} + 1`, lastError: error.slice(0, 500) },
        )
        .where(eq(ssoLogoutOutbox.id, id));
    }
    return outcomes.filter((o) => o.error === null).length;
  });
}

/**
 * The single sign-on's chores in a long-running process: retry the logout notices that could not
 * be delivered at once (a system was down), every few seconds; reclaim expired sessions and
 * tokens (already dead to the provider) every ten minutes.
 */
export function startSsoHousekeeping(db: Db, signer: LogoutSigner, everyMs = 5000, onError: (error: unknown) => void = () => {}): () => void {
  let running = false;
  let lastCleanup = Date.now();
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const cleanup = Date.now() - lastCleanup > 600_000;
    if (cleanup) lastCleanup = Date.now();
    deliverSsoLogouts(db, signer)
      .then(() => (cleanup ? deleteExpiredOidcPayloads(db) : undefined))
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
