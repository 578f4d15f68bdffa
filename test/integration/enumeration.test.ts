// What a stranger can learn about people without signing in (issue 13, finding 12), and what they can
// hold: the registration's 409 says the same for an account and an open request; a unit's admins and the
// systems' internal addresses are shown only to those who need them; submitting first with someone's
// citizen ID does not block their registration, since their ThaiID-verified request replaces it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { randomCitizenId } from '../../scripts/support/fixtures.ts';
import { signInWithThaiId } from '../../services/sign-in.ts';
import { signedInPage } from '../support/console.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let browser: Browser | undefined;
/** LAO A's admin, the district's admin above it, LAO A's staff member, another LAO's staff member. */
let laoAdmin: TestAccount, districtAdmin: TestAccount, staff: TestAccount, stranger: TestAccount;

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  await h.putInfoSystem();
  [laoAdmin, districtAdmin, staff, stranger] = await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.districtA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoB),
  ]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

afterEach(({ task }) => {
  if (task.result?.state === 'fail') console.log(`API log, last lines:\n${h.logs.slice(-40).join('')}`);
});

/** A ThaiID sign-in of a person without an account: the one-time verification that fills the form. */
async function verifiedThroughThaiId(citizenId: string): Promise<string> {
  const signedIn = await signInWithThaiId(h.app.deps, { pid: citizenId, given_name: 'สมชาย', family_name: 'ใจดี' });
  if (!('verification' in signedIn)) throw new Error('the person has an account already');
  return signedIn.verification;
}

const submitVerified = (citizenId: string, verification: string) =>
  h.submitRegistration({ identityVerification: verification, citizenId: undefined, firstNameTh: undefined, lastNameTh: undefined, unitCode: tree.laoA });

const tracked = (id: string, trackingCode: string) => h.request('GET', `/api/v1/registrations/${id}`, { headers: { 'x-tracking-code': trackingCode } });

const inbox = async (token: string) =>
  ((await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&limit=200`, { token })).body.items as { id: string }[]).map((r) => r.id);

describe('POST /registrations: one answer for a citizen ID that is taken', () => {
  it('says the same, in Thai and English, for an account and for an open request', async () => {
    const open = await h.submitRegistration({ unitCode: tree.laoA });
    expect(open.status).toBe(202);
    const onRequest = await h.submitRegistration({ unitCode: tree.laoA, citizenId: open.citizenId });
    const onAccount = await h.submitRegistration({ unitCode: tree.laoA, citizenId: staff.citizenId });
    expect([onRequest.status, onAccount.status]).toEqual([409, 409]);
    const shown = (r: typeof onRequest) => ({ type: r.body.type, title: r.body.title, detail: r.body.detail, errors: r.body.errors });
    expect(shown(onAccount)).toEqual(shown(onRequest));
    expect(onRequest.body.detail).toMatch(/[ก-๙]/);
    expect(onRequest.body.detail).toMatch(/ThaiID/);
    // A username that is taken is told apart: it is no one's citizen ID.
    const username = await h.submitRegistration({ unitCode: tree.laoA, username: staff.username });
    expect(username.status).toBe(409);
    expect(username.body.detail).not.toBe(onRequest.body.detail);
  });
});

describe("GET /org-units/:code: the unit's SSO admins only for those who need them", () => {
  it('hides them from anonymous callers and other units, shows them to the unit and the admins over it', async () => {
    const path = `/api/v1/org-units/${tree.laoA}`;
    const anonymous = await h.request('GET', path);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toMatchObject({ code: tree.laoA, parentCode: tree.districtA, kind: expect.any(String), nameTh: expect.any(String) });
    expect(anonymous.body).not.toHaveProperty('admins');
    expect(JSON.stringify(anonymous.body)).not.toContain(laoAdmin.username);
    const otherUnit = await h.request('GET', path, { token: stranger.token });
    expect(otherUnit.body).not.toHaveProperty('admins');
    expect(JSON.stringify(otherUnit.body)).not.toContain(laoAdmin.username);

    for (const who of [staff, laoAdmin, districtAdmin, h.central]) {
      const seen = await h.request('GET', path, { token: who.token });
      expect(seen.body.admins).toEqual([{ accountId: laoAdmin.id, username: laoAdmin.username, since: expect.any(String) }]);
    }
    expect((await h.request('GET', '/api/v1/org-units/NOPE')).status).toBe(404);
  });
});

describe('GET /systems: internal addresses only for DLA central', () => {
  it('shows code, names and roles to everyone, the url and OIDC client to DLA central', async () => {
    const oidc = {
      redirectUris: ['https://plan.internal.example/callback'],
      postLogoutRedirectUris: ['https://plan.internal.example/bye'],
      backchannelLogoutUri: 'https://plan.internal.example/logout',
    };
    const put = await h.request('PUT', '/api/v1/systems/EPLAN', {
      token: h.central.token,
      json: { nameTh: 'ระบบแผน', nameEn: 'e-Plan', url: 'https://plan.internal.example', roles: ['viewer'], oidc },
    });
    expect(put.status).toBe(200);
    const entry = { code: 'EPLAN', nameTh: 'ระบบแผน', nameEn: 'e-Plan', roles: ['viewer'] };
    for (const token of [undefined, staff.token, laoAdmin.token]) {
      const list = await h.request('GET', '/api/v1/systems', token ? { token } : {});
      expect(list.status).toBe(200);
      expect(list.body.items).toContainEqual(entry);
      expect(JSON.stringify(list.body)).not.toContain('internal.example');
    }
    const central = await h.request('GET', '/api/v1/systems', { token: h.central.token });
    expect(central.body.items).toContainEqual({
      ...entry,
      url: 'https://plan.internal.example',
      oidc: { clientId: 'EPLAN', ...oidc, public: false },
    });
  });
});

describe('a ThaiID-verified request supersedes an unverified one', () => {
  it('ends the unverified request, tells its applicant, drops it from the inbox, and the verified one proceeds', async () => {
    const citizenId = randomCitizenId();
    const squatter = await h.submitRegistration({ unitCode: tree.laoA, citizenId, email: `squatter-${Date.now()}@elsewhere.test` });
    expect(squatter.status).toBe(202);
    expect(await inbox(laoAdmin.token)).toContain(squatter.body.id);

    const verified = await submitVerified(citizenId, await verifiedThroughThaiId(citizenId));
    expect(verified.status).toBe(202);

    const old = await tracked(squatter.body.id, squatter.body.trackingCode);
    expect(old.body.status).toBe('superseded');
    expect(old.body.decidedAt).toEqual(expect.any(String));
    expect(old.body.history.map((e: { event: string }) => e.event)).toEqual(['submitted', 'superseded']);
    const [mail] = await h.mail.waitFor((m) => m.to === squatter.email && m.subject.includes('replaced by a ThaiID-verified'));
    expect(mail!.subject).toMatch(/^คำขอลงทะเบียน/); // Thai first
    expect(mail!.text.indexOf('ThaiID')).toBeLessThan(mail!.text.indexOf('verified through ThaiID'));
    expect(mail!.text).toContain(`/track/${squatter.body.id}`);
    for (const part of [mail!.subject, mail!.text, mail!.html]) expect(part).not.toContain(citizenId);
    // Ended: the old applicant can no longer withdraw it, nor an admin decide it.
    expect(
      (await h.request('POST', `/api/v1/registrations/${squatter.body.id}/withdraw`, { headers: { 'x-tracking-code': squatter.body.trackingCode } })).status,
    ).toBe(409);
    expect(
      (await h.request('POST', `/api/v1/registrations/${squatter.body.id}/decision`, { token: laoAdmin.token, json: { decision: 'approve' } })).status,
    ).toBe(409);

    const waiting = await inbox(laoAdmin.token);
    expect(waiting).toContain(verified.body.id);
    expect(waiting).not.toContain(squatter.body.id);
    const superseded = await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&status=superseded`, { token: laoAdmin.token });
    expect(superseded.body.items.map((r: { id: string }) => r.id)).toContain(squatter.body.id);

    const approved = await h.request('POST', `/api/v1/registrations/${verified.body.id}/decision`, { token: laoAdmin.token, json: { decision: 'approve' } });
    expect(approved.body).toEqual({ status: 'approved' });
  });

  it('a verified open request still blocks another, verified or not, with the same 409', async () => {
    const citizenId = randomCitizenId();
    const first = await submitVerified(citizenId, await verifiedThroughThaiId(citizenId));
    expect(first.status).toBe(202);
    const unverified = await h.submitRegistration({ unitCode: tree.laoA, citizenId });
    const again = await submitVerified(citizenId, await verifiedThroughThaiId(citizenId));
    expect([unverified.status, again.status]).toEqual([409, 409]);
    expect(again.body.detail).toBe(unverified.body.detail);
    expect((await tracked(first.body.id, first.body.trackingCode)).body.status).toBe('pending_approval');
  });

  it('the console shows the new status in Thai and English', async () => {
    const citizenId = randomCitizenId();
    const squatter = await h.submitRegistration({ unitCode: tree.laoA, citizenId });
    expect((await submitVerified(citizenId, await verifiedThroughThaiId(citizenId))).status).toBe(202);
    browser ??= await launchBrowser();
    const { context, page } = await signedInPage(browser, h.baseUrl, laoAdmin);
    try {
      await page.goto(`/admin/registrations/${squatter.body.id}`);
      const text = await page.textContent('main');
      expect(text).toContain('ถูกแทนที่ด้วยคำขอที่ยืนยันตัวตนด้วย ThaiID');
      expect(text).toContain('Replaced by a ThaiID-verified request');
      await page.goto(`/admin/registrations?status=superseded&unitCode=${tree.laoA}`);
      expect(await page.locator(`a[href="/admin/registrations/${squatter.body.id}"]`).count()).toBe(1);
      expect(await page.locator('#status option[value="superseded"]').textContent()).toContain('Replaced by a ThaiID-verified request');
    } finally {
      await context.close();
    }
  });
});
