// Housekeeping (issue 13, finding 18): the schedule start-up makes removes what the service no longer
// needs — sent mail past MAIL_RETENTION (tracking codes in it), sign-in tokens, reset links and ThaiID
// verifications past EXPIRED_TOKEN_RETENTION, closed requests' password hashes, ended throttle and
// failed-sign-in counts, delivered logout notices — and keeps what is still within its time.
import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authTokens, identityVerifications, mailOutbox, passwordResets, rateLimits, registrations, signInFailures, ssoLogoutOutbox } from '../../db/schema.ts';
import { prepare } from '../../services/startup.ts';
import { housekeepingScheduleId } from '../../services/workflows.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);
const ahead = (ms: number) => new Date(Date.now() + ms);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ MAIL_RETENTION: '2d', EXPIRED_TOKEN_RETENTION: '1d', HOUSEKEEPING_CRON: '5 3 * * *' });
});
afterAll(async () => {
  await h?.stop();
});

describe('housekeeping', () => {
  it('is a schedule made at start-up; a run removes what is past its retention and keeps what is within it', async () => {
    const { db } = h.resources.database;
    const { cipher } = h.resources;
    const account = h.central.id;
    const key = (what: string) => `housekeeping-test:${randomUUID()}:${what}`;

    const mails = { old: key('sent-3d'), recent: key('sent-1d'), unsent: key('unsent') };
    const mail = (k: string, sentAt: Date | null) => ({
      key: k,
      template: 't',
      toAddress: 'a@b.test',
      subject: 's',
      textBody: 'TRACK-1234',
      htmlBody: 'h',
      sentAt,
    });
    await db
      .insert(mailOutbox)
      .values([mail(mails.old, ago(3 * DAY)), mail(mails.recent, ago(1 * DAY)), { ...mail(mails.unsent, null), createdAt: ago(10 * DAY) }]);

    const tokens = { expired: key('expired-2d'), revoked: key('revoked-2d'), justExpired: key('expired-1h'), live: key('live') };
    await db.insert(authTokens).values([
      { tokenHash: tokens.expired, accountId: account, expiresAt: ago(2 * DAY) },
      { tokenHash: tokens.revoked, accountId: account, expiresAt: ahead(HOUR), revokedAt: ago(2 * DAY) },
      { tokenHash: tokens.justExpired, accountId: account, expiresAt: ago(HOUR) },
      { tokenHash: tokens.live, accountId: account, expiresAt: ahead(HOUR) },
    ]);

    const resets = { used: key('reset-used-2d'), live: key('reset-live') };
    await db.insert(passwordResets).values([
      { tokenHash: resets.used, accountId: account, expiresAt: ago(2 * DAY - HOUR), usedAt: ago(2 * DAY) },
      { tokenHash: resets.live, accountId: account, expiresAt: ahead(HOUR) },
    ]);

    const verifications = { expired: key('verification-2d'), live: key('verification-live') };
    const verification = (tokenHash: string, expiresAt: Date) => ({
      tokenHash,
      provider: 'thaiid' as const,
      citizenIdHash: cipher.lookupHash(randomCitizenId()),
      claimsEnc: cipher.encrypt('{}'),
      expiresAt,
    });
    await db.insert(identityVerifications).values([verification(verifications.expired, ago(2 * DAY)), verification(verifications.live, ahead(HOUR))]);

    const request = (status: 'rejected' | 'pending_approval') => {
      const citizenId = randomCitizenId();
      return {
        id: randomUUID(),
        trackingCodeHash: key('tracking'),
        citizenIdEnc: cipher.encrypt(citizenId),
        citizenIdHash: cipher.lookupHash(citizenId),
        firstNameTh: 'ทดสอบ',
        lastNameTh: 'เก็บกวาด',
        email: 'x@lao.test',
        position: 'นักวิชาการ',
        unitCode: 'NONE',
        username: uniqueName('hk'),
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
        requestedAccess: [],
        status,
        actingUnitCode: 'NONE',
      };
    };
    const closed = request('rejected');
    const open = request('pending_approval');
    await db.insert(registrations).values([closed, open]);

    const counts = { ended: key('window-ended'), current: key('window-current') };
    await db.insert(rateLimits).values([
      { key: counts.ended, hits: 5, windowEndsAt: ago(60_000) },
      { key: counts.current, hits: 5, windowEndsAt: ahead(60_000) },
    ]);
    const failures = { over: uniqueName('hk-over'), counting: uniqueName('hk-counting'), locked: uniqueName('hk-locked') };
    await db.insert(signInFailures).values([
      { username: failures.over, failures: 3, windowStartedAt: ago(DAY) },
      { username: failures.counting, failures: 3, windowStartedAt: ago(60_000) },
      { username: failures.locked, failures: 10, windowStartedAt: ago(DAY), lockedUntil: ahead(HOUR) },
    ]);

    const notices = await db
      .insert(ssoLogoutOutbox)
      .values([
        { clientId: key('client'), accountId: account, reason: 'test', sentAt: ago(3 * DAY) },
        { clientId: key('client'), accountId: account, reason: 'test', sentAt: ago(HOUR) },
      ])
      .returning({ id: ssoLogoutOutbox.id });

    // Start-up makes the schedule (twice: every process runs it); a run is triggered as the cron would start it.
    const workflows = { client: h.client, config: h.config };
    await prepare(db, workflows);
    await prepare(db, workflows);
    const schedule = h.client.schedule.getHandle(housekeepingScheduleId(h.config));
    try {
      const described = await schedule.describe();
      expect(described.spec.timezone).toBe('Asia/Bangkok');
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'housekeeping', taskQueue: h.config.taskQueue });
      await schedule.trigger();
      let run: string | undefined;
      for (let i = 0; i < 100 && !run; i++) {
        run = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!run) await new Promise((r) => setTimeout(r, 200));
      }
      expect(run).toBeDefined();
      await h.client.workflow.getHandle(run!).result();
    } finally {
      await schedule.delete();
    }

    const left = async <T extends { [k: string]: unknown }>(rows: Promise<T[]>, field: keyof T) => (await rows).map((r) => r[field]).sort();
    expect(
      await left(
        db
          .select({ key: mailOutbox.key })
          .from(mailOutbox)
          .where(inArray(mailOutbox.key, Object.values(mails))),
        'key',
      ),
    ).toEqual([mails.recent, mails.unsent].sort());
    expect(
      await left(
        db
          .select({ t: authTokens.tokenHash })
          .from(authTokens)
          .where(inArray(authTokens.tokenHash, Object.values(tokens))),
        't',
      ),
    ).toEqual([tokens.justExpired, tokens.live].sort());
    expect(
      await left(
        db
          .select({ t: passwordResets.tokenHash })
          .from(passwordResets)
          .where(inArray(passwordResets.tokenHash, Object.values(resets))),
        't',
      ),
    ).toEqual([resets.live]);
    expect(
      await left(
        db
          .select({ t: identityVerifications.tokenHash })
          .from(identityVerifications)
          .where(inArray(identityVerifications.tokenHash, Object.values(verifications))),
        't',
      ),
    ).toEqual([verifications.live]);
    const hashes = await db
      .select({ id: registrations.id, passwordHash: registrations.passwordHash })
      .from(registrations)
      .where(inArray(registrations.id, [closed.id, open.id]));
    expect(Object.fromEntries(hashes.map((r) => [r.id, r.passwordHash]))).toEqual({ [closed.id]: null, [open.id]: open.passwordHash });
    expect(
      await left(
        db
          .select({ k: rateLimits.key })
          .from(rateLimits)
          .where(inArray(rateLimits.key, Object.values(counts))),
        'k',
      ),
    ).toEqual([counts.current]);
    expect(
      await left(
        db
          .select({ u: signInFailures.username })
          .from(signInFailures)
          .where(inArray(signInFailures.username, Object.values(failures))),
        'u',
      ),
    ).toEqual([failures.counting, failures.locked].sort());
    expect(
      await left(
        db
          .select({ id: ssoLogoutOutbox.id })
          .from(ssoLogoutOutbox)
          .where(
            inArray(
              ssoLogoutOutbox.id,
              notices.map((n) => n.id),
            ),
          ),
        'id',
      ),
    ).toEqual([notices[1]!.id]);
  }, 120_000);
});
