// The registration flow end to end against real PostgreSQL, Temporal and SMTP, through HTTP.
import { count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { accounts, registrations } from '../../db/schema.ts';
import { workflowBundle } from '../../lib/temporal.ts';
import { WORKFLOWS_PATH } from '../../bin/system.ts';
import { DISGUISED_PDF, JPEG, PDF, PNG, randomCitizenId, withWrongCheckDigit } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
/** Admins: of LAO A, of district A, of district B (sibling), of the province. */
let laoAdmin: TestAccount, districtAdmin: TestAccount, siblingAdmin: TestAccount, provinceAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  await h.putInfoSystem();
  [laoAdmin, districtAdmin, siblingAdmin, provinceAdmin] = await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.districtA),
    h.createAccount(tree.districtB),
    h.createAccount(tree.province),
  ]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  // district B keeps no admin of its own for its LAOs... but siblingAdmin administers the other district's sibling LAO unit
  await h.designateAdmins(tree.laoB, [siblingAdmin]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
});

afterAll(async () => {
  await h?.stop();
});

// This file's requests only: other test files share the run's database and submit their own meanwhile.
const countRows = async () => {
  const units = [...Object.values(tree), 'NO-SUCH-UNIT'];
  const [r] = await h.resources.database.db.select({ n: count() }).from(registrations).where(inArray(registrations.unitCode, units));
  return r!.n;
};

const decide = (id: string, token: string, body: unknown) => h.request('POST', `/api/v1/registrations/${id}/decision`, { token, json: body });

describe('submitting and following a request', () => {
  it('accepts a request with a PDF, mails the tracking code and the unit admins, and shows the history', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'INFO', role: 'viewer' }] });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      trackingCode: expect.stringMatching(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/),
      status: 'pending_approval',
    });

    const [receipt] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('Registration request received'));
    expect(receipt!.text).toContain(res.body.trackingCode);
    expect(receipt!.text).toMatch(/25\d\d/); // Buddhist-Era year in the Thai part
    expect(receipt!.html).toContain(res.body.trackingCode);
    // This request's mail (its link names the request), not an earlier request's.
    const [toAdmin] = await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('New registration request') && m.text.includes(res.body.id));
    expect(toAdmin!.text).toContain('สมหญิง');

    const tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: { 'x-tracking-code': res.body.trackingCode } });
    expect(tracked.status).toBe(200);
    expect(tracked.body).toMatchObject({ id: res.body.id, status: 'pending_approval', unitCode: tree.laoA, actingUnitCode: tree.laoA, decidedAt: null });
    expect(tracked.body.history[0]).toMatchObject({ event: 'submitted', actor: 'applicant' });
    expect(tracked.body.applicant.citizenId).toBe(`*********${res.citizenId.slice(-4)}`);
    expect(JSON.stringify(tracked.body)).not.toContain(res.citizenId);

    const wrongCode = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: { 'x-tracking-code': 'AAAA-BBBB-CCCC-DDDD' } });
    expect(wrongCode.status).toBe(404);
    const anonymous = await h.request('GET', `/api/v1/registrations/${res.body.id}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');

    const doc = tracked.body.documents[0];
    const download = await fetch(`${h.baseUrl}/api/v1/registrations/${res.body.id}/documents/${doc.id}`, {
      headers: { 'x-tracking-code': res.body.trackingCode },
    });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it('approves: the account and its rights exist, the applicant is mailed and signs in', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'INFO', role: 'viewer' }] });
    const decided = await decide(res.body.id, laoAdmin.token, { decision: 'approve' });
    expect(decided.status).toBe(200);
    expect(decided.body).toEqual({ status: 'approved' });

    const tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { token: laoAdmin.token });
    expect(tracked.body.status).toBe('approved');
    expect(tracked.body.decidedAt).toEqual(expect.any(String));
    expect(tracked.body.history.map((e: { event: string }) => e.event)).toEqual(['submitted', 'approved']);
    expect(tracked.body.history[1].actor).toBe(laoAdmin.username);

    const [approved] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('approved'));
    expect(approved!.text).toContain(res.username);

    const login = await h.request('POST', '/api/v1/auth/login', { json: { username: res.username, password: res.password } });
    expect(login.status).toBe(200);
    expect(login.body.account).toMatchObject({ username: res.username, roles: ['user'] });
    const account = await h.request('GET', `/api/v1/accounts/${login.body.account.id}`, { token: login.body.token });
    expect(account.body).toMatchObject({
      status: 'active',
      unitCode: tree.laoA,
      entitlements: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'active' }],
    });

    const again = await decide(res.body.id, laoAdmin.token, { decision: 'reject', reason: 'changed my mind' });
    expect(again.status).toBe(409);
    const [{ n } = { n: 0 }] = await h.resources.database.db.select({ n: count() }).from(accounts).where(eq(accounts.username, res.username));
    expect(n).toBe(1);
  });

  it('approves with the access the admin grants instead of the access requested', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'INFO', role: 'editor' }] });
    const decided = await decide(res.body.id, laoAdmin.token, { decision: 'approve', access: [{ system: 'INFO', role: 'viewer' }] });
    expect(decided.status).toBe(200);
    const token = await h.login(res.username, res.password);
    const me = await h.request('POST', '/api/v1/auth/login', { json: { username: res.username, password: res.password } });
    const account = await h.request('GET', `/api/v1/accounts/${me.body.account.id}`, { token });
    expect(account.body.entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'active' }]);
  });

  it('rejects with a reason, which the applicant reads in the mail', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const noReason = await decide(res.body.id, laoAdmin.token, { decision: 'reject' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].path).toBe('reason');
    const decided = await decide(res.body.id, laoAdmin.token, { decision: 'reject', reason: 'ไม่ใช่บุคลากรของหน่วยงาน' });
    expect(decided.body).toEqual({ status: 'rejected' });
    const [mail] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('not approved'));
    expect(mail!.text).toContain('ไม่ใช่บุคลากรของหน่วยงาน');
    const login = await h.request('POST', '/api/v1/auth/login', { json: { username: res.username, password: res.password } });
    expect(login.status).toBe(401);
  });

  it('asks for more information; the applicant answers with a new document; then it is approved', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const code = { 'x-tracking-code': res.body.trackingCode };
    const asked = await decide(res.body.id, laoAdmin.token, { decision: 'request_info', reason: 'แนบคำสั่งแต่งตั้ง' });
    expect(asked.body).toEqual({ status: 'info_requested' });
    const [mail] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('More information'));
    expect(mail!.text).toContain('แนบคำสั่งแต่งตั้ง');
    // While the applicant is asked, the admin cannot decide.
    expect((await decide(res.body.id, laoAdmin.token, { decision: 'approve' })).status).toBe(409);

    const form = new FormData();
    form.append('data', JSON.stringify({ position: 'นักวิชาการคอมพิวเตอร์ชำนาญการ', note: 'แนบคำสั่งแล้ว' }));
    form.append('documents', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'order.png');
    const answered = await h.request('POST', `/api/v1/registrations/${res.body.id}/info`, { body: form, headers: code });
    expect(answered.status).toBe(202);
    expect(answered.body.status).toBe('pending_approval');
    // The admins hear of this request again: its mail at submission, and one for the answer.
    await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('New registration request') && m.text.includes(res.body.id), 2);

    const tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code });
    expect(tracked.body.status).toBe('pending_approval');
    expect(tracked.body.applicant.position).toBe('นักวิชาการคอมพิวเตอร์ชำนาญการ');
    expect(tracked.body.documents).toHaveLength(2);
    expect(tracked.body.history.map((e: { event: string }) => e.event)).toEqual(['submitted', 'info_requested', 'info_provided']);
    expect(tracked.body.history[2]).toMatchObject({ actor: 'applicant', note: 'แนบคำสั่งแล้ว' });

    expect((await decide(res.body.id, laoAdmin.token, { decision: 'approve' })).body).toEqual({ status: 'approved' });
  });

  it('lets the applicant withdraw; nothing can be decided afterwards', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const withdrawn = await h.request('POST', `/api/v1/registrations/${res.body.id}/withdraw`, { headers: { 'x-tracking-code': res.body.trackingCode } });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    expect((await decide(res.body.id, laoAdmin.token, { decision: 'approve' })).status).toBe(409);
    const again = await h.request('POST', `/api/v1/registrations/${res.body.id}/withdraw`, { headers: { 'x-tracking-code': res.body.trackingCode } });
    expect(again.status).toBe(409);
    // The person may submit again once the first request is closed.
    const second = await h.submitRegistration({ unitCode: tree.laoA, citizenId: res.citizenId });
    expect(second.status).toBe(202);
  });

  it('passes over a unit without an admin at once', async () => {
    // LAO A2 has no admin: its requests wait at district A.
    const res = await h.submitRegistration({ unitCode: tree.laoA2 });
    expect(res.status).toBe(202);
    const tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: { 'x-tracking-code': res.body.trackingCode } });
    expect(tracked.body.actingUnitCode).toBe(tree.districtA);
    await h.mail.waitFor((m) => m.to === districtAdmin.email && m.subject.includes('New registration request') && m.text.includes(res.body.id));
    expect(h.mail.mails.some((m) => m.text.includes(res.body.id) && m.subject.includes('New registration request') && m.to !== districtAdmin.email)).toBe(
      false,
    );
  });
});

describe('who may decide', () => {
  it('follows the tree: own unit and above yes; sibling, below and self no', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    const id = res.body.id;
    expect((await decide(id, siblingAdmin.token, { decision: 'approve' })).status).toBe(403);
    const staff = await h.createAccount(tree.laoA); // an account, but no admin
    expect((await decide(id, staff.token, { decision: 'approve' })).status).toBe(403);
    expect((await decide(id, 'not-a-token', { decision: 'approve' })).status).toBe(401);
    expect((await decide(id, districtAdmin.token, { decision: 'request_info', reason: 'ขอสำเนาบัตร' })).status).toBe(200);

    // A request waiting at the district (LAO A2 has no admin): the LAO A admin, a unit below, may not decide.
    const up = await h.submitRegistration({ unitCode: tree.laoA2 });
    expect((await decide(up.body.id, laoAdmin.token, { decision: 'approve' })).status).toBe(403);
    expect((await decide(up.body.id, provinceAdmin.token, { decision: 'approve' })).status).toBe(200);
    expect((await decide((await h.submitRegistration({ unitCode: tree.laoA })).body.id, h.central.token, { decision: 'approve' })).status).toBe(200);
  });

  it('refuses an admin deciding a request about themselves', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    // The same person appearing as an admin (e.g. migrated from the old system): their citizen ID matches.
    const [row] = await h.resources.database.db.select().from(registrations).where(eq(registrations.id, res.body.id));
    const self = await h.createAccount(tree.districtA);
    await h.resources.database.db.update(accounts).set({ citizenIdHash: row!.citizenIdHash }).where(eq(accounts.id, self.id));
    await h.designateAdmins(tree.districtA, [districtAdmin, self]);
    const refused = await decide(res.body.id, self.token, { decision: 'approve' });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/own request/);
    await h.designateAdmins(tree.districtA, [districtAdmin]);
  });

  it('shows each admin the inbox of their units, escalated requests included, and nothing else', async () => {
    const a = await h.submitRegistration({ unitCode: tree.laoA });
    const b = await h.submitRegistration({ unitCode: tree.laoB });
    const ids = async (token: string, query = '') =>
      (await h.request('GET', `/api/v1/registrations${query}`, { token })).body.items.map((i: { id: string }) => i.id);
    expect(await ids(laoAdmin.token)).toContain(a.body.id);
    expect(await ids(laoAdmin.token)).not.toContain(b.body.id);
    expect(await ids(siblingAdmin.token)).toContain(b.body.id);
    expect(await ids(siblingAdmin.token)).not.toContain(a.body.id);
    const provinceInbox = await ids(provinceAdmin.token);
    expect(provinceInbox).toEqual(expect.arrayContaining([a.body.id, b.body.id]));
    expect(await ids(provinceAdmin.token, `?unitCode=${tree.laoB}`)).not.toContain(a.body.id);
    expect((await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}`, { token: siblingAdmin.token })).status).toBe(403);
    const staff = await h.createAccount(tree.laoA);
    expect((await h.request('GET', '/api/v1/registrations', { token: staff.token })).status).toBe(403);
    // Paging walks every item once.
    const page1 = await h.request('GET', '/api/v1/registrations?limit=1', { token: provinceAdmin.token });
    expect(page1.body.items).toHaveLength(1);
    const page2 = await h.request('GET', `/api/v1/registrations?limit=1&cursor=${page1.body.nextCursor}`, { token: provinceAdmin.token });
    expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id);
  });
});

describe('bad input gets a clear 4xx and changes nothing', () => {
  const cases: [string, () => Promise<{ status: number; body: any }>, number, RegExp?][] = [
    ['wrong check digit', () => h.submitRegistration({ unitCode: tree.laoA, citizenId: withWrongCheckDigit(randomCitizenId()) }), 400, /check digit/],
    ['unknown unit', () => h.submitRegistration({ unitCode: 'NO-SUCH-UNIT' }), 400, /does not exist/],
    ['unknown system', () => h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'NOPE', role: 'x' }] }), 400, /not a connected system/],
    ['unknown role', () => h.submitRegistration({ unitCode: tree.laoA, requestedAccess: [{ system: 'INFO', role: 'god' }] }), 400, /no role/],
    ['missing field', () => h.submitRegistration({ unitCode: tree.laoA, email: undefined }), 400, /email/],
    ['wrong types', () => h.submitRegistration({ unitCode: tree.laoA, requestedAccess: 'INFO', position: 42 }), 400],
    ['bad e-mail', () => h.submitRegistration({ unitCode: tree.laoA, email: 'not-an-email' }), 400, /email/],
    ['short password', () => h.submitRegistration({ unitCode: tree.laoA, password: 'short' }), 400, /password/],
    ['unknown field', () => h.submitRegistration({ unitCode: tree.laoA, isAdmin: true }), 400, /isAdmin/],
    ['no documents', () => h.submitRegistration({ unitCode: tree.laoA }, []), 400, /documents/],
    ['disguised document', () => h.submitRegistration({ unitCode: tree.laoA }, [{ name: 'letter.pdf', type: 'application/pdf', content: DISGUISED_PDF }]), 415],
    [
      'six documents',
      () =>
        h.submitRegistration(
          { unitCode: tree.laoA },
          Array.from({ length: 6 }, () => ({ name: 'a.jpg', type: 'image/jpeg', content: JPEG })),
        ),
      413,
    ],
    [
      'oversized document',
      () =>
        h.submitRegistration({ unitCode: tree.laoA }, [
          { name: 'big.pdf', type: 'application/pdf', content: Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]) },
        ]),
      413,
    ],
    [
      'malformed JSON',
      async () => {
        const form = new FormData();
        form.append('data', '{"citizenId": ');
        form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'a.pdf');
        return h.request('POST', '/api/v1/registrations', { body: form });
      },
      400,
      /not valid JSON/,
    ],
    ['JSON instead of multipart', () => h.request('POST', '/api/v1/registrations', { json: { citizenId: randomCitizenId() } }), 415],
  ];

  for (const [name, send, status, detail] of cases) {
    it(`${name} → ${status}`, async () => {
      const before = await countRows();
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
      if (detail) expect(JSON.stringify(res.body)).toMatch(detail);
      expect(await countRows()).toBe(before);
    });
  }

  it('a duplicate citizen ID (open request or account) → 409', async () => {
    const first = await h.submitRegistration({ unitCode: tree.laoA });
    const before = await countRows();
    const again = await h.submitRegistration({ unitCode: tree.laoA, citizenId: first.citizenId });
    expect(again.status).toBe(409);
    const withAccount = await h.submitRegistration({ unitCode: tree.laoA, citizenId: laoAdmin.citizenId });
    expect(withAccount.status).toBe(409);
    const sameUsername = await h.submitRegistration({ unitCode: tree.laoA, username: laoAdmin.username });
    expect(sameUsername.status).toBe(409);
    expect(await countRows()).toBe(before);
  });

  it('two identical submissions racing make one request', async () => {
    const citizenId = randomCitizenId();
    const results = await Promise.all([1, 2, 3].map(() => h.submitRegistration({ unitCode: tree.laoA, citizenId })));
    expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409]);
  });

  it('decision payloads are checked', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    expect((await decide(res.body.id, laoAdmin.token, { decision: 'maybe' })).status).toBe(400);
    expect((await decide(res.body.id, laoAdmin.token, { decision: 'approve', access: [{ system: 'NOPE', role: 'x' }] })).status).toBe(400);
    expect((await decide('00000000-0000-4000-8000-000000000000', laoAdmin.token, { decision: 'approve' })).status).toBe(404);
    expect((await decide('not-a-uuid', laoAdmin.token, { decision: 'approve' })).status).toBe(400);
    const tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { token: laoAdmin.token });
    expect(tracked.body.status).toBe('pending_approval');
    expect(tracked.body.history).toHaveLength(1);
  });
});

describe('sign-in', () => {
  it('answers 401 alike for an unknown user and a wrong password', async () => {
    const unknown = await h.request('POST', '/api/v1/auth/login', { json: { username: 'nobody-here', password: 'whatever-1' } });
    const wrong = await h.request('POST', '/api/v1/auth/login', { json: { username: laoAdmin.username, password: 'wrong-password' } });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.detail).toBe(wrong.body.detail);
  });

  it('revokes the token on logout', async () => {
    const token = await h.login(laoAdmin.username, laoAdmin.password);
    expect((await h.request('GET', `/api/v1/accounts/${laoAdmin.id}`, { token })).status).toBe(200);
    expect((await h.request('POST', '/api/v1/auth/logout', { token })).status).toBe(200);
    expect((await h.request('GET', `/api/v1/accounts/${laoAdmin.id}`, { token })).status).toBe(401);
  });

  it('refuses a suspended account with 423', async () => {
    const staff = await h.createAccount(tree.laoA);
    await h.resources.database.db.update(accounts).set({ status: 'suspended' }).where(eq(accounts.id, staff.id));
    const res = await h.request('POST', '/api/v1/auth/login', { json: { username: staff.username, password: staff.password } });
    expect(res.status).toBe(423);
  });
});

describe('replay', () => {
  it('replays every history these tests recorded against the current code', async () => {
    const histories = h.client.workflow.list({ query: `TaskQueue = "${h.config.taskQueue}"` }).intoHistories();
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle(WORKFLOWS_PATH) }, histories);
    let replayed = 0;
    for await (const result of results) {
      expect(result.error, `${result.workflowId}: ${String(result.error)}`).toBeUndefined();
      replayed++;
    }
    expect(replayed).toBeGreaterThan(10);
  });
});
