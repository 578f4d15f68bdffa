// The real ThaiD path (THAIID_ISSUER set), against an OpenID provider that is not the project's own
// stand-in: oauth2-mock-server, which knows nothing of our quirks. By discovery and with explicit
// endpoints; client_secret_basic, the x-imauth-apikey header, PKCE and nonce reach it; `pid` finds
// the account. ThaiD unreachable or misconfigured shows a Thai "try again later" page with 503.
import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/net.ts';
import { randomCitizenId } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type Tree } from '../support/harness.ts';

// Letters and digits only: client_secret_basic form-encodes the id and secret (RFC 6749 §2.3.1), which the mock does not decode.
const CLIENT = { THAIID_CLIENT_ID: 'dlasso', THAIID_CLIENT_SECRET: 'thaidClientSecret1', THAIID_API_KEY: 'thaid-api-key' };
let thaid: OAuth2Server;
/** The identity the mock ThaiD vouches for next, and what its token endpoint was sent. */
let pid = '';
const tokenRequests: { authorization: string | undefined; apiKey: string | undefined; body: Record<string, unknown> }[] = [];
let discoveries = 0;

beforeAll(async () => {
  thaid = new OAuth2Server();
  await thaid.issuer.keys.generate('RS256');
  thaid.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: IncomingMessage & { body?: Record<string, unknown> }) => {
    Object.assign(token.payload, { pid, given_name: 'สมศรี', family_name: 'มีสุข', given_name_en: 'Somsri', family_name_en: 'Meesuk' });
    if (req.body?.grant_type === 'authorization_code' && !tokenRequests.some((r) => r.body === req.body)) {
      tokenRequests.push({ authorization: req.headers.authorization, apiKey: req.headers['x-imauth-apikey'] as string | undefined, body: req.body });
    }
  });
  thaid.service.on('beforeWellKnownOpenIdConfiguration', () => {
    discoveries++;
  });
  await thaid.start(0, '127.0.0.1');
}, 60_000);

afterAll(async () => {
  await thaid?.stop();
});

/** Follows /auth/thaiid → ThaiD's authorize → our callback, as a browser would, cookies kept. */
async function signInThroughThaid(h: Harness) {
  const start = await fetch(`${h.baseUrl}/auth/thaiid`, { redirect: 'manual' });
  expect(start.status).toBe(303);
  const authorize = new URL(start.headers.get('location')!);
  const flowCookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const atThaid = await fetch(authorize, { redirect: 'manual' });
  expect(atThaid.status).toBe(302);
  const callback = new URL(atThaid.headers.get('location')!);
  expect(callback.origin + callback.pathname).toBe(`${h.baseUrl}/auth/thaiid/callback`);
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: flowCookie, accept: 'text/html' } });
  return { authorize, done };
}

async function existingAccount(h: Harness, tree: Tree) {
  const citizenId = randomCitizenId();
  const staff = await h.createAccount(tree.laoA, { citizenId });
  return { ...staff, citizenId };
}

describe('ThaiD by discovery (THAIID_ISSUER only), with PKCE and nonce', () => {
  let h: Harness;
  let tree: Tree;
  beforeAll(async () => {
    h = await startHarness(
      { THAIID_ISSUER: thaid.issuer.url!, ...CLIENT, THAIID_USE_PKCE: 'true', THAIID_USE_NONCE: 'true', THAIID_STANDIN: 'false' },
      { worker: false, reachable: true },
    );
    tree = await h.seedTree();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('signs a person in by the pid ThaiD returns, authenticating as ThaiD asks', async () => {
    const staff = await existingAccount(h, tree);
    pid = staff.citizenId;
    const before = tokenRequests.length;
    const { authorize, done } = await signInThroughThaid(h);
    // The browser went to the configured ThaiD, not to a stand-in.
    expect(authorize.origin).toBe(new URL(thaid.issuer.url!).origin);
    expect(authorize.searchParams.get('client_id')).toBe(CLIENT.THAIID_CLIENT_ID);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/');
    const session = done.headers
      .getSetCookie()
      .find((c) => c.startsWith('sso_session='))!
      .split(';')[0]!;
    const portal = await fetch(`${h.baseUrl}/`, { headers: { cookie: session, accept: 'text/html' }, redirect: 'manual' });
    expect(portal.status).toBe(200);
    expect(await portal.text()).toContain(staff.username);

    expect(tokenRequests.length).toBe(before + 1);
    const sent = tokenRequests.at(-1)!;
    expect(sent.authorization).toBe(`Basic ${Buffer.from(`${CLIENT.THAIID_CLIENT_ID}:${CLIENT.THAIID_CLIENT_SECRET}`).toString('base64')}`);
    expect(sent.apiKey).toBe(CLIENT.THAIID_API_KEY);
    expect(sent.body.code_verifier).toEqual(expect.any(String)); // the mock checked it against the challenge
  });

  it('sends a person without an account to registration with the verified names', async () => {
    pid = randomCitizenId();
    const { done } = await signInThroughThaid(h);
    expect(done.status).toBe(303);
    const to = new URL(done.headers.get('location')!, h.baseUrl);
    expect(to.pathname).toBe('/register');
    // The first step asks for the unit; the form of the chosen unit carries the verified names.
    to.searchParams.set('unit', tree.laoA);
    const form = await fetch(to, { headers: { accept: 'text/html' } });
    const html = await form.text();
    expect(html).toContain('สมศรี');
    expect(html).toContain(`${pid}`.slice(-4));
  });

  it('refuses a ThaiD answer without a valid pid', async () => {
    pid = '1234567890123'.slice(0, 12) + '0';
    const { done } = await signInThroughThaid(h);
    expect(done.status).toBe(400);
    expect(await done.text()).toMatch(/pid/);
  });
});

describe('ThaiD with explicit endpoints (no discovery)', () => {
  let h: Harness;
  let tree: Tree;
  beforeAll(async () => {
    const base = thaid.issuer.url!;
    h = await startHarness(
      {
        THAIID_ISSUER: base,
        ...CLIENT,
        THAIID_STANDIN: 'false',
        THAIID_AUTHORIZATION_ENDPOINT: `${base}/authorize`,
        THAIID_TOKEN_ENDPOINT: `${base}/token`,
        THAIID_JWKS_URI: `${base}/jwks`,
      },
      { worker: false, reachable: true },
    );
    tree = await h.seedTree();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('signs in using the configured endpoints without reading a discovery document', async () => {
    const staff = await existingAccount(h, tree);
    pid = staff.citizenId;
    const discovered = discoveries;
    const { authorize, done } = await signInThroughThaid(h);
    expect(authorize.origin + authorize.pathname).toBe(`${thaid.issuer.url}/authorize`);
    expect(authorize.searchParams.has('code_challenge')).toBe(false); // PKCE and nonce off unless configured
    expect(authorize.searchParams.has('nonce')).toBe(false);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/');
    expect(discoveries).toBe(discovered);
  });
});

describe('ThaiD unreachable or misconfigured', () => {
  const expectTryAgainLater = async (res: Response) => {
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('กรุณาลองใหม่อีกครั้งภายหลัง');
    expect(html).toMatch(/try again later/i);
  };

  it('shows "try again later" (503) when ThaiD cannot be reached at all', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const h = await startHarness({ THAIID_ISSUER: closed, ...CLIENT, THAIID_STANDIN: 'false' }, { worker: false });
    try {
      await expectTryAgainLater(await fetch(`${h.baseUrl}/auth/thaiid`, { redirect: 'manual', headers: { accept: 'text/html' } }));
    } finally {
      await h.stop();
    }
  });

  it('shows "try again later" (503) when THAIID_ISSUER is no OpenID provider', async () => {
    // A web server that answers, but has no discovery document: a wrong THAIID_ISSUER.
    const h = await startHarness({ THAIID_ISSUER: `${thaid.issuer.url}/not-an-issuer`, ...CLIENT, THAIID_STANDIN: 'false' }, { worker: false });
    try {
      await expectTryAgainLater(await fetch(`${h.baseUrl}/auth/thaiid`, { redirect: 'manual', headers: { accept: 'text/html' } }));
    } finally {
      await h.stop();
    }
  });

  it('shows "try again later" (503) when ThaiD\'s token endpoint is down at the callback', async () => {
    const base = thaid.issuer.url!;
    const h = await startHarness(
      {
        THAIID_ISSUER: base,
        ...CLIENT,
        THAIID_STANDIN: 'false',
        THAIID_AUTHORIZATION_ENDPOINT: `${base}/authorize`,
        THAIID_TOKEN_ENDPOINT: `http://127.0.0.1:${await freePort()}/token`,
        THAIID_JWKS_URI: `${base}/jwks`,
      },
      { worker: false, reachable: true },
    );
    try {
      pid = randomCitizenId();
      const { done } = await signInThroughThaid(h);
      await expectTryAgainLater(done);
    } finally {
      await h.stop();
    }
  });
});
