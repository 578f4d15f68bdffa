// Reminders, escalation up the tree and expiry on the real Temporal server, with timers of seconds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount, provinceAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({
    REGISTRATION_REMIND_AFTER: '2s',
    REGISTRATION_ESCALATE_AFTER: '4s',
    REGISTRATION_EXPIRE_AFTER: '11s',
    REGISTRATION_DOCUMENT_RETENTION_AFTER: '2s',
  });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin, provinceAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.districtA), h.createAccount(tree.province)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
});

afterAll(async () => {
  await h?.stop();
});

it('reminds the unit, escalates LAO → district → province, and expires, mailing each in turn', async () => {
  const start = Date.now();
  const res = await h.submitRegistration({ unitCode: tree.laoA });
  expect(res.status).toBe(202);
  const code = { 'x-tracking-code': res.body.trackingCode };

  const [reminder] = await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.startsWith('เตือน'));
  expect(Date.now() - start).toBeGreaterThanOrEqual(2000);
  expect(reminder!.subject).toContain('Reminder');

  await h.mail.waitFor((m) => m.to === districtAdmin.email && m.subject.includes('escalated'));
  let tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code });
  expect(tracked.body.actingUnitCode).toBe(tree.districtA);
  // The LAO admin, below the acting unit now, may no longer decide; the district admin may.
  expect((await h.request('POST', `/api/v1/registrations/${res.body.id}/decision`, { token: laoAdmin.token, json: { decision: 'approve' } })).status).toBe(403);

  await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('escalated'));
  tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code });
  expect(tracked.body.actingUnitCode).toBe(tree.province);

  const [expired] = await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('expired'), 1, 20_000);
  expect(Date.now() - start).toBeGreaterThanOrEqual(11_000);
  expect(expired!.text).toContain('หมดอายุ');
  tracked = await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code });
  expect(tracked.body.status).toBe('expired');
  const events = tracked.body.history.map((e: { event: string }) => e.event);
  expect(events.filter((e: string) => e === 'escalated')).toHaveLength(2);
  expect(events.at(-1)).toBe('expired');
  expect((await h.request('POST', `/api/v1/registrations/${res.body.id}/decision`, { token: provinceAdmin.token, json: { decision: 'approve' } })).status).toBe(
    409,
  );

  // After the retention period the evidence is gone.
  await expect
    .poll(async () => (await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code })).body.documents.length, {
      timeout: 10_000,
      interval: 250,
    })
    .toBe(0);
}, 60_000);

it('sends one reminder per period to each admin of the acting unit, and none after the decision', async () => {
  const applicant = uniqueName('ผู้สมัคร');
  const res = await h.submitRegistration({ unitCode: tree.laoA, firstNameTh: applicant });
  const about = (m: { text: string }) => m.text.includes(applicant);
  // Remind at 2 s, escalate at 4 s: the LAO admin is reminded exactly once.
  await h.mail.waitFor((m) => m.to === districtAdmin.email && about(m) && m.subject.includes('escalated'), 1, 15_000);
  expect(h.mail.mails.filter((m) => m.to === laoAdmin.email && about(m) && m.subject.startsWith('เตือน'))).toHaveLength(1);
  const decided = await h.request('POST', `/api/v1/registrations/${res.body.id}/decision`, { token: districtAdmin.token, json: { decision: 'approve' } });
  expect(decided.body.status).toBe('approved');
  await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('approved'));
  const mailsAtDecision = h.mail.mails.filter(about).length;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(h.mail.mails.filter((m) => about(m) && m.subject.startsWith('เตือน'))).toHaveLength(1);
  expect(h.mail.mails.filter(about).length).toBe(mailsAtDecision);
}, 40_000);

it('goes on reminding, escalating and expiring while the mail relay refuses; the mails follow once it is back', async () => {
  h.mail.refusing = true;
  const applicant = uniqueName('ผู้สมัคร');
  let email: string;
  try {
    const res = await h.submitRegistration({ unitCode: tree.laoA, firstNameTh: applicant });
    expect(res.status).toBe(202);
    email = res.email;
    const code = { 'x-tracking-code': res.body.trackingCode };
    const tracked = async () => (await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: code })).body;
    // The request's own clock: two escalations and the expiry at 11 s, while no mail can leave.
    await expect.poll(async () => (await tracked()).status, { timeout: 25_000, interval: 500 }).toBe('expired');
    const events = (await tracked()).history.map((e: { event: string }) => e.event);
    expect(events.filter((e: string) => e === 'escalated')).toHaveLength(2);
    expect(h.mail.mails.filter((m) => m.to === email || m.text.includes(applicant))).toHaveLength(0);
  } finally {
    h.mail.refusing = false;
  }
  // The relay is back: what waited is delivered (the activities' retries reach it within their backoff).
  await h.mail.waitFor((m) => m.to === email && m.subject.includes('expired'), 1, 90_000);
  await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.text.includes(applicant) && m.subject.includes('escalated'), 1, 30_000);
}, 150_000);
