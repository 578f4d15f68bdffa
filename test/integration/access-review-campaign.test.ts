// An access review campaign end to end: one digest per reviewer, bulk decisions that take effect at
// once, who may decide what, a unit that never answers (escalation, then the rule), the report,
// and a schedule that starts the next campaign by itself.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlements } from '../../db/schema.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let laoAAdmin: TestAccount, laoBAdmin: TestAccount, districtAAdmin: TestAccount, provinceAdmin: TestAccount;
let staffA: TestAccount, staffA2: TestAccount, staffB: TestAccount;

beforeAll(async () => {
  h = await startHarness({ ACCESS_REVIEW_REMIND_BEFORE: '5s', ACCESS_REVIEW_ESCALATE_BEFORE: '3s' });
  tree = await h.seedTree();
  await h.putInfoSystem();
  [laoAAdmin, laoBAdmin, districtAAdmin, provinceAdmin, staffA, staffA2, staffB] = await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoB),
    h.createAccount(tree.districtA),
    h.createAccount(tree.province),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoB),
  ]);
  await h.designateAdmins(tree.laoA, [laoAAdmin]);
  await h.designateAdmins(tree.laoB, [laoBAdmin]);
  await h.designateAdmins(tree.districtA, [districtAAdmin]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  for (const [who, unit] of [
    [staffA, tree.laoA],
    [staffA2, tree.laoA],
    [staffB, tree.laoB],
    [laoAAdmin, tree.laoA],
  ] as const) {
    await h.request('PUT', `/api/v1/accounts/${who.id}/entitlements`, { token: h.central.token, json: [{ system: 'INFO', role: 'viewer', unitCode: unit }] });
  }
});

afterAll(async () => {
  await h?.stop();
});

/** The first campaign revoked staff B's right: give it back for the campaigns that follow. */
const grantStaffB = () =>
  h.request('PUT', `/api/v1/accounts/${staffB.id}/entitlements`, { token: h.central.token, json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoB }] });
const items = async (id: string, token: string, query = '') => (await h.request('GET', `/api/v1/access-reviews/${id}/items${query}`, { token })).body.items;
const decide = (id: string, token: string, decisions: unknown[]) => h.request('POST', `/api/v1/access-reviews/${id}/decisions`, { token, json: { decisions } });
const digestsTo = (email: string) => h.mail.mails.filter((m) => m.to === email && m.subject.includes('access right(s) to review'));

describe('a campaign over a province', () => {
  it('runs: digests, bulk decisions, own items to the unit above, escalation, the rule, the report', async () => {
    const started = await h.request('POST', '/api/v1/access-reviews', {
      token: provinceAdmin.token,
      json: {
        name: 'ทบทวนสิทธิ์ ไตรมาส 4',
        scopeUnitCode: tree.province,
        dueAt: new Date(Date.now() + 9000).toISOString(),
        onNoDecision: 'revoke',
      },
    });
    expect(started.status).toBe(202);
    const id = started.body.id;
    const [digest] = await h.mail.waitFor((m) => m.to === laoAAdmin.email && m.subject.includes('access right(s) to review'));
    await h.mail.waitFor((m) => m.to === laoBAdmin.email && m.subject.includes('access right(s) to review'));
    // The digest leads to the reviewer's page in the console, not to the API.
    expect(digest!.text).toContain(`${h.config.publicUrl}/admin/campaigns/${id}/items`);
    expect(digest!.text).not.toContain('/api/');
    expect(digestsTo(laoAAdmin.email)).toHaveLength(1); // one digest for both items, never one per item
    expect(digestsTo(laoAAdmin.email)[0]!.subject).toMatch(/^ทบทวนสิทธิ์ผู้ใช้งาน 2 รายการ/);

    const mine = await items(id, laoAAdmin.token);
    expect(mine.map((i: { username: string }) => i.username).sort()).toEqual([staffA.username, staffA2.username].sort());
    // The LAO admin's own right goes to the district's admins.
    const atDistrict = await items(id, districtAAdmin.token, `?unitCode=${tree.laoA}`);
    const own = atDistrict.find((i: { username: string }) => i.username === laoAAdmin.username);
    expect(own.reviewerUnitCode).toBe(tree.districtA);
    expect((await decide(id, laoAAdmin.token, [{ itemId: own.id, decision: 'keep' }])).status).toBe(403);
    const foreign = (await items(id, laoBAdmin.token))[0];
    const outOfScope = await decide(id, laoAAdmin.token, [{ itemId: foreign.id, decision: 'keep' }]);
    expect(outOfScope.status).toBe(403);

    const bulk = await decide(
      id,
      laoAAdmin.token,
      mine.map((i: { id: string; username: string }) =>
        i.username === staffA.username ? { itemId: i.id, decision: 'keep' } : { itemId: i.id, decision: 'revoke', justification: 'ย้ายงานแล้ว' },
      ),
    );
    expect(bulk.body).toEqual({ applied: 2, rejected: [] });
    expect((await h.request('GET', `/api/v1/accounts/${staffA2.id}`, { token: h.central.token })).body.entitlements[0].status).toBe('revoked');
    expect((await h.request('GET', `/api/v1/accounts/${staffA2.id}`, { token: staffA2.token })).status).toBe(401); // sessions ended
    expect((await decide(id, districtAAdmin.token, [{ itemId: own.id, decision: 'keep' }])).body.applied).toBe(1);

    // Reminder at 5 s before due: only the LAO B admin, who has not answered; then escalation to the province.
    await h.mail.waitFor((m) => m.to === laoBAdmin.email && m.subject.startsWith('เตือน'), 1, 10_000);
    await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('Escalated'), 1, 10_000);
    expect(digestsTo(laoAAdmin.email).filter((m) => m.subject.startsWith('เตือน'))).toHaveLength(0);
    expect((await items(id, provinceAdmin.token, '?decided=false')).map((i: { username: string }) => i.username)).toEqual([staffB.username]);

    // At the due date the rule (revoke) settles what nobody decided; decisions are closed.
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${id}`, { token: provinceAdmin.token })).body.status, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe('completed');
    const review = (await h.request('GET', `/api/v1/access-reviews/${id}`, { token: provinceAdmin.token })).body;
    expect(review.totals).toEqual({ items: 4, decided: 3, kept: 2, revoked: 1, autoApplied: 1 });
    expect((await h.request('GET', `/api/v1/accounts/${staffB.id}`, { token: h.central.token })).body.entitlements[0].status).toBe('revoked');
    expect((await decide(id, provinceAdmin.token, [{ itemId: foreign.id, decision: 'keep' }])).status).toBe(409);

    const report = await h.request('GET', `/api/v1/access-reviews/${id}/report`, { token: provinceAdmin.token });
    expect(report.body.units).toEqual(
      expect.arrayContaining([
        { unitCode: tree.laoA, items: 3, decided: 3, kept: 2, revoked: 1, autoApplied: 0 },
        { unitCode: tree.laoB, items: 1, decided: 0, kept: 0, revoked: 0, autoApplied: 1 },
      ]),
    );
    const csv = await fetch(`${h.baseUrl}/api/v1/access-reviews/${id}/report`, {
      headers: { authorization: `Bearer ${provinceAdmin.token}`, accept: 'text/csv' },
    });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text).toContain(`"${tree.laoB}","${staffB.username}","INFO","viewer","rule:revoke"`);
    expect(text).toContain('ย้ายงานแล้ว');
    expect((await h.request('GET', `/api/v1/audit?accountId=${staffB.id}`, { token: provinceAdmin.token })).body.items[0].action).toBe('review.rule_revoke');
  }, 40_000);

  it('refuses campaigns from admins below a provincial office, and bad input', async () => {
    expect(
      (
        await h.request('POST', '/api/v1/access-reviews', {
          token: laoAAdmin.token,
          json: { name: 'x', scopeUnitCode: tree.laoA, durationDays: 7, onNoDecision: 'keep' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await h.request('POST', '/api/v1/access-reviews', { token: provinceAdmin.token, json: { name: 'x', scopeUnitCode: tree.laoA, onNoDecision: 'keep' } }))
        .status,
    ).toBe(400);
    expect(
      (
        await h.request('POST', '/api/v1/access-reviews', {
          token: provinceAdmin.token,
          json: { name: 'x', scopeUnitCode: tree.laoA, durationDays: 7, onNoDecision: 'delete' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await h.request('POST', '/api/v1/access-reviews', {
          token: provinceAdmin.token,
          json: { name: 'x', scopeUnitCode: tree.laoA, dueAt: '2020-01-01T00:00:00Z', onNoDecision: 'keep' },
        })
      ).status,
    ).toBe(400);
  });

  it('cancels: nothing is applied afterwards', async () => {
    await grantStaffB();
    const started = await h.request('POST', '/api/v1/access-reviews', {
      token: provinceAdmin.token,
      json: { name: 'cancelled', scopeUnitCode: tree.laoB, durationDays: 1, onNoDecision: 'revoke' },
    });
    const id = started.body.id;
    await expect.poll(async () => (await items(id, laoBAdmin.token)).length, { timeout: 5000 }).toBeGreaterThan(0);
    const cancelled = await h.request('POST', `/api/v1/access-reviews/${id}/cancel`, { token: provinceAdmin.token });
    expect(cancelled.body).toEqual({ id, status: 'cancelled' });
    expect((await h.request('GET', `/api/v1/access-reviews/${id}`, { token: provinceAdmin.token })).body.status).toBe('cancelled');
    expect((await h.request('GET', `/api/v1/accounts/${staffB.id}`, { token: h.central.token })).body.entitlements[0].status).toBe('active');
    expect((await h.request('POST', `/api/v1/access-reviews/${id}/cancel`, { token: provinceAdmin.token })).status).toBe(409);
  });
});

describe('the rule at the due date', () => {
  const runOverLaoB = async (onNoDecision: string) => {
    const started = await h.request('POST', '/api/v1/access-reviews', {
      token: provinceAdmin.token,
      json: {
        name: `rule ${onNoDecision}`,
        scopeUnitCode: tree.laoB,
        dueAt: new Date(Date.now() + 4000).toISOString(),
        onNoDecision,
      },
    });
    expect(started.status).toBe(202);
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${started.body.id}`, { token: provinceAdmin.token })).body.status, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe('completed');
    return started.body.id as string;
  };
  const statusOf = async (accountId: string) =>
    (await h.resources.database.db.select().from(entitlements).where(eq(entitlements.accountId, accountId)))[0]!.status;

  it("'suspend' suspends what nobody decided, but never a DLA central admin's right", async () => {
    await grantStaffB();
    // DLA central's own right at LAO B (the rule must not lock DLA central out).
    await h.resources.database.db
      .insert(entitlements)
      .values({ accountId: h.central.id, systemCode: 'INFO', role: 'viewer', unitCode: tree.laoB })
      .onConflictDoNothing();
    const id = await runOverLaoB('suspend');
    expect(await statusOf(staffB.id)).toBe('suspended');
    expect(await statusOf(h.central.id)).toBe('active');
    const report = (await h.request('GET', `/api/v1/access-reviews/${id}/report`, { token: provinceAdmin.token })).body;
    expect(report.units).toEqual([{ unitCode: tree.laoB, items: 2, decided: 0, kept: 0, revoked: 0, autoApplied: 2 }]);
    const audit = (await h.request('GET', `/api/v1/audit?accountId=${h.central.id}`, { token: h.central.token })).body.items;
    expect(audit[0]).toMatchObject({ action: 'review.rule_keep', reason: expect.stringMatching(/DLA central admin/) });
  });

  it("'keep' leaves the rights and flags them in the report", async () => {
    await grantStaffB();
    const id = await runOverLaoB('keep');
    expect(await statusOf(staffB.id)).toBe('active');
    const report = (await h.request('GET', `/api/v1/access-reviews/${id}/report`, { token: provinceAdmin.token })).body;
    expect(report.decisions.find((d: { username: string }) => d.username === staffB.username)).toMatchObject({ decision: 'rule:keep', flagged: true });
  });
});

describe('schedules', () => {
  it('are set, listed, run (a campaign appears by itself) and deleted', async () => {
    await grantStaffB();
    const put = await h.request('PUT', '/api/v1/access-review-schedules/quarterly-udon', {
      token: provinceAdmin.token,
      json: {
        cron: '0 9 1 */3 *',
        scopeUnitCode: tree.laoB,
        durationDays: 14,
        onNoDecision: 'suspend',
      },
    });
    expect(put.status).toBe(200);
    const list = await h.request('GET', '/api/v1/access-review-schedules', { token: provinceAdmin.token });
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ name: 'quarterly-udon', cron: '0 9 1 */3 *', scopeUnitCode: tree.laoB, durationDays: 14, onNoDecision: 'suspend' }),
    );
    await h.client.schedule.getHandle(`${h.config.taskQueue}-access-review-quarterly-udon`).trigger();
    await h.mail.waitFor((m) => m.to === laoBAdmin.email && m.text.includes('quarterly-udon'), 1, 20_000);
    expect(
      (
        await h.request('PUT', '/api/v1/access-review-schedules/bad', {
          token: provinceAdmin.token,
          json: { cron: 'every day', scopeUnitCode: tree.laoB, durationDays: 14, onNoDecision: 'suspend' },
        })
      ).status,
    ).toBe(400);
    expect((await h.request('DELETE', '/api/v1/access-review-schedules/quarterly-udon', { token: provinceAdmin.token })).status).toBe(200);
    expect((await h.request('DELETE', '/api/v1/access-review-schedules/quarterly-udon', { token: provinceAdmin.token })).status).toBe(404);
  }, 40_000);
});
