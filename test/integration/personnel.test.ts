// The personnel feed end to end: signed and unsigned calls, duplicates, every event type's effect,
// and the review of a person's rights that transfers and changes of duties open.
import { createHmac } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlements, personnelEvents } from '../../db/schema.ts';
import { randomCitizenId, uniqueName, withWrongCheckDigit } from '../../scripts/support/fixtures.ts';
import { receivePersonnelEvents } from '../../services/personnel.ts';
import { resumeFlows } from '../../services/startup.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const SECRET = 'hr-feed-secret-for-tests';
let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount, laoBAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({
    HR_FEED_SECRET: SECRET,
    ROLE_CHANGE_REMIND_AFTER: '2s',
    ROLE_CHANGE_ESCALATE_AFTER: '1h',
    ROLE_CHANGE_EXPIRE_AFTER: '6s',
    TRANSFER_REMIND_AFTER: '1h',
    TRANSFER_ESCALATE_AFTER: '1h',
    TRANSFER_EXPIRE_AFTER: '1h',
    PERSONNEL_IDLE_CLOSE_AFTER: '5s',
  });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin, laoBAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.districtA), h.createAccount(tree.laoB)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.designateAdmins(tree.laoB, [laoBAdmin]);
  await h.putInfoSystem();
});

afterAll(async () => {
  await h?.stop();
});

const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10); // Asia/Bangkok
const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);

function signed(body: unknown, options: { secret?: string; timestamp?: number } = {}) {
  const raw = JSON.stringify(body);
  const ts = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', options.secret ?? SECRET)
    .update(`${ts}.${raw}`)
    .digest('hex');
  return { body: raw, headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` } };
}
const post = (body: unknown, options?: Parameters<typeof signed>[1]) => h.request('POST', '/api/v1/personnel-events', signed(body, options));
const eventStatus = (eventId: string) => h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token });

async function staffWithRights(unitCode: string, roles = ['viewer']) {
  const staff = await h.createAccount(unitCode);
  await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
    token: h.central.token,
    json: roles.map((role) => ({ system: 'INFO', role, unitCode })),
  });
  return staff;
}
const rightsOf = async (accountId: string) => (await h.request('GET', `/api/v1/accounts/${accountId}`, { token: h.central.token })).body;

describe('the signed feed', () => {
  it('suspends a retiree dated today at once (the latency is measured by npm run bench:leavers): account, rights and sessions; mails the person and the unit', async () => {
    const staff = await staffWithRights(tree.laoA);
    const eventId = uniqueName('ret-');
    const res = await post({ events: [{ eventId, type: 'retirement', citizenId: staff.citizenId, effectiveDate: today() }] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    await expect.poll(async () => (await rightsOf(staff.id)).status, { timeout: 15_000, interval: 50 }).toBe('suspended');
    const account = await rightsOf(staff.id);
    expect(account.entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'suspended' }]);
    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: staff.token })).status).toBe(401);
    expect((await h.request('POST', '/api/v1/auth/login', { json: { username: staff.username, password: staff.password } })).status).toBe(423);
    const status = await eventStatus(eventId);
    expect(status.body).toMatchObject({ eventId, status: 'applied', effectiveDate: today(), appliedAt: expect.any(String) });
    expect(status.body.outcome).toMatch(/suspended/);
    await h.mail.waitFor((m) => m.to === staff.email && m.subject.includes('retirement'));
    await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes(staff.username));
    const audit = await h.request('GET', `/api/v1/audit?accountId=${staff.id}`, { token: laoAdmin.token });
    expect(audit.body.items.find((e: { action: string }) => e.action === 'personnel.retirement')).toMatchObject({ reason: eventId, actor: 'hr-feed' });
  });

  it('refuses stale, future, unsigned and badly signed calls with 401, storing nothing', async () => {
    const event = { eventId: uniqueName('bad-'), type: 'resignation', citizenId: randomCitizenId(), effectiveDate: today() };
    expect((await post({ events: [event] }, { timestamp: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401);
    expect((await post({ events: [event] }, { timestamp: Math.floor(Date.now() / 1000) + 400 })).status).toBe(401);
    expect((await post({ events: [event] }, { secret: 'wrong' })).status).toBe(401);
    const tampered = signed({ events: [event] });
    expect((await h.request('POST', '/api/v1/personnel-events', { ...tampered, body: tampered.body.replace('resignation', 'retirement') })).status).toBe(401);
    expect((await h.request('POST', '/api/v1/personnel-events', { json: { events: [event] } })).status).toBe(401);
    const [stored] = await h.resources.database.db.select().from(personnelEvents).where(eq(personnelEvents.eventId, event.eventId));
    expect(stored).toBeUndefined();
  });

  it('takes a duplicate eventId as a duplicate, even when two calls race', async () => {
    const staff = await staffWithRights(tree.laoA);
    const event = { eventId: uniqueName('dup-'), type: 'resignation', citizenId: staff.citizenId, effectiveDate: inDays(30) };
    const results = await Promise.all([post({ events: [event] }), post({ events: [event] }), post({ events: [event, event] })]);
    const accepted = results.reduce((n, r) => n + r.body.accepted, 0);
    const duplicates = results.reduce((n, r) => n + r.body.duplicates, 0);
    expect(accepted).toBe(1);
    expect(duplicates).toBe(3);
    expect((await eventStatus(event.eventId)).body.status).toBe('scheduled');
    expect((await rightsOf(staff.id)).status).toBe('active'); // dated ahead: nothing yet
  });

  it('validates each event on its own: the valid ones proceed, the rest are listed', async () => {
    const staff = await staffWithRights(tree.laoA);
    const good = { eventId: uniqueName('ok-'), type: 'suspension', citizenId: staff.citizenId, effectiveDate: today() };
    const res = await post({
      events: [
        good,
        { eventId: 'e-bad-digit', type: 'retirement', citizenId: withWrongCheckDigit(randomCitizenId()), effectiveDate: today() },
        { eventId: 'e-bad-type', type: 'promotion', citizenId: randomCitizenId(), effectiveDate: today() },
        { eventId: 'e-no-unit', type: 'transfer', citizenId: randomCitizenId(), effectiveDate: today() },
        { eventId: 'e-bad-date', type: 'retirement', citizenId: randomCitizenId(), effectiveDate: '2567-02-30' },
        { type: 'retirement', citizenId: randomCitizenId(), effectiveDate: today() },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number; eventId: string | null }) => [r.index, r.eventId])).toEqual([
      [1, 'e-bad-digit'],
      [2, 'e-bad-type'],
      [3, 'e-no-unit'],
      [4, 'e-bad-date'],
      [5, null],
    ]);
    for (const r of res.body.rejected) expect(r.errors[0]).toMatchObject({ path: expect.stringMatching(/^events\.\d/), message: expect.any(String) });
    await expect.poll(async () => (await rightsOf(staff.id)).status, { timeout: 5000 }).toBe('suspended');
    expect((await post({ events: [] })).status).toBe(400);
    expect((await post({ events: Array.from({ length: 1001 }, () => good) })).status).toBe(400);
  });

  it('records an event about a person without an account; the admin sees it if they register', async () => {
    const eventId = uniqueName('none-');
    const citizenId = randomCitizenId();
    await post({ events: [{ eventId, type: 'transfer', citizenId, effectiveDate: today(), toUnitCode: tree.laoA }] });
    await expect.poll(async () => (await eventStatus(eventId)).body.status, { timeout: 5000 }).toBe('applied');
    expect((await eventStatus(eventId)).body.outcome).toMatch(/no account/);
    const registration = await h.submitRegistration({ unitCode: tree.laoA, citizenId });
    const seen = await h.request('GET', `/api/v1/registrations/${registration.body.id}`, { token: laoAdmin.token });
    expect(seen.body.personnelEvents).toEqual([
      { eventId, type: 'transfer', effectiveDate: today(), toUnitCode: tree.laoA, newPosition: null, status: 'applied' },
    ]);
    const applicantView = await h.request('GET', `/api/v1/registrations/${registration.body.id}`, {
      headers: { 'x-tracking-code': registration.body.trackingCode },
    });
    expect(applicantView.body.personnelEvents).toBeUndefined();
  });
});

describe('reviews after a transfer or a change of duties', () => {
  it('transfer: old-unit rights suspended, the account moves, the new unit reviews and keeps', async () => {
    const staff = await staffWithRights(tree.laoA, ['viewer', 'editor']);
    const eventId = uniqueName('tr-');
    await post({ events: [{ eventId, type: 'transfer', citizenId: staff.citizenId, effectiveDate: today(), toUnitCode: tree.laoB }] });
    await expect.poll(async () => (await rightsOf(staff.id)).unitCode, { timeout: 5000 }).toBe(tree.laoB);
    expect((await rightsOf(staff.id)).entitlements.map((e: { status: string }) => e.status)).toEqual(['suspended', 'suspended']);
    const reviewId = (await eventStatus(eventId)).body.reviewId;
    const [notice] = await h.mail.waitFor((m) => m.to === laoBAdmin.email && m.subject.includes('access right(s) to review'));
    expect(notice!.text).toContain(`${h.config.publicUrl}/admin/reviews/${reviewId}`);
    const items = (await h.request('GET', `/api/v1/access-reviews/${reviewId}/items`, { token: laoBAdmin.token })).body.items;
    expect(items).toHaveLength(2);
    // The old unit's admin has nothing to decide here: the review at the new unit is not theirs to see.
    expect((await h.request('GET', `/api/v1/access-reviews/${reviewId}/items`, { token: laoAdmin.token })).status).toBe(403);
    const viewer = items.find((i: { role: string }) => i.role === 'viewer');
    const editor = items.find((i: { role: string }) => i.role === 'editor');
    const decided = await h.request('POST', `/api/v1/access-reviews/${reviewId}/decisions`, {
      token: laoBAdmin.token,
      json: {
        decisions: [
          { itemId: viewer.id, decision: 'keep' },
          { itemId: editor.id, decision: 'revoke' },
        ],
      },
    });
    expect(decided.body).toEqual({ applied: 1, rejected: [{ itemId: editor.id, reason: 'a revoke needs a justification' }] });
    const second = await h.request('POST', `/api/v1/access-reviews/${reviewId}/decisions`, {
      token: laoBAdmin.token,
      json: { decisions: [{ itemId: editor.id, decision: 'revoke', justification: 'งานใหม่ไม่ต้องแก้ไขข้อมูล' }] },
    });
    expect(second.body).toEqual({ applied: 1, rejected: [] });
    const rights = (await rightsOf(staff.id)).entitlements;
    expect(rights).toEqual(
      expect.arrayContaining([
        { system: 'INFO', role: 'viewer', unitCode: tree.laoB, status: 'active' },
        { system: 'INFO', role: 'editor', unitCode: tree.laoA, status: 'revoked' },
      ]),
    );
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/access-reviews/${reviewId}`, { token: laoBAdmin.token })).body.status, { timeout: 5000 })
      .toBe('completed');
    const review = (await h.request('GET', `/api/v1/access-reviews/${reviewId}`, { token: laoBAdmin.token })).body;
    expect(review.totals).toEqual({ items: 2, decided: 2, kept: 1, revoked: 1, autoApplied: 0 });
    expect(
      (
        await h.request('POST', `/api/v1/access-reviews/${reviewId}/decisions`, {
          token: laoBAdmin.token,
          json: { decisions: [{ itemId: viewer.id, decision: 'keep' }] },
        })
      ).status,
    ).toBe(409);
  });

  it('role change: rights pending review, reminded, and suspended when the deadline passes undecided', async () => {
    const staff = await staffWithRights(tree.laoA, ['viewer']);
    const eventId = uniqueName('rc-');
    await post({ events: [{ eventId, type: 'role_change', citizenId: staff.citizenId, effectiveDate: today(), newPosition: 'นักจัดการงานทั่วไป' }] });
    await expect.poll(async () => (await rightsOf(staff.id)).entitlements[0]?.status, { timeout: 5000 }).toBe('pending_review');
    const reviewId = (await eventStatus(eventId)).body.reviewId;
    // Rights taken into review end the person's sign-ins; signed in again, they still cannot
    // decide on their own access, even as an admin.
    expect((await h.request('GET', '/api/v1/me/systems', { token: staff.token })).status).toBe(401);
    const again = await h.login(staff.username, staff.password);
    await h.designateAdmins(tree.laoA, [laoAdmin, staff]);
    const items = (await h.request('GET', `/api/v1/access-reviews/${reviewId}/items`, { token: laoAdmin.token })).body.items;
    const own = await h.request('POST', `/api/v1/access-reviews/${reviewId}/decisions`, {
      token: again,
      json: { decisions: [{ itemId: items[0].id, decision: 'keep' }] },
    });
    expect(own.status).toBe(403);
    expect(own.body.detail).toMatch(/own access/);
    await h.designateAdmins(tree.laoA, [laoAdmin]);
    await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.startsWith('เตือน') && m.subject.includes('access right(s) to review'), 1, 10_000);
    await expect.poll(async () => (await rightsOf(staff.id)).entitlements[0]?.status, { timeout: 15_000, interval: 250 }).toBe('suspended');
    const review = (await h.request('GET', `/api/v1/access-reviews/${reviewId}`, { token: laoAdmin.token })).body;
    expect(review).toMatchObject({ status: 'completed', totals: { items: 1, decided: 0, autoApplied: 1 } });
    const [right] = await h.resources.database.db.select().from(entitlements).where(eq(entitlements.accountId, staff.id));
    expect(right!.status).toBe('suspended');
  }, 30_000);
});

describe('after a crash', () => {
  it('hands over at start-up an event that was stored but never reached its workflow', async () => {
    const staff = await staffWithRights(tree.laoA);
    const eventId = uniqueName('lost-');
    // As if the process died between storing the event and signalling the person's workflow.
    await h.resources.database.db.insert(personnelEvents).values({
      eventId,
      type: 'resignation',
      citizenIdHash: h.resources.cipher.lookupHash(staff.citizenId),
      citizenIdEnc: h.resources.cipher.encrypt(staff.citizenId),
      effectiveDate: today(),
      source: 'hr-feed',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await rightsOf(staff.id)).status).toBe('active');
    expect((await resumeFlows(h.resources.database.db, { client: h.client, config: h.config })).personnelEvents).toBeGreaterThanOrEqual(1);
    // Within seconds, as any event (the 15 s of the other polls here: two test files and their workers share two cores).
    await expect.poll(async () => (await rightsOf(staff.id)).status, { timeout: 15_000, interval: 100 }).toBe('suspended');
    await expect.poll(async () => (await eventStatus(eventId)).body.status, { timeout: 15_000, interval: 100 }).toBe('applied');
  });
});

describe('a hand-over that timed out', () => {
  it('neither loses nor repeats an event whose signal reached the workflow although the API answered 503', async () => {
    const staff = await staffWithRights(tree.laoA);
    const event = { eventId: uniqueName('late-'), type: 'retirement' as const, citizenId: staff.citizenId, effectiveDate: today() };
    // Temporal takes the signal, but the answer comes after the API's deadline.
    let workflowId = '';
    let firstRunId = '';
    const late = {
      ...h.app.deps,
      workflows: {
        config: h.config,
        client: {
          withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
          workflow: {
            signalWithStart: async (...args: Parameters<typeof h.client.workflow.signalWithStart>) => {
              const handle = await h.client.workflow.signalWithStart(...args);
              workflowId = handle.workflowId;
              firstRunId = handle.signaledRunId;
              throw new Error('4 DEADLINE_EXCEEDED: Deadline exceeded');
            },
          },
        } as unknown as Client,
      },
    };
    await expect(receivePersonnelEvents(late, { hrFeed: true }, [{ event }], { error: () => {} })).rejects.toMatchObject({ status: 503 });
    // The workflow tries the event (its local activity's marker) before the sender's retry comes.
    const firstRun = () => h.client.workflow.getHandle(workflowId, firstRunId);
    await expect
      .poll(async () => (await firstRun().fetchHistory()).events?.some((e) => e.markerRecordedEventAttributes) ?? false, { timeout: 15_000, interval: 100 })
      .toBe(true);
    // The sender was told to send again, and does.
    const retry = await post({ events: [event] });
    expect(retry.status).toBe(202);
    expect(retry.body.accepted + retry.body.duplicates).toBe(1);
    await expect.poll(async () => (await rightsOf(staff.id)).status, { timeout: 15_000, interval: 100 }).toBe('suspended');
    await expect.poll(async () => (await eventStatus(event.eventId)).body.status, { timeout: 15_000, interval: 100 }).toBe('applied');
    const audit = await h.request('GET', `/api/v1/audit?accountId=${staff.id}`, { token: laoAdmin.token });
    expect(audit.body.items.filter((e: { action: string }) => e.action === 'personnel.retirement')).toHaveLength(1);
    // The person's workflow went on: the run that took the first signal did not fail.
    expect((await firstRun().describe()).status.name).not.toBe('FAILED');
  });
});

describe('admins without an HR system', () => {
  it('report for their own units with their token, as JSON or CSV, and not for other units', async () => {
    const mine = await staffWithRights(tree.laoA);
    const theirs = await staffWithRights(tree.laoB);
    const json = await h.request('POST', '/api/v1/personnel-events', {
      token: laoAdmin.token,
      json: {
        events: [
          { eventId: uniqueName('adm-'), type: 'resignation', citizenId: mine.citizenId, effectiveDate: inDays(10) },
          { eventId: uniqueName('adm-'), type: 'resignation', citizenId: theirs.citizenId, effectiveDate: inDays(10) },
        ],
      },
    });
    expect(json.status).toBe(202);
    expect(json.body.accepted).toBe(1);
    expect(json.body.rejected[0]).toMatchObject({ index: 1, errors: [{ message: expect.stringMatching(/units you administer/) }] });

    const csvId = uniqueName('csv-');
    const csv = `eventId,type,citizenId,effectiveDate,toUnitCode,newPosition,note\n${csvId},suspension,${mine.citizenId},${today()},,,สั่งพักราชการ\n`;
    const fromCsv = await h.request('POST', '/api/v1/personnel-events/csv', { token: laoAdmin.token, body: csv, headers: { 'content-type': 'text/csv' } });
    expect(fromCsv.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    await expect.poll(async () => (await rightsOf(mine.id)).status, { timeout: 5000 }).toBe('suspended');
    const bad = await h.request('POST', '/api/v1/personnel-events/csv', {
      token: laoAdmin.token,
      body: 'who,what\n1,2\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(bad.status).toBe(400);
    const staffToken = (await h.createAccount(tree.laoA)).token;
    expect((await h.request('POST', '/api/v1/personnel-events', { token: staffToken, json: { events: [] } })).status).toBe(403);
  });
});
