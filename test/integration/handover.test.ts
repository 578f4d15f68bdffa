// Start-up hand-over: a flow whose row exists without its workflow (the process died between
// writing the row and starting or signalling the workflow) is handed to Temporal again at start-up
// (services/startup.ts). Registrations and personnel events are covered here (personnel also in
// personnel.test.ts), appointments and campaigns.
// Also the single sign-on's housekeeping, on a controlled clock.
import { createHmac, randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminAppointments, mailOutbox, oidcPayloads, personnelEvents, registrations } from '../../db/schema.ts';
import { resumeFlows } from '../../services/startup.ts';
import { createCampaignRecord } from '../../db/reviews.ts';
import { campaignWorkflowId } from '../../workflows/access-review-campaign.ts';
import { startSsoHousekeeping } from '../../lib/sso/backchannel-logout.ts';
import { registrationWorkflowId } from '../../workflows/registration.ts';
import { appointmentWorkflowId } from '../../workflows/appointment.ts';
import { PDF } from '../../scripts/support/fixtures.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const SECRET = 'handover-secret';
let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: SECRET });
  tree = await h.seedTree();
  laoAdmin = await h.createAccount(tree.laoA);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
});
afterAll(async () => {
  await h?.stop();
});

const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

describe('start-up hand-over', () => {
  it('starts the workflow of a registration stored without one: the applicant gets the tracking mail, the admins theirs, and it can be decided', async () => {
    const db = h.resources.database.db;
    // A real submission gives a real row and its queued mail; a copy of both under a new id is a
    // request whose workflow never started.
    const model = await h.submitRegistration({ unitCode: tree.laoA });
    expect(model.status).toBe(202);
    const [row] = await db.select().from(registrations).where(eq(registrations.id, model.body.id));
    const [mail] = await db
      .select()
      .from(mailOutbox)
      .where(eq(mailOutbox.key, `registration:${model.body.id}:submitted`));
    const id = randomUUID();
    const citizenId = randomCitizenId();
    const email = `${uniqueName('lost')}@lao.test`;
    await db.insert(registrations).values({
      ...row!,
      id,
      citizenIdHash: h.resources.cipher.lookupHash(citizenId),
      citizenIdEnc: h.resources.cipher.encrypt(citizenId),
      username: uniqueName('lost'),
      email,
      submittedAt: new Date(),
    });
    await db
      .insert(mailOutbox)
      .values({ ...mail!, id: randomUUID(), key: `registration:${id}:submitted`, toAddress: email, sentAt: null, attempts: 0, createdAt: new Date() });
    await expect(h.client.workflow.getHandle(registrationWorkflowId(id)).describe()).rejects.toThrow();

    expect((await resumeFlows(h.resources.database.db, { client: h.client, config: h.config })).registrations).toBeGreaterThanOrEqual(1);
    await h.mail.waitFor((m) => m.to === email && m.subject.includes('Registration request received'));
    await h.mail.waitFor((m) => m.to === laoAdmin.email && m.subject.includes('New registration request') && m.text.includes(id));
    const decided = await h.request('POST', `/api/v1/registrations/${id}/decision`, { token: laoAdmin.token, json: { decision: 'reject', reason: 'ทดสอบ' } });
    expect(decided.body).toEqual({ status: 'rejected' });

    // Handed over once: a second start-up starts nothing for it, and mails nobody again.
    await resumeFlows(h.resources.database.db, { client: h.client, config: h.config });
    await new Promise((r) => setTimeout(r, 500));
    expect(h.mail.mails.filter((m) => m.to === email && m.subject.includes('Registration request received'))).toHaveLength(1);
  });

  it("hands a stored personnel event to its person's workflow, dated today: applied once", async () => {
    const staff = await h.createAccount(tree.laoA);
    const eventId = uniqueName('lost-');
    await h.resources.database.db.insert(personnelEvents).values({
      eventId,
      type: 'suspension',
      citizenIdHash: h.resources.cipher.lookupHash(staff.citizenId),
      citizenIdEnc: h.resources.cipher.encrypt(staff.citizenId),
      effectiveDate: today(),
      source: 'hr-feed',
    });
    const status = async () => (await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body.status;
    expect(await status()).toBe('scheduled');
    expect((await resumeFlows(h.resources.database.db, { client: h.client, config: h.config })).personnelEvents).toBeGreaterThanOrEqual(1);
    await expect.poll(status, { timeout: 15_000 }).toBe('applied');
    expect((await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: h.central.token })).body.status).toBe('suspended');
    // The feed sending it again later is a duplicate, and a second start-up changes nothing.
    const raw = JSON.stringify({ events: [{ eventId, type: 'suspension', citizenId: staff.citizenId, effectiveDate: today() }] });
    const ts = String(Math.floor(Date.now() / 1000));
    const again = await h.request('POST', '/api/v1/personnel-events', {
      body: raw,
      headers: {
        'content-type': 'application/json',
        'x-hr-timestamp': ts,
        'x-hr-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`,
      },
    });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    await resumeFlows(h.resources.database.db, { client: h.client, config: h.config });
    expect(await status()).toBe('applied');
  });
});

describe('start-up hand-over of an appointment', () => {
  it('starts the workflow of a letter stored without one: the approvers are mailed, and it can be approved', async () => {
    const db = h.resources.database.db;
    const [clerk, appointee, stranded, districtAdmin] = await Promise.all([
      h.createAccount(tree.laoA2),
      h.createAccount(tree.laoA2),
      h.createAccount(tree.laoA2),
      h.createAccount(tree.districtA),
    ]);
    await h.designateAdmins(tree.districtA, [districtAdmin]);
    const form = new FormData();
    form.append('data', JSON.stringify({ accountId: appointee.id, termEnd: '2099-09-30' }));
    form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'order.pdf');
    const model = await h.request('POST', `/api/v1/org-units/${tree.laoA2}/admin-appointments`, { token: clerk.token, body: form });
    expect(model.status).toBe(202);
    // A copy of the real row under a new id, for another appointee: a letter whose workflow never started.
    const [row] = await db.select().from(adminAppointments).where(eq(adminAppointments.id, model.body.id));
    const id = randomUUID();
    await db.insert(adminAppointments).values({ ...row!, id, accountId: stranded.id, submittedAt: new Date() });
    await expect(h.client.workflow.getHandle(appointmentWorkflowId(id)).describe()).rejects.toThrow();

    expect((await resumeFlows(db, { client: h.client, config: h.config })).appointments).toBeGreaterThanOrEqual(1);
    await h.mail.waitFor((m) => m.to === districtAdmin.email && m.subject.includes('SSO admin appointment awaiting approval') && m.text.includes(id));
    const decided = await h.request('POST', `/api/v1/admin-appointments/${id}/decision`, { token: districtAdmin.token, json: { decision: 'approve' } });
    expect(decided.body).toMatchObject({ status: 'approved' });
    const unit = await h.request('GET', `/api/v1/org-units/${tree.laoA2}`, { token: h.central.token });
    expect(unit.body.admins.map((a: { accountId: string }) => a.accountId)).toContain(stranded.id);
  });
});

describe('start-up hand-over of a campaign', () => {
  it('starts the workflow of a campaign stored without one: its reviewers get their digest, once', async () => {
    const db = h.resources.database.db;
    await h.putInfoSystem();
    const staff = await h.createAccount(tree.laoA);
    const granted = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: h.central.token,
      json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
    });
    expect(granted.status).toBe(200);
    // The record a start writes first, and no workflow: the process died in between.
    const id = randomUUID();
    const name = uniqueName('lost-campaign');
    await createCampaignRecord(db, {
      id,
      name,
      scopeUnitCode: tree.laoA,
      dueAt: new Date(Date.now() + 7 * 86_400_000),
      onNoDecision: 'keep',
      createdBy: `account:${h.central.id}`,
    });
    await expect(h.client.workflow.getHandle(campaignWorkflowId(id)).describe()).rejects.toThrow();

    expect((await resumeFlows(db, { client: h.client, config: h.config })).campaigns).toBeGreaterThanOrEqual(1);
    const digest = (m: { to: string; text: string }) => m.to === laoAdmin.email && m.text.includes(`/admin/campaigns/${id}/items`);
    await h.mail.waitFor(digest, 1, 30_000);
    await resumeFlows(db, { client: h.client, config: h.config });
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.mail.mails.filter(digest)).toHaveLength(1);
  });
});

describe("the single sign-on's housekeeping", () => {
  it('reclaims expired sessions and tokens every ten minutes, and leaves live ones', async () => {
    const db = h.resources.database.db;
    const expired = randomUUID();
    const live = randomUUID();
    await db.insert(oidcPayloads).values([
      { model: 'Session', id: expired, payload: {}, expiresAt: new Date(Date.now() - 60_000) },
      { model: 'Session', id: live, payload: {}, expiresAt: new Date(Date.now() + 3_600_000) },
    ]);
    const exists = async (id: string) =>
      (
        await db
          .select()
          .from(oidcPayloads)
          .where(and(eq(oidcPayloads.model, 'Session'), eq(oidcPayloads.id, id)))
      ).length === 1;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const stop = startSsoHousekeeping(db, h.resources.sso.logoutSigner, 5000);
    /** Moves the controlled clock by one interval and lets that round's database work finish. */
    const tick = async () => {
      await vi.advanceTimersByTimeAsync(5000);
      await new Promise((r) => setTimeout(r, 40));
    };
    try {
      // Nine and a half minutes of rounds: logout deliveries only, nothing reclaimed.
      for (let i = 0; i < 114; i++) await tick();
      expect(await exists(expired)).toBe(true);
      // Past ten minutes, the clean-up runs.
      let rounds = 0;
      while ((await exists(expired)) && rounds < 60) {
        await tick();
        rounds++;
      }
      expect(await exists(expired)).toBe(false);
      expect(rounds).toBeLessThanOrEqual(60);
      expect(await exists(live)).toBe(true);
    } finally {
      stop();
      vi.useRealTimers();
    }
  });
});
