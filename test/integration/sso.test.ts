// Single sign-on end to end, in a real browser: a demo connected system (an openid-client relying
// party) signs people in through the service, by password and through the ThaiID stand-in; roles
// reach its tokens; a person without a right is refused; a retirement from the HR feed logs them
// out of it at once (back-channel logout). Also the protocol's refusals, the portal and
// registration with ThaiID.
import { createHmac, randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { oidcAdapterFactory } from '../../lib/sso/oidc-adapter.ts';
import { signInEvents, ssoLogoutOutbox } from '../../db/schema.ts';
import { deliverSsoLogouts } from '../../lib/sso/backchannel-logout.ts';
import { generateSigningKey } from '../../lib/sso/keys.ts';
import { launchBrowser } from '../../scripts/support/browser.ts';
import { startDemoInfoSystem, type DemoInfoSystem } from '../../scripts/support/demo-info-system.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const SECRET = 'sso-test-hr-secret';
let h: Harness;
let tree: Tree;
let browser: Browser;
let info: DemoInfoSystem;
let INFO: string;
let laoAdmin: TestAccount;
/** What must never reach the logs: citizen IDs, client secrets, codes and verification tokens. */
const secrets: string[] = [];

const today = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);

function signedFeed(body: unknown) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
  return { body: raw, headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` } };
}

async function staffWith(roles: string[], system = INFO) {
  const staff = await h.createAccount(tree.laoA);
  if (roles.length > 0) {
    const res = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: laoAdmin.token,
      json: roles.map((role) => ({ system, role, unitCode: tree.laoA })),
    });
    expect(res.status).toBe(200);
  }
  return staff;
}

async function signInWithPassword(page: Page, who: TestAccount) {
  await page.fill('#username', who.username);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
}

async function signInWithThaiIdStandin(page: Page, citizenId: string) {
  secrets.push(citizenId);
  await page.click('a.thaiid');
  await page.waitForURL(/\/thaid-standin\/interaction\//);
  expect(await page.textContent('main')).toContain('STAND-IN');
  await page.fill('#pid', citizenId);
  await page.click('button[type=submit]');
}

async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Two signing keys, as after a rotation: the first signs, both are published.
let keys: { kid: string }[];

beforeAll(async () => {
  keys = [await generateSigningKey(), await generateSigningKey()] as { kid: string }[];
  h = await startHarness({ HR_FEED_SECRET: SECRET, SSO_SIGNING_KEYS: JSON.stringify({ keys }) }, { reachable: true });
  tree = await h.seedTree();
  laoAdmin = await h.createAccount(tree.laoA);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  INFO = uniqueName('INFO').toUpperCase();
  info = await startDemoInfoSystem(h.baseUrl);
  const registered = await h.request('PUT', `/api/v1/systems/${INFO}`, {
    token: h.central.token,
    json: {
      nameTh: 'ระบบสารสนเทศ',
      nameEn: 'INFO',
      url: info.url,
      roles: ['viewer', 'editor'],
      oidc: { redirectUris: [info.callbackUrl, `${info.url}/hold`], backchannelLogoutUri: info.backchannelLogoutUrl },
    },
  });
  expect(registered.status).toBe(200);
  expect(registered.body.clientId).toBe(INFO);
  expect(registered.body.clientSecret).toMatch(/^[\w-]{40,}$/);
  await info.configure(registered.body.clientId, registered.body.clientSecret);
  secrets.push(registered.body.clientSecret);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await info?.close();
  await h?.stop();
});

async function freshBrowser(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

/** A new browser signed in to the demo INFO system with a password. */
async function signedInToInfo(who: TestAccount): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page } = await freshBrowser();
  await page.goto(info.url);
  await page.click('#sign-in');
  await signInWithPassword(page, who);
  await page.waitForURL(`${info.url}/`);
  return { context, page };
}

describe('single sign-on into a connected system', () => {
  it('signs in with a password: the system sees the person and only their roles there', async () => {
    const staff = await staffWith(['viewer', 'editor']);
    await h.request('PUT', '/api/v1/systems/OTHER-SYS', { token: h.central.token, json: { nameTh: 'อื่น', url: 'https://other.example', roles: ['boss'] } });
    await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: laoAdmin.token,
      json: [
        { system: INFO, role: 'viewer', unitCode: tree.laoA },
        { system: INFO, role: 'editor', unitCode: tree.laoA },
        { system: 'OTHER-SYS', role: 'boss', unitCode: tree.laoA },
      ],
    });
    const { context, page } = await freshBrowser();
    await page.goto(info.url);
    await page.click('#sign-in');
    await page.waitForURL(/\/interaction\//);
    expect(await page.textContent('main')).toContain('INFO');
    await signInWithPassword(page, staff);
    await page.waitForURL(`${info.url}/`);
    expect(await page.textContent('#user')).toBe(staff.username);
    expect(await page.textContent('#roles')).toBe('editor,viewer');
    const session = [...info.sessions.values()].find((s) => s.sub === staff.id)!;
    expect(session.claims.roles).toEqual(['editor', 'viewer']);
    expect(session.claims.iss).toBe(h.baseUrl);
    // Signed with the first configured key; the JWKS publishes the older one too (rotation).
    expect(decodeProtectedHeader(session.idToken!).kid).toBe(keys[0]!.kid);
    const jwks = (await (await fetch(`${h.baseUrl}/oidc/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    // The access token carries the same roles (introspection by the system itself), and the
    // refresh token works while the person keeps the right.
    const refreshed = await oidc.refreshTokenGrant(info.config(), session.refreshToken!);
    const introspected = await oidc.tokenIntrospection(info.config(), refreshed.access_token);
    expect(introspected.active).toBe(true);
    expect(introspected.roles).toEqual(['editor', 'viewer']);
    await context.close();
  });

  it('opens the system without a second sign-in when the browser is signed in to the portal', async () => {
    const staff = await staffWith(['viewer']);
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/`);
    await page.waitForURL(/\/login/);
    await signInWithPassword(page, staff);
    await page.waitForURL(`${h.baseUrl}/`);
    const signedInAt = Math.floor(Date.now() / 1000);
    await new Promise((r) => setTimeout(r, 2100));
    const link = page.locator(`a[data-system="${INFO}"]`);
    expect(await link.getAttribute('href')).toBe(info.url);
    expect(await page.textContent('main')).toContain('viewer');
    await link.click();
    await page.click('#sign-in');
    await page.waitForURL(`${info.url}/`);
    expect(await page.textContent('#user')).toBe(staff.username);
    // auth_time tells when the person signed in (at the portal), not when the system asked.
    const session = [...info.sessions.values()].find((s) => s.sub === staff.id)!;
    expect(session.claims.auth_time).toBeLessThanOrEqual(signedInAt);
    await context.close();
  });

  it('asks for the password again when the system requires a fresh sign-in (prompt=login)', async () => {
    const staff = await staffWith(['viewer']);
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login`);
    await signInWithPassword(page, staff);
    await page.waitForURL(`${h.baseUrl}/`);
    const params = new URLSearchParams({
      client_id: INFO,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: info.callbackUrl,
      state: 'fresh',
      prompt: 'login',
    });
    await page.goto(`${h.baseUrl}/oidc/auth?${params}`);
    await page.waitForURL(/\/interaction\//);
    expect(await page.locator('#password').count()).toBe(1);
    await context.close();
  });

  it('refuses a person without an active right to the system, at its sign-in', async () => {
    const outsider = await staffWith([]);
    const { context, page } = await freshBrowser();
    await page.goto(info.url);
    await page.click('#sign-in');
    await signInWithPassword(page, outsider);
    await page.waitForURL(/\/callback\?/);
    expect(await page.textContent('#error')).toBe('access_denied');
    expect([...info.sessions.values()].some((s) => s.sub === outsider.id)).toBe(false);
    await context.close();
  });

  it('signs in through the ThaiID stand-in, then logs the person out of the system the moment HR reports their retirement', async () => {
    const citizenId = randomCitizenId();
    const staff = await h.createAccount(tree.laoA, { citizenId });
    await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: laoAdmin.token,
      json: [{ system: INFO, role: 'viewer', unitCode: tree.laoA }],
    });
    const { context, page } = await freshBrowser();
    await page.goto(info.url);
    await page.click('#sign-in');
    await signInWithThaiIdStandin(page, citizenId);
    await page.waitForURL(`${info.url}/`);
    expect(await page.textContent('#user')).toBe(staff.username);
    // Recorded for the admin console: a ThaiID sign-in, into INFO.
    const recorded = await h.resources.database.db.select().from(signInEvents).where(eq(signInEvents.accountId, staff.id));
    expect(recorded).toContainEqual(expect.objectContaining({ method: 'thaiid', clientId: INFO }));
    const session = [...info.sessions.values()].find((s) => s.sub === staff.id)!;
    expect(session.sid).toBeTruthy();

    // The portal, on the same browser, shows what the person may open.
    await page.goto(`${h.baseUrl}/`);
    expect(await page.locator(`a[data-system="${INFO}"]`).count()).toBe(1);

    const eventId = uniqueName('retire');
    const posted = await h.request(
      'POST',
      '/api/v1/personnel-events',
      signedFeed({ events: [{ eventId, type: 'retirement', citizenId, effectiveDate: today() }] }),
    );
    expect(posted.status).toBe(202);
    const logout = await until(
      () => info.logouts.find((l) => l.sub === staff.id),
      (l) => l !== undefined,
    );
    expect(logout).toMatchObject({ verified: true, sid: session.sid, kid: keys[0]!.kid });
    await page.goto(info.url);
    expect(await page.textContent('#status')).toBe('signed out');
    // Its refresh token is dead too, and the next sign-in is refused.
    await expect(oidc.refreshTokenGrant(info.config(), session.refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await page.click('#sign-in');
    await page.waitForURL(/\/interaction\//);
    await signInWithThaiIdStandin(page, citizenId);
    await page.waitForLoadState();
    expect(await page.textContent('main')).toMatch(/suspended/);
    await page.goto(`${h.baseUrl}/`);
    await page.waitForURL(/\/login/);
    await context.close();
  });

  it('logs the person out of the system when their admin takes the right away', async () => {
    const staff = await staffWith(['viewer']);
    const { context, page } = await signedInToInfo(staff);
    const taken = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, { token: laoAdmin.token, json: [] });
    expect(taken.status).toBe(200);
    // Delivered before the admin's call returned.
    expect(info.logouts.find((l) => l.sub === staff.id)).toMatchObject({ verified: true });
    await page.goto(info.url);
    expect(await page.textContent('#status')).toBe('signed out');
    await page.click('#sign-in');
    await page.waitForURL(/\/interaction\//);
    await signInWithPassword(page, staff);
    await page.waitForURL(/\/callback\?/);
    expect(await page.textContent('#error')).toBe('access_denied');
    await context.close();
  });
});

describe('the satisfaction survey page', () => {
  it("takes one answer per round from the signed-in person, and counts it in the admins' results", async () => {
    const staff = await staffWith([]);
    const before = (await h.request('GET', `/api/v1/survey-results?under=${tree.laoA}`, { token: laoAdmin.token })).body.responses;
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/survey`);
    await page.waitForURL(/\/login\?return=%2Fsurvey/);
    await signInWithPassword(page, staff);
    await page.waitForURL(`${h.baseUrl}/survey`);
    const questions = await page.locator('fieldset').count();
    expect(questions).toBe(5);
    for (let i = 0; i < questions; i++) await page.locator('fieldset').nth(i).locator('input[value="4"]').check();
    await page.fill('#comment', 'ใช้งานง่าย');
    await page.click('button[type=submit]');
    expect(await page.textContent('main')).toContain('Thank you');
    const after = (await h.request('GET', `/api/v1/survey-results?under=${tree.laoA}`, { token: laoAdmin.token })).body;
    expect(after.responses).toBe(before + 1);
    expect(after.comments).toContain('ใช้งานง่าย');

    await page.goto(`${h.baseUrl}/survey`);
    for (let i = 0; i < questions; i++) await page.locator('fieldset').nth(i).locator('input[value="2"]').check();
    await page.click('button[type=submit]');
    expect(await page.textContent('main')).toMatch(/answered round .* already/);
    expect((await h.request('GET', `/api/v1/survey-results?under=${tree.laoA}`, { token: laoAdmin.token })).body.responses).toBe(before + 1);
    await context.close();
  });
});

describe('signing out', () => {
  it('from a system (RP-initiated logout): every system hears of it and the portal is signed out too', async () => {
    const staff = await staffWith(['viewer']);
    const { context, page } = await signedInToInfo(staff);
    await page.goto(`${h.baseUrl}/oidc/session/end?client_id=${INFO}`);
    await page.click('button[name=logout][value=yes]');
    await page.waitForLoadState();
    expect(await page.textContent('main')).toContain('Signed out');
    // Sent by the provider itself, to a system on a private address (registered, so allowed).
    expect(
      await until(
        () => info.logouts.find((l) => l.sub === staff.id),
        (l) => l !== undefined,
      ),
    ).toMatchObject({ verified: true });
    await page.goto(`${h.baseUrl}/`);
    await page.waitForURL(/\/login/);
    await context.close();
  });

  it('from the portal: every system hears of it', async () => {
    const staff = await staffWith(['viewer']);
    const { context, page } = await signedInToInfo(staff);
    await page.goto(`${h.baseUrl}/`);
    await page.click('form[action="/logout"] button');
    expect(await page.textContent('main')).toContain('signed out of every system');
    expect(info.logouts.find((l) => l.sub === staff.id)).toMatchObject({ verified: true });
    await page.goto(info.url);
    expect(await page.textContent('#status')).toBe('signed out');
    await context.close();
  });
});

describe('back-channel logout that cannot be delivered at once', () => {
  it('is tried again later and later, and given up after two days', async () => {
    const { db } = h.resources.database;
    const signer = { issuer: h.config.publicUrl, keys: JSON.parse(h.config.sso.signingKeys!) };
    const [waiting, stale] = [randomUUID(), randomUUID()];
    const [row] = await db
      .insert(ssoLogoutOutbox)
      .values([
        { clientId: INFO, accountId: waiting, sid: null, reason: 'test', attempts: 5 }, // next try 31 s after it was queued
        { clientId: INFO, accountId: stale, sid: null, reason: 'test', attempts: 1, createdAt: new Date(Date.now() - 3 * 86_400_000) },
      ])
      .returning({ id: ssoLogoutOutbox.id });
    expect(await deliverSsoLogouts(db, signer, { accountId: waiting })).toBe(0);
    await db
      .update(ssoLogoutOutbox)
      .set({ createdAt: new Date(Date.now() - 40_000) })
      .where(eq(ssoLogoutOutbox.id, row!.id));
    expect(await deliverSsoLogouts(db, signer, { accountId: waiting })).toBe(1);
    expect(info.logouts.find((l) => l.sub === waiting)).toMatchObject({ verified: true });
    expect(await deliverSsoLogouts(db, signer, { accountId: stale })).toBe(0);
    expect(info.logouts.find((l) => l.sub === stale)).toBeUndefined();
  });

  it('is sent once although several processes sweep at the same time', async () => {
    const { db } = h.resources.database;
    const signer = { issuer: h.config.publicUrl, keys: JSON.parse(h.config.sso.signingKeys!) };
    const account = randomUUID();
    const sids = Array.from({ length: 12 }, () => randomUUID());
    await db.insert(ssoLogoutOutbox).values(sids.map((sid) => ({ clientId: INFO, accountId: account, sid, reason: 'test' })));
    // Three sweepers (as three API or worker processes would) over the same notices at once.
    const delivered = await Promise.all([1, 2, 3].map(() => deliverSsoLogouts(db, signer, { accountId: account })));
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(sids.length);
    const received = info.logouts.filter((l) => l.sub === account).map((l) => l.sid);
    expect(received.sort()).toEqual([...sids].sort());
    expect(await deliverSsoLogouts(db, signer, { accountId: account })).toBe(0);
  });
});

describe('the protocol refuses what it must', () => {
  it('requires PKCE of a public client', async () => {
    const code = uniqueName('PUB').toUpperCase();
    const res = await h.request('PUT', `/api/v1/systems/${code}`, {
      token: h.central.token,
      json: {
        nameTh: 'แอป',
        url: 'https://app.example',
        roles: ['user'],
        oidc: { redirectUris: ['https://app.example/cb'], public: true },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.clientSecret).toBeUndefined();
    const params = new URLSearchParams({ client_id: code, response_type: 'code', scope: 'openid', redirect_uri: 'https://app.example/cb', state: 'xyz' });
    const withoutPkce = await fetch(`${h.baseUrl}/oidc/auth?${params}`, { redirect: 'manual' });
    const location = new URL(withoutPkce.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://app.example/cb');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/i);
    params.set('code_challenge', await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()));
    params.set('code_challenge_method', 'S256');
    const withPkce = await fetch(`${h.baseUrl}/oidc/auth?${params}`, { redirect: 'manual' });
    expect(withPkce.headers.get('location')).toMatch(/^\/interaction\//);
  });

  it("takes a system's change at once: a redirect URI it no longer has and its old secret are refused", async () => {
    const code = uniqueName('CHG').toUpperCase();
    const put = (redirectUri: string, rotateSecret = false) =>
      h.request('PUT', `/api/v1/systems/${code}`, {
        token: h.central.token,
        json: { nameTh: 'แอป', url: 'https://app.example', roles: ['user'], oidc: { redirectUris: [redirectUri], rotateSecret } },
      });
    const authorize = (redirectUri: string) => {
      const params = new URLSearchParams({ client_id: code, response_type: 'code', scope: 'openid', redirect_uri: redirectUri, state: 'xyz' });
      return fetch(`${h.baseUrl}/oidc/auth?${params}`, { redirect: 'manual' });
    };
    const basic = (secret: string) => `Basic ${Buffer.from(`${code}:${secret}`).toString('base64')}`;
    const tokenWith = (secret: string) =>
      fetch(`${h.baseUrl}/oidc/token`, {
        method: 'POST',
        headers: { authorization: basic(secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'no-such-token' }),
      });
    const first = await put('https://app.example/old');
    // The provider has read the client (and may keep it a few seconds) before the change.
    expect((await authorize('https://app.example/old')).headers.get('location')).toMatch(/^\/interaction\//);
    expect(((await (await tokenWith(first.body.clientSecret)).json()) as { error: string }).error).toBe('invalid_grant');
    const changed = await put('https://app.example/new', true);
    expect(changed.body.clientSecret).not.toBe(first.body.clientSecret);
    expect((await authorize('https://app.example/old')).status).toBe(400);
    expect((await authorize('https://app.example/new')).headers.get('location')).toMatch(/^\/interaction\//);
    expect(((await (await tokenWith(first.body.clientSecret)).json()) as { error: string }).error).toBe('invalid_client');
    expect(((await (await tokenWith(changed.body.clientSecret)).json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses an unregistered redirect_uri without redirecting there', async () => {
    const params = new URLSearchParams({ client_id: INFO, response_type: 'code', scope: 'openid', redirect_uri: 'https://evil.example/cb', state: 'xyz' });
    const res = await fetch(`${h.baseUrl}/oidc/auth?${params}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toMatch(/redirect_uri/);
  });

  it('refuses a replayed authorization code, and revokes the tokens issued from it (RFC 6749 §4.1.2)', async () => {
    const staff = await staffWith(['viewer']);
    const { context } = await signedInToInfo(staff);
    const used = info.callbacks.at(-1)!;
    const code = new URL(used).searchParams.get('code')!;
    const verifier = info.verifiers.get(used)!;
    expect(verifier).toMatch(/^[\w-]{43,}$/);
    const authorization = await clientBasic();
    // The tokens the system got from that code work, right before the replay.
    const session = [...info.sessions.values()].find((s) => s.sub === staff.id)!;
    expect((await oidc.tokenIntrospection(info.config(), session.accessToken!)).active).toBe(true);
    const refreshed = await oidc.refreshTokenGrant(info.config(), session.refreshToken!);
    expect((await oidc.tokenIntrospection(info.config(), refreshed.access_token)).active).toBe(true);

    // The same request the system made, with its real PKCE verifier: only "already used" can refuse it.
    const replay = await fetch(`${h.baseUrl}/oidc/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: info.callbackUrl, code_verifier: verifier }),
      headers: { authorization },
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    // Every token issued from the code is revoked: access tokens and the refresh token.
    expect((await oidc.tokenIntrospection(info.config(), session.accessToken!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(info.config(), refreshed.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(info.config(), refreshed.refresh_token ?? session.refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await context.close();
  });

  it('lets a code or refresh token be consumed once, even by two requests at the same moment', async () => {
    // The provider checks `consumed` and then consumes: the storage must refuse the second.
    const Adapter = oidcAdapterFactory(h.resources.database.db, h.resources.cipher);
    const codes = new Adapter('AuthorizationCode');
    const id = randomUUID();
    await codes.upsert(id, { accountId: randomUUID(), grantId: randomUUID(), clientId: INFO } as never, 60);
    const outcomes = await Promise.allSettled([codes.consume(id), codes.consume(id), codes.consume(id)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.error)).toEqual(['invalid_grant', 'invalid_grant']);
    expect((await codes.find(id))?.consumed).toBeGreaterThan(0);
  });

  it('refuses a ThaiID callback whose state does not match, and one that never started here', async () => {
    const start = await fetch(`${h.baseUrl}/auth/thaiid`, { redirect: 'manual' });
    const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
    const bad = await fetch(`${h.baseUrl}/auth/thaiid/callback?code=abc&state=not-the-state`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/state/i);
    const unstarted = await fetch(`${h.baseUrl}/auth/thaiid/callback?code=abc&state=x`, { redirect: 'manual' });
    expect(unstarted.status).toBe(400);
  });

  it('refuses a sign-in form posted without its CSRF token, and never redirects off the site', async () => {
    const staff = await staffWith([]);
    const forged = await fetch(`${h.baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ username: staff.username, password: staff.password }),
    });
    expect(forged.status).toBe(403);
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login?return=${encodeURIComponent('https://evil.example/')}`);
    await signInWithPassword(page, staff);
    await page.waitForURL(`${h.baseUrl}/`);
    const cookies = await context.cookies(h.baseUrl);
    const session = cookies.find((c) => c.name === 'sso_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await context.close();
  });
});

describe('registration with ThaiID', () => {
  it('takes the citizen ID and names from ThaiID, locked, and shows the admin it was verified', async () => {
    const citizenId = randomCitizenId();
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login`);
    await signInWithThaiIdStandin(page, citizenId);
    await page.waitForURL(/\/register\?verification=/);
    await chooseUnit(page, tree.laoA);
    expect(await page.inputValue('#firstNameTh')).toBe('สมชาย');
    expect(await page.getAttribute('#lastNameTh', 'readonly')).not.toBeNull();
    expect(await page.locator('#citizenId').count()).toBe(0);
    const username = uniqueName('thaiid');
    await page.fill('#email', `${username}@lao.test`);
    await page.fill('#position', 'นักจัดการงานทั่วไป');
    await page.fill('#username', username);
    await page.fill('#password', 'thaiid-password-1');
    await page.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.click('button[type=submit]');
    await page.waitForSelector('#result.notice');
    const verification = new URL(page.url()).searchParams.get('verification')!;
    secrets.push(verification);

    const mine = await h.request('GET', `/api/v1/accounts?citizenId=${citizenId}`, { token: h.central.token });
    expect(mine.body.items).toEqual([]); // not an account yet: a request
    const list = await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&status=pending_approval`, { token: laoAdmin.token });
    const request = list.body.items.find((r: { username?: string }) => r.username === username);
    const seen = await h.request('GET', `/api/v1/registrations/${request.id}`, { token: laoAdmin.token });
    expect(seen.body.applicant.identityVerifiedBy).toBe('thaiid');
    expect(seen.body.applicant.firstNameTh).toBe('สมชาย');
    expect(seen.body.applicant.citizenId).toContain(citizenId.slice(-3));

    // The applicant follows it on the tracking page the mail links to, dates in the Buddhist Era.
    const trackingCode = /([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})/.exec((await page.textContent('#result'))!)![1]!;
    const mail = await h.mail.waitFor((m) => m.to === `${username}@lao.test`, 1, 10_000);
    expect(mail[0]!.text).toContain(`${h.baseUrl}/track/${request.id}`);
    await page.goto(`${h.baseUrl}/track/${request.id}`);
    await page.fill('#trackingCode', trackingCode);
    await page.click('button[type=submit]');
    await page.waitForSelector('#status');
    expect(await page.getAttribute('#status', 'data-status')).toBe('pending_approval');
    expect(await page.textContent('#result')).toContain(String(new Date().getUTCFullYear() + 543));

    // The verification is single-use, and its fields cannot be changed through the API.
    const again = await h.submitRegistration({
      identityVerification: verification,
      citizenId: undefined,
      firstNameTh: undefined,
      lastNameTh: undefined,
      unitCode: tree.laoA,
    });
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toMatch(/verification/);
    await context.close();
  });

  it('also works without ThaiID: the form takes the citizen ID and names, and the request is marked as a form', async () => {
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login`);
    await page.click('a[href="/register"]');
    await page.waitForURL(`${h.baseUrl}/register`);
    await chooseUnit(page, tree.laoA);
    const username = uniqueName('form');
    const citizenId = randomCitizenId();
    secrets.push(citizenId);
    await page.fill('#citizenId', citizenId);
    await page.fill('#firstNameTh', 'สมหญิง');
    await page.fill('#lastNameTh', 'ตั้งใจ');
    await page.fill('#email', `${username}@lao.test`);
    await page.fill('#position', 'นักวิชาการคอมพิวเตอร์');
    await page.fill('#username', username);
    await page.fill('#password', 'form-password-12');
    await page.check(`input[value="${INFO}:viewer"]`);
    await page.setInputFiles('#documents', { name: 'letter.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.click('button[type=submit]');
    await page.waitForSelector('#result.notice');
    const list = await h.request('GET', `/api/v1/registrations?unitCode=${tree.laoA}&status=pending_approval`, { token: laoAdmin.token });
    const request = list.body.items.find((r: { username?: string }) => r.username === username);
    const seen = await h.request('GET', `/api/v1/registrations/${request.id}`, { token: laoAdmin.token });
    expect(seen.body.applicant).toMatchObject({ identityVerifiedBy: 'form', firstNameTh: 'สมหญิง', requestedAccess: [{ system: INFO, role: 'viewer' }] });

    // A wrong password on the sign-in page says so, on the page.
    await page.goto(`${h.baseUrl}/login`);
    await page.fill('#username', username);
    await page.fill('#password', 'not-the-password');
    await page.click('button[type=submit]');
    expect(await page.textContent('.error')).toMatch(/username or password is wrong/);
    await context.close();
  });

  it('asks for the names ThaiD did not return, and accepts them', async () => {
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login`);
    await page.click('a.thaiid');
    await page.waitForURL(/\/thaid-standin\/interaction\//);
    const citizenId = randomCitizenId();
    secrets.push(citizenId);
    await page.fill('#pid', citizenId);
    await page.fill('#given_name', '');
    await page.fill('#family_name', '');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/register\?verification=/);
    await chooseUnit(page, tree.laoA);
    expect(await page.getAttribute('#firstNameTh', 'readonly')).toBeNull();
    const verification = new URL(page.url()).searchParams.get('verification')!;
    secrets.push(verification);
    const without = await h.submitRegistration({
      identityVerification: verification,
      citizenId: undefined,
      firstNameTh: undefined,
      lastNameTh: undefined,
      unitCode: tree.laoA,
    });
    expect(without.status).toBe(400);
    expect(JSON.stringify(without.body.errors)).toMatch(/firstNameTh/);
    const named = await h.submitRegistration({
      identityVerification: verification,
      citizenId: undefined,
      firstNameTh: 'สมศรี',
      lastNameTh: 'มีสุข',
      unitCode: tree.laoA,
    });
    expect(named.status).toBe(202);
    await context.close();
  });

  it('refuses an edited citizen ID next to a ThaiID verification', async () => {
    const { context, page } = await freshBrowser();
    await page.goto(`${h.baseUrl}/login`);
    await signInWithThaiIdStandin(page, randomCitizenId());
    await page.waitForURL(/\/register\?verification=/);
    const verification = new URL(page.url()).searchParams.get('verification')!;
    const edited = await h.submitRegistration({ identityVerification: verification, citizenId: randomCitizenId(), unitCode: tree.laoA });
    expect(edited.status).toBe(400);
    expect(edited.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'data.citizenId', message: expect.stringMatching(/ThaiID/) })]));
    await context.close();
  });
});

/** Step 1 of /register: the unit, searched by its code (one match) and chosen; the verification rides along. */
async function chooseUnit(page: Page, code: string) {
  await page.fill('#q', code);
  await Promise.all([page.waitForNavigation(), page.click('#unit-search button[type=submit]')]);
  await Promise.all([page.waitForNavigation(), page.click(`a[data-unit="${code}"]`)]);
}

async function clientBasic(): Promise<string> {
  // The demo's own credentials, from its registration (rotated into a fresh secret here).
  const res = await h.request('PUT', `/api/v1/systems/${INFO}`, {
    token: h.central.token,
    json: {
      nameTh: 'ระบบสารสนเทศ',
      nameEn: 'INFO',
      url: info.url,
      roles: ['viewer', 'editor'],
      oidc: { redirectUris: [info.callbackUrl, `${info.url}/hold`], backchannelLogoutUri: info.backchannelLogoutUrl, rotateSecret: true },
    },
  });
  await info.configure(INFO, res.body.clientSecret);
  return `Basic ${Buffer.from(`${INFO}:${res.body.clientSecret}`).toString('base64')}`;
}

describe('without a real ThaiD outside `npm start`', () => {
  it('switches ThaiID off instead of running the stand-in (which would let anyone sign in as anyone)', async () => {
    const production = await startHarness({ THAIID_STANDIN: 'false' }, { worker: false });
    try {
      const start = await production.request('GET', '/auth/thaiid', { headers: { accept: 'text/html' } });
      expect(start.status).toBe(503);
      expect(String(start.body)).toMatch(/not configured/);
      expect((await production.request('GET', '/thaid-standin/.well-known/openid-configuration')).status).toBe(404);
    } finally {
      await production.stop();
    }
  });
});

describe('the logs', () => {
  it('hold no citizen ID, client secret, authorization code or verification token', () => {
    const logs = h.logs.join('\n');
    expect(logs).toContain('/auth/thaiid/callback?code=_&state=_'); // requests are logged, values are not
    const codes = info.callbacks.map((c) => new URL(c).searchParams.get('code')).filter((c): c is string => !!c);
    expect(codes.length).toBeGreaterThan(0);
    for (const value of [...secrets, ...codes]) expect(logs).not.toContain(value);
  });
});
