// The appointment's timers end to end: the real API, activities, PostgreSQL and SMTP, with the worker
// on Temporal's time-skipping server, so that days pass in a moment. An undecided appointment is
// reminded, escalated one unit up, then expires; an approved one with a term end is reminded before
// the term ends and loses the role after its last day (00:00 Asia/Bangkok).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { termEndsAt } from '../../workflows/appointment.ts';
import { PDF } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';
import { createTimeSkippingEnv } from '../support/time-skipping.ts';

const DAY = 86_400_000;
let env: TestWorkflowEnvironment;
let h: Harness;
let tree: Tree;
let provinceAdmin: TestAccount, rootAdmin: TestAccount;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startHarness({
    TEMPORAL_ADDRESS: env.address,
    APPOINTMENT_REMIND_AFTER: '2d',
    APPOINTMENT_ESCALATE_AFTER: '5d',
    APPOINTMENT_EXPIRE_AFTER: '30d',
    APPOINTMENT_TERM_REMINDER_BEFORE: '30d',
  });
  tree = await h.seedTree();
  [provinceAdmin, rootAdmin] = await Promise.all([h.createAccount(tree.province), h.createAccount(tree.root)]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  await h.designateAdmins(tree.root, [rootAdmin]);
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await env?.teardown();
});

function upload(unit: string, token: string, data: unknown) {
  const form = new FormData();
  form.append('data', JSON.stringify(data));
  form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'order.pdf');
  return h.request('POST', `/api/v1/org-units/${unit}/admin-appointments`, { token, body: form });
}
const shown = async (id: string) => (await h.request('GET', `/api/v1/admin-appointments/${id}`, { token: h.central.token })).body;
const subjects = (to: string) => h.mail.mails.filter((m) => m.to === to).map((m) => m.subject);
/** Moves the server's clock to `at` (skipping), then lets the workflow's work finish in real time. */
async function skipTo(at: number) {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}

describe('an appointment nobody decides', () => {
  it('reminds the approvers after 2 days, moves up after 5, and expires after 30', async () => {
    const clerk = await h.createAccount(tree.districtB);
    const appointee = await h.createAccount(tree.districtB);
    const start = await env.currentTimeMs();
    const submitted = await upload(tree.districtB, clerk.token, { accountId: appointee.id });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('awaiting approval'));
    expect(subjects(provinceAdmin.email).filter((s) => s.includes('Reminder'))).toEqual([]);

    await skipTo(start + 2 * DAY + 60_000);
    await h.mail.waitFor((m) => m.to === provinceAdmin.email && m.subject.includes('Reminder: SSO admin appointment awaiting approval'));
    expect((await shown(id)).actingUnitCode).toBe(tree.province);
    expect(subjects(rootAdmin.email).some((s) => s.includes('Escalated'))).toBe(false);

    await skipTo(start + 5 * DAY + 60_000);
    await h.mail.waitFor((m) => m.to === rootAdmin.email && m.subject.includes('Escalated: SSO admin appointment awaiting approval'));
    await expect.poll(async () => (await shown(id)).actingUnitCode).toBe(tree.root);
    expect((await shown(id)).status).toBe('pending_approval');

    await skipTo(start + 30 * DAY + 60_000);
    await expect.poll(async () => (await shown(id)).status, { timeout: 15_000 }).toBe('expired');
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('SSO admin appointment expired'));
    // Too late to decide it now.
    expect((await h.request('POST', `/api/v1/admin-appointments/${id}/decision`, { token: rootAdmin.token, json: { decision: 'approve' } })).status).toBe(409);
    expect((await h.request('GET', `/api/v1/org-units/${tree.districtB}`, { token: h.central.token })).body.admins).toEqual([]);
  }, 120_000);
});

describe('an approved appointment with a term end', () => {
  it('reminds the appointee 30 days before the term ends, and removes the role after its last day', async () => {
    const clerk = await h.createAccount(tree.laoB);
    const appointee = await h.createAccount(tree.laoB);
    // Sixty days from the server's "now", as a Bangkok date.
    const termEnd = new Date((await env.currentTimeMs()) + 7 * 3_600_000 + 60 * DAY).toISOString().slice(0, 10);
    const submitted = await upload(tree.laoB, clerk.token, { accountId: appointee.id, termEnd });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    // LAO B's district has no admin: the province approves.
    expect((await h.request('POST', `/api/v1/admin-appointments/${id}/decision`, { token: provinceAdmin.token, json: { decision: 'approve' } })).body).toEqual({
      status: 'approved',
    });
    const admins = async () =>
      (await h.request('GET', `/api/v1/org-units/${tree.laoB}`, { token: h.central.token })).body.admins.map((a: { accountId: string }) => a.accountId);
    expect(await admins()).toEqual([appointee.id]);

    const endAt = termEndsAt(termEnd);
    await skipTo(endAt - 30 * DAY - 3_600_000);
    expect(subjects(appointee.email).some((s) => s.includes('term ends soon'))).toBe(false);
    await skipTo(endAt - 30 * DAY + 60_000);
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('SSO admin term ends soon'));
    expect(await admins()).toEqual([appointee.id]);

    // The last day itself: still an admin.
    await skipTo(endAt - 3_600_000);
    expect(await admins()).toEqual([appointee.id]);
    expect((await shown(id)).status).toBe('approved');
    // 00:00 Asia/Bangkok after it: the role is gone.
    await skipTo(endAt + 60_000);
    await expect.poll(async () => (await shown(id)).status, { timeout: 15_000 }).toBe('ended');
    expect(await admins()).toEqual([]);
    await h.mail.waitFor((m) => m.to === appointee.email && m.subject.includes('SSO admin appointment') && m.subject.includes('สิ้นสุด'));
    const login = await h.request('POST', '/api/v1/auth/login', { json: { username: appointee.username, password: appointee.password } });
    expect(login.body.account.roles).not.toContain('sso_admin');
  }, 120_000);
});
