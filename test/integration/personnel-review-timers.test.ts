// A person's review after a transfer and after a change of duties, end to end with the default
// timers (remind 2 days, escalate 5, deadline 14): the real API, activities, PostgreSQL and SMTP,
// the worker on Temporal's time-skipping server. Both reviews start together: the review's due date
// is set by an activity on the real clock, so they must open before the server's clock moves.
import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';
import { createTimeSkippingEnv } from '../support/time-skipping.ts';

const SECRET = 'review-timers-secret';
const DAY = 86_400_000;
let env: TestWorkflowEnvironment;
let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startHarness({
    TEMPORAL_ADDRESS: env.address,
    HR_FEED_SECRET: SECRET,
    ROLE_CHANGE_REMIND_AFTER: '2d',
    ROLE_CHANGE_ESCALATE_AFTER: '5d',
    ROLE_CHANGE_EXPIRE_AFTER: '14d',
    TRANSFER_REMIND_AFTER: '2d',
    TRANSFER_ESCALATE_AFTER: '5d',
    TRANSFER_EXPIRE_AFTER: '14d',
  });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.districtA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.putInfoSystem();
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await env?.teardown();
});

const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
function post(events: unknown[]) {
  const raw = JSON.stringify({ events });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
  return h.request('POST', '/api/v1/personnel-events', {
    body: raw,
    headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` },
  });
}
const account = async (id: string) => (await h.request('GET', `/api/v1/accounts/${id}`, { token: h.central.token })).body;
const review = async (id: string) => (await h.request('GET', `/api/v1/access-reviews/${id}`, { token: h.central.token })).body;
const reviewIdOf = async (eventId: string) => {
  let id: string | undefined;
  await expect
    .poll(async () => (id = (await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body.reviewId), { timeout: 15_000 })
    .toBeTruthy();
  return id!;
};
async function skipTo(at: number) {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}
/** Mails to `to` about this review (the review's digests name the person's unit; count per kind). */
const digests = (to: string, kind: 'Reminder' | 'Escalated' | 'new') =>
  h.mail.mails.filter(
    (m) =>
      m.to === to &&
      m.subject.includes('access right(s) to review') &&
      (kind === 'new' ? !/Reminder|Escalated/.test(m.subject) : m.subject.includes(`${kind}:`)),
  );

it("reminds the unit's admins after 2 days, escalates after 5, and applies the deadline's rule at 14, for a transfer and a change of duties", async () => {
  const mover = await h.createAccount(tree.laoB);
  const changer = await h.createAccount(tree.laoA);
  await h.request('PUT', `/api/v1/accounts/${mover.id}/entitlements`, {
    token: h.central.token,
    json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoB }],
  });
  await h.request('PUT', `/api/v1/accounts/${changer.id}/entitlements`, {
    token: h.central.token,
    json: [{ system: 'INFO', role: 'editor', unitCode: tree.laoA }],
  });

  const start = await env.currentTimeMs();
  const transfer = uniqueName('tr-');
  const roleChange = uniqueName('rc-');
  expect(
    (
      await post([
        { eventId: transfer, type: 'transfer', citizenId: mover.citizenId, effectiveDate: today(), toUnitCode: tree.laoA },
        { eventId: roleChange, type: 'role_change', citizenId: changer.citizenId, effectiveDate: today(), newPosition: 'นักจัดการงานทั่วไป' },
      ])
    ).body,
  ).toMatchObject({ accepted: 2 });
  const [transferReview, roleReview] = await Promise.all([reviewIdOf(transfer), reviewIdOf(roleChange)]);
  // Both reviews wait at LAO A, whose admin is told of each.
  await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('access right(s) to review') && !/Reminder|Escalated/.test(m.subject), 2);
  expect((await account(mover.id)).entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoB, status: 'suspended' }]);
  expect((await account(changer.id)).entitlements).toEqual([{ system: 'INFO', role: 'editor', unitCode: tree.laoA, status: 'pending_review' }]);
  expect(digests(laoAdmin.email, 'Reminder')).toHaveLength(0);

  await skipTo(start + 2 * DAY + 60_000);
  await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('Reminder:') && m.subject.includes('access right(s) to review'), 2);
  expect(digests(districtAdmin.email, 'Escalated')).toHaveLength(0);

  await skipTo(start + 5 * DAY + 60_000);
  await h.mail.waitFor((m) => m.to === districtAdmin.email && m.subject.includes('Escalated:') && m.subject.includes('access right(s) to review'), 2);
  // The district's admin now decides them; the LAO's has nothing left in these reviews.
  const itemIds: string[] = [];
  for (const id of [transferReview, roleReview]) {
    const items = (await h.request('GET', `/api/v1/access-reviews/${id}/items`, { token: districtAdmin.token })).body.items;
    expect(items).toHaveLength(1);
    itemIds.push(items[0].id);
    expect((await review(id)).status).not.toBe('completed');
  }

  // The day before the deadline nothing is settled.
  await skipTo(start + 13 * DAY);
  expect((await account(changer.id)).entitlements[0].status).toBe('pending_review');
  await skipTo(start + 14 * DAY + 60_000);
  await expect.poll(async () => (await review(roleReview)).status, { timeout: 15_000 }).toBe('completed');
  await expect.poll(async () => (await review(transferReview)).status, { timeout: 15_000 }).toBe('completed');
  // Change of duties: undecided rights are suspended. Transfer: they stay suspended.
  expect((await account(changer.id)).entitlements).toEqual([{ system: 'INFO', role: 'editor', unitCode: tree.laoA, status: 'suspended' }]);
  expect((await account(mover.id)).entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoB, status: 'suspended' }]);
  expect((await review(roleReview)).totals).toMatchObject({ items: 1, decided: 0, autoApplied: 1 });
  expect((await review(transferReview)).totals).toMatchObject({ items: 1, decided: 0, autoApplied: 1 });
  // Too late to decide.
  expect(
    (
      await h.request('POST', `/api/v1/access-reviews/${roleReview}/decisions`, {
        token: districtAdmin.token,
        json: { decisions: [{ itemId: itemIds[1], decision: 'keep' }] },
      })
    ).status,
  ).toBe(409);
}, 150_000);
