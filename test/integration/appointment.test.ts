// SSO admin appointments, account administration and the audit trail, against real PostgreSQL,
// Temporal and SMTP.
import { count, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAppointments } from '../../db/schema.ts';
import { complianceScheduleId, ensureComplianceSchedule } from '../../services/workflows.ts';
import { PDF, PNG } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let provinceAdmin: TestAccount, districtAAdmin: TestAccount, laoAAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  [provinceAdmin, districtAAdmin, laoAAdmin] = await Promise.all([h.createAccount(tree.province), h.createAccount(tree.districtA), h.createAccount(tree.laoA)]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  await h.designateAdmins(tree.districtA, [districtAAdmin]);
  await h.designateAdmins(tree.laoA, [laoAAdmin]);
});

afterAll(async () => {
  await h?.stop();
});

function letterForm(data: unknown, file: { content: Buffer; type: string; name: string } = { content: PDF, type: 'application/pdf', name: 'order.pdf' }) {
  const form = new FormData();
  form.append('data', JSON.stringify(data));
  form.append('letter', new Blob([new Uint8Array(file.content)], { type: file.type }), file.name);
  return form;
}
const upload = (unit: string, token: string, data: unknown, file?: Parameters<typeof letterForm>[1]) =>
  h.request('POST', `/api/v1/org-units/${unit}/admin-appointments`, { token, body: letterForm(data, file) });
const decide = (id: string, token: string, body: unknown) => h.request('POST', `/api/v1/admin-appointments/${id}/decision`, { token, json: body });
const gaps = async (token: string, under: string) => (await h.request('GET', `/api/v1/compliance/units-without-admin?under=${under}`, { token })).body;

describe('appointing a unit admin', () => {
  it('district B uploads a letter, the province approves, the new admin acts on a registration below; the gap closes', async () => {
    const before = await gaps(provinceAdmin.token, tree.province);
    expect(before.items.map((u: { code: string }) => u.code)).toContain(tree.districtB);
    expect(before.items.find((u: { code: string }) => u.code === tree.districtB).coveredBy).toBe(tree.province);

    const clerk = await h.createAccount(tree.districtB);
    const appointee = await h.createAccount(tree.districtB);
    const submitted = await upload(tree.districtB, clerk.token, { accountId: appointee.id, termEnd: '2099-09-30' });
    expect(submitted.status).toBe(202);
    expect(submitted.body.status).toBe('pending_approval');
    const id = submitted.body.id;
    await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('SSO admin appointment awaiting approval'));
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('received'));

    const shown = await h.request('GET', `/api/v1/admin-appointments/${id}`, { token: appointee.token });
    expect(shown.body).toMatchObject({
      id,
      unitCode: tree.districtB,
      accountId: appointee.id,
      status: 'pending_approval',
      actingUnitCode: tree.province,
      termEnd: '2099-09-30',
    });
    const letter = await fetch(`${h.baseUrl}/api/v1/admin-appointments/${id}/letter`, { headers: { authorization: `Bearer ${provinceAdmin.token}` } });
    expect(Buffer.from(await letter.arrayBuffer()).equals(PDF)).toBe(true);

    // The unit's own people cannot approve it; an admin of a sibling district neither.
    expect((await decide(id, clerk.token, { decision: 'approve' })).status).toBe(403);
    expect((await decide(id, districtAAdmin.token, { decision: 'approve' })).status).toBe(403);
    const approved = await decide(id, provinceAdmin.token, { decision: 'approve' });
    expect(approved.body).toEqual({ status: 'approved' });
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('SSO admin appointment approved'));
    await h.mail.waitFor((m) => m.to === clerk.email && m.subject.includes('approved'));
    expect((await decide(id, provinceAdmin.token, { decision: 'reject', reason: 'x' })).status).toBe(409);

    const unit = await h.request('GET', `/api/v1/org-units/${tree.districtB}`, { token: h.central.token });
    expect(unit.body.admins.map((a: { accountId: string }) => a.accountId)).toEqual([appointee.id]);
    const login = await h.request('POST', '/api/v1/auth/login', { json: { username: appointee.username, password: appointee.password } });
    expect(login.body.account.roles).toContain('sso_admin');

    const after = await gaps(provinceAdmin.token, tree.province);
    expect(after.total).toBe(before.total - 1);
    expect(after.items.map((u: { code: string }) => u.code)).not.toContain(tree.districtB);
    expect(after.items.find((u: { code: string }) => u.code === tree.laoB).coveredBy).toBe(tree.districtB);

    // A registration at an LAO below now waits at district B, and its new admin decides it.
    const registration = await h.submitRegistration({ unitCode: tree.laoB });
    const tracked = await h.request('GET', `/api/v1/registrations/${registration.body.id}`, { token: appointee.token });
    expect(tracked.body.actingUnitCode).toBe(tree.districtB);
    const decided = await h.request('POST', `/api/v1/registrations/${registration.body.id}/decision`, {
      token: appointee.token,
      json: { decision: 'approve' },
    });
    expect(decided.body).toEqual({ status: 'approved' });

    // Revocation ends the role at once.
    const revoked = await h.request('POST', `/api/v1/admin-appointments/${id}/revoke`, { token: provinceAdmin.token, json: { reason: 'ย้ายไปหน่วยงานอื่น' } });
    expect(revoked.body).toEqual({ status: 'revoked' });
    expect((await h.request('GET', `/api/v1/org-units/${tree.districtB}`, { token: h.central.token })).body.admins).toEqual([]);
    const next = await h.submitRegistration({ unitCode: tree.laoB });
    expect((await h.request('POST', `/api/v1/registrations/${next.body.id}/decision`, { token: appointee.token, json: { decision: 'approve' } })).status).toBe(
      403,
    );
    await h.mail.waitFor((m) => m.to === appointee.email && m.text.includes('ย้ายไปหน่วยงานอื่น'));
  });

  it('refuses self-approval: neither the appointee nor the submitter decides', async () => {
    const appointee = await h.createAccount(tree.districtB);
    await h.designateAdmins(tree.province, [provinceAdmin, appointee]); // also an admin one level up
    const own = await upload(tree.districtB, appointee.token, { accountId: appointee.id });
    expect(own.status).toBe(202);
    const refused = await decide(own.body.id, appointee.token, { decision: 'approve' });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/own/);
    await h.designateAdmins(tree.province, [provinceAdmin]);

    const other = await h.createAccount(tree.districtB);
    const byProvince = await upload(tree.districtB, provinceAdmin.token, { accountId: other.id });
    expect(byProvince.status).toBe(202);
    expect((await decide(byProvince.body.id, provinceAdmin.token, { decision: 'approve' })).status).toBe(403);
    // DLA central may decide it; a reason is required to reject.
    expect((await decide(byProvince.body.id, h.central.token, { decision: 'reject' })).status).toBe(400);
    expect((await decide(byProvince.body.id, h.central.token, { decision: 'reject', reason: 'หนังสือไม่ได้ลงนาม' })).body).toEqual({ status: 'rejected' });
    await h.mail.waitFor((m) => m.to === other.email && m.text.includes('หนังสือไม่ได้ลงนาม'));
  });

  it('lists the appointments awaiting the admin, in their scope only', async () => {
    const appointee = await h.createAccount(tree.laoA2);
    const submitted = await upload(tree.laoA2, districtAAdmin.token, { accountId: appointee.id });
    expect(submitted.status).toBe(202);
    const ids = async (token: string) => (await h.request('GET', '/api/v1/admin-appointments', { token })).body.items.map((a: { id: string }) => a.id);
    expect(await ids(provinceAdmin.token)).toContain(submitted.body.id);
    expect(await ids(districtAAdmin.token)).toContain(submitted.body.id); // awaiting their unit (though they may not decide their own)
    expect(await ids(laoAAdmin.token)).not.toContain(submitted.body.id);
    expect((await h.request('GET', '/api/v1/admin-appointments', { token: appointee.token })).status).toBe(403);
    expect(
      (
        await h.request('POST', `/api/v1/admin-appointments/${submitted.body.id}/decision`, {
          token: h.central.token,
          json: { decision: 'reject', reason: 'ทดสอบ' },
        })
      ).body,
    ).toEqual({ status: 'rejected' });
    expect(await ids(provinceAdmin.token)).not.toContain(submitted.body.id);
  });

  it('bad input → 4xx and nothing changed', async () => {
    const clerk = await h.createAccount(tree.districtB);
    const someone = await h.createAccount(tree.districtB);
    const elsewhere = await h.createAccount(tree.laoA);
    // This file's units only: other test files share the run's database.
    const rows = async () =>
      (
        await h.resources.database.db
          .select({ n: count() })
          .from(adminAppointments)
          .where(inArray(adminAppointments.unitCode, Object.values(tree)))
      )[0]!.n;
    const before = await rows();
    const cases: [Promise<{ status: number; body: any }>, number, RegExp][] = [
      [
        upload(tree.districtB, clerk.token, { accountId: someone.id }, { content: PNG, type: 'application/pdf', name: 'letter.pdf' }),
        415,
        /PDF|application\/pdf/,
      ],
      [upload(tree.districtB, clerk.token, { accountId: elsewhere.id }), 400, /must be an account of/],
      [upload(tree.districtB, clerk.token, { accountId: '00000000-0000-4000-8000-000000000000' }), 400, /does not exist/],
      [upload(tree.districtB, clerk.token, { accountId: someone.id, termEnd: '2020-01-01' }), 400, /past/],
      [upload(tree.districtB, clerk.token, { accountId: someone.id, termEnd: '30/09/2570' }), 400, /termEnd/],
      [upload(tree.districtB, clerk.token, { accountId: 'nope' }), 400, /accountId/],
      [upload(tree.districtB, elsewhere.token, { accountId: someone.id }), 403, /Only an account of this unit/],
      [upload('NO-SUCH-UNIT', clerk.token, { accountId: someone.id }), 404, /no unit/],
    ];
    for (const [call, status, detail] of cases) {
      const res = await call;
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(JSON.stringify(res.body)).toMatch(detail);
    }
    expect(await rows()).toBe(before);
  });
});

describe('the weekly compliance digest', () => {
  it("is a Temporal Schedule; a run mails each unit's admins the units they cover that have no admin, once", async () => {
    await ensureComplianceSchedule({ client: h.client, config: h.config });
    await ensureComplianceSchedule({ client: h.client, config: h.config }); // idempotent: updates, does not duplicate
    const handle = h.client.schedule.getHandle(complianceScheduleId(h.config));
    const described = await handle.describe();
    expect(described.spec.timezone).toBe('Asia/Bangkok');
    await handle.trigger();
    const [digest] = await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('Units without an SSO admin'), 1, 30_000);
    expect(digest!.text).toContain(tree.districtB);
    expect(digest!.text).toContain(tree.laoB);
    expect(digest!.text).not.toContain(tree.laoA2); // district A covers that one
    const [toDistrict] = await h.mail.waitFor((m) => m.to === districtAAdmin.email && m.subject.includes('Units without an SSO admin'));
    expect(toDistrict!.text).toContain(tree.laoA2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.mail.mails.filter((m) => m.to === provinceAdmin.email && m.subject.includes('Units without an SSO admin'))).toHaveLength(1);
    await handle.delete();
  }, 60_000);
});

describe('account administration', () => {
  it('suspends at once (tokens revoked, sign-in refused), reactivates, and follows the tree', async () => {
    const staff = await h.createAccount(tree.laoA);
    const other = await h.createAccount(tree.laoB);
    const suspend = (id: string, token: string) => h.request('POST', `/api/v1/accounts/${id}/suspend`, { token, json: { reason: 'เกษียณอายุราชการ' } });
    expect((await suspend(staff.id, (await h.createAccount(tree.laoB)).token)).status).toBe(403); // not an admin
    expect((await suspend(other.id, laoAAdmin.token)).status).toBe(403); // sibling unit
    expect((await suspend(districtAAdmin.id, laoAAdmin.token)).status).toBe(403); // a unit above
    expect((await suspend(laoAAdmin.id, laoAAdmin.token)).status).toBe(403); // self
    expect((await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAAdmin.token, json: {} })).status).toBe(400); // no reason

    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: staff.token })).status).toBe(200);
    const suspended = await suspend(staff.id, districtAAdmin.token); // parent unit
    expect(suspended.body).toEqual({ id: staff.id, status: 'suspended' });
    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: staff.token })).status).toBe(401);
    expect((await h.request('POST', '/api/v1/auth/login', { json: { username: staff.username, password: staff.password } })).status).toBe(423);

    const back = await h.request('POST', `/api/v1/accounts/${staff.id}/reactivate`, { token: laoAAdmin.token, json: { reason: 'ยกเลิกคำสั่ง' } });
    expect(back.body).toEqual({ id: staff.id, status: 'active' });
    expect((await h.request('POST', '/api/v1/auth/login', { json: { username: staff.username, password: staff.password } })).status).toBe(200);
  });

  it('sets entitlements to exactly the list given, refusing unknown rights and units out of scope', async () => {
    await h.putInfoSystem();
    const staff = await h.createAccount(tree.laoA);
    const set = (body: unknown, token = laoAAdmin.token) => h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, { token, json: body });
    expect(
      (
        await set([
          { system: 'INFO', role: 'viewer', unitCode: tree.laoA },
          { system: 'INFO', role: 'editor', unitCode: tree.laoA },
        ])
      ).status,
    ).toBe(200);
    const res = await set([{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }]);
    expect(res.body.entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'active' }]);
    expect((await set([{ system: 'INFO', role: 'god', unitCode: tree.laoA }])).status).toBe(400);
    expect((await set([{ system: 'INFO', role: 'viewer', unitCode: tree.laoB }])).status).toBe(400);
    const account = await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: laoAAdmin.token });
    expect(account.body.entitlements).toEqual([
      { system: 'INFO', role: 'editor', unitCode: tree.laoA, status: 'revoked' },
      { system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'active' },
    ]);
  });
});

describe('audit trail', () => {
  it('shows admins the events of their units, newest first, and nothing outside them', async () => {
    const staff = await h.createAccount(tree.laoA);
    await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAAdmin.token, json: { reason: 'ลาออก' } });
    const mine = await h.request('GET', `/api/v1/audit?accountId=${staff.id}`, { token: laoAAdmin.token });
    expect(mine.status).toBe(200);
    expect(mine.body.items[0]).toMatchObject({
      action: 'account.suspended',
      actorAccountId: laoAAdmin.id,
      subjectId: staff.id,
      reason: 'ลาออก',
      before: { status: 'active' },
      after: { status: 'suspended' },
    });
    const sibling = await h.createAccount(tree.laoB);
    await h.designateAdmins(tree.laoB, [sibling]);
    const theirs = await h.request('GET', `/api/v1/audit?accountId=${staff.id}`, { token: sibling.token });
    expect(theirs.body.items).toEqual([]);
    expect((await h.request('GET', `/api/v1/audit?unitCode=${tree.laoA}`, { token: sibling.token })).status).toBe(403);
    const staffToken = (await h.createAccount(tree.laoA)).token;
    expect((await h.request('GET', '/api/v1/audit', { token: staffToken })).status).toBe(403);
  });
});
