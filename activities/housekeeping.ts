// Housekeeping (workflows/housekeeping.ts): what the service no longer needs, removed on a schedule.
// Each step is a plain delete or clear of rows past their time, so a retry or a second run at once
// does nothing more; large backlogs go in batches, each one heartbeated.
import { Context } from '@temporalio/activity';
import { and, inArray, isNotNull, isNull, lt, notInArray, or, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { deleteEndedWindows } from '../db/rate-limits.ts';
import {
  authTokens,
  identityVerifications,
  mailOutbox,
  OPEN_REGISTRATION_STATUSES,
  passwordResets,
  registrations,
  signInFailures,
  ssoLogoutOutbox,
} from '../db/schema.ts';
import type { Db } from '../db/client.ts';
import { deleteExpiredOidcPayloads } from '../lib/sso/oidc-adapter.ts';
import type { ActivityDeps } from './deps.ts';

/** Rows one statement deletes at most: short transactions on tables the service writes all along. */
const BATCH = 5000;

/** How many rows of each kind one run removed (or cleared, for the registrations' password hashes). */
export interface HousekeepingResult {
  registrationPasswords: number;
  authTokens: number;
  passwordResets: number;
  identityVerifications: number;
  signInFailures: number;
  rateLimits: number;
  mails: number;
  logoutNotices: number;
}

/** Deletes the rows of `table` matching `where`, a batch at a time (keyed by `key`); returns how many. */
async function deleteInBatches(db: Db, table: PgTable, key: PgColumn, where: SQL | undefined): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = db.select({ key }).from(table).where(where).limit(BATCH);
    const deleted = await db.delete(table).where(inArray(key, batch)).returning({ key });
    total += deleted.length;
    if (deleted.length < BATCH) return total;
    Context.current().heartbeat(total);
  }
}

export function createHousekeepingActivities({ db, config }: ActivityDeps) {
  return {
    /**
     * One round of housekeeping as of `now` (default: the current time): password hashes of closed
     * registrations cleared (an approved one's account holds its own); sign-in tokens, reset links
     * and ThaiID verifications deleted once EXPIRED_TOKEN_RETENTION has passed since they expired
     * or were revoked or used; single sign-on artefacts past their expiry; failed-sign-in counts and
     * throttle counts whose window ended; sent mail (with the tracking codes and links in it) and
     * delivered logout notices past MAIL_RETENTION.
     */
    async keepHouse(input: { now?: number } = {}): Promise<HousekeepingResult> {
      const now = new Date(input.now ?? Date.now());
      const { mailRetentionMs, expiredTokenRetentionMs } = config.housekeeping;
      const tokensBefore = new Date(now.getTime() - expiredTokenRetentionMs);
      const mailBefore = new Date(now.getTime() - mailRetentionMs);

      const cleared = await db
        .update(registrations)
        .set({ passwordHash: null })
        .where(and(notInArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]), isNotNull(registrations.passwordHash)))
        .returning({ id: registrations.id });
      const result: HousekeepingResult = {
        registrationPasswords: cleared.length,
        authTokens: await deleteInBatches(
          db,
          authTokens,
          authTokens.tokenHash,
          or(lt(authTokens.expiresAt, tokensBefore), lt(authTokens.revokedAt, tokensBefore)),
        ),
        passwordResets: await deleteInBatches(
          db,
          passwordResets,
          passwordResets.tokenHash,
          or(lt(passwordResets.expiresAt, tokensBefore), lt(passwordResets.usedAt, tokensBefore)),
        ),
        identityVerifications: await deleteInBatches(
          db,
          identityVerifications,
          identityVerifications.tokenHash,
          or(lt(identityVerifications.expiresAt, tokensBefore), lt(identityVerifications.usedAt, tokensBefore)),
        ),
        // A username's count is over once its window ended and any lock it earned ran out.
        signInFailures: await deleteInBatches(
          db,
          signInFailures,
          signInFailures.username,
          and(
            lt(signInFailures.windowStartedAt, new Date(now.getTime() - config.signInLockout.windowMs)),
            or(isNull(signInFailures.lockedUntil), lt(signInFailures.lockedUntil, now)),
          ),
        ),
        rateLimits: await deleteEndedWindows(db, now),
        mails: await deleteInBatches(db, mailOutbox, mailOutbox.id, lt(mailOutbox.sentAt, mailBefore)),
        logoutNotices: await deleteInBatches(db, ssoLogoutOutbox, ssoLogoutOutbox.id, lt(ssoLogoutOutbox.sentAt, mailBefore)),
      };
      await deleteExpiredOidcPayloads(db);
      return result;
    },
  };
}

export type HousekeepingActivities = ReturnType<typeof createHousekeepingActivities>;
