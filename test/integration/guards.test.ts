// The guards people rely on, each shown to refuse what it must: sign-in and registration limits per
// address and per username (and behind TRUST_PROXY), CSRF on every form of the pages, personal data
// unreadable in the database, and start-up refused with a wrong or missing ENCRYPTION_KEY.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { surveyResponses } from '../../db/schema.ts';
import { generateSigningKey } from '../../lib/sso/keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import type { FastifyInstance } from 'fastify';
import { closeResources, createApi, openResources, type Resources } from '../../bin/system.ts';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness, type Tree } from '../support/harness.ts';

/** A tiny browser: keeps cookies, reads a form's CSRF token. */
function cookieJar() {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    keep(res: Response) {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        const value = pair!.slice(i + 1);
        if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') cookies.delete(pair!.slice(0, i));
        else cookies.set(pair!.slice(0, i), value);
      }
      return res;
    },
    has: (name: string) => cookies.has(name),
  };
}
type Jar = ReturnType<typeof cookieJar>;
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

async function get(h: Harness, jar: Jar, path: string) {
  return jar.keep(await fetch(h.baseUrl + path, { headers: { cookie: jar.header(), accept: 'text/html' }, redirect: 'manual' }));
}
async function postForm(h: Harness, jar: Jar, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return jar.keep(
    await fetch(h.baseUrl + path, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams(form),
      headers: { cookie: jar.header(), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...headers },
    }),
  );
}
const apiLogin = (h: Harness, username: string, password: string, headers: Record<string, string> = {}) =>
  h.request('POST', '/api/v1/auth/login', { json: { username, password }, headers });

describe('sign-in and registration limits, without a proxy', () => {
  let h: Harness;
  let tree: Tree;
  beforeAll(async () => {
    h = await startHarness(
      { LOGIN_RATE_LIMIT_PER_ADDRESS: '5', LOGIN_RATE_LIMIT_PER_USERNAME: '3', REGISTRATION_RATE_LIMIT_PER_ADDRESS: '2' },
      { worker: false },
    );
    tree = await h.seedTree();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('throttles one username after its limit, the right password included, and one address after its own; X-Forwarded-For changes nothing', async () => {
    // Sign-ins from this address so far: the harness's central admin at start, and createAccount's
    // (which is also the username's first). The address allows 5 a minute, a username 3.
    const staff = await h.createAccount(tree.laoA);
    for (let i = 0; i < 2; i++) expect((await apiLogin(h, staff.username, 'wrong-password-1')).status).toBe(401); // address 3, 4; username 2, 3
    const throttled = await apiLogin(h, staff.username, staff.password); // address 5; the username's 4th
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.headers.get('content-type')).toContain('application/problem+json');
    // The address's 6th, another username, claiming another client address: the claim is not believed.
    const spoofed = await apiLogin(h, uniqueName('nobody'), 'x-password-1', { 'x-forwarded-for': '198.51.100.7' });
    expect(spoofed.status).toBe(429);
  });

  it('throttles public registrations per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.submitRegistration({ unitCode: tree.laoA, citizenId: randomCitizenId() }, [])).status);
    expect(statuses.slice(0, 2).every((s) => s !== 429)).toBe(true);
    expect(statuses[2]).toBe(429);
    expect((await h.submitRegistration({ unitCode: tree.laoA }, [])).status).toBe(429);
  });
});

describe('the same limits behind one reverse proxy (TRUST_PROXY=1)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(
      { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_PER_ADDRESS: '3', LOGIN_RATE_LIMIT_PER_USERNAME: '100', REGISTRATION_RATE_LIMIT_PER_ADDRESS: '1' },
      { worker: false },
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('believes only the address the proxy added: a client writing another one first gets no fresh allowance', async () => {
    // The proxy appends the address it saw to what the client sent; the client chooses the rest.
    const forged = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}, 203.0.113.30` });
    for (let i = 1; i <= 3; i++) expect((await apiLogin(h, uniqueName('x'), 'x-password-1', forged(i))).status).toBe(401);
    expect((await apiLogin(h, uniqueName('x'), 'x-password-1', forged(4))).status).toBe(429);
  });

  it('counts each client address the proxy reports, apart', async () => {
    const client = { 'x-forwarded-for': '203.0.113.10' };
    for (let i = 0; i < 3; i++) expect((await apiLogin(h, uniqueName('x'), 'x-password-1', client)).status).toBe(401);
    expect((await apiLogin(h, uniqueName('x'), 'x-password-1', client)).status).toBe(429);
    // Another person behind the same proxy is not throttled for them.
    expect((await apiLogin(h, uniqueName('x'), 'x-password-1', { 'x-forwarded-for': '203.0.113.11' })).status).toBe(401);

    const first = await h.submitRegistration({}, []); // no X-Forwarded-For: the proxy's own address
    expect(first.status).not.toBe(429);
    const form = () => {
      const f = new FormData();
      f.append('data', JSON.stringify({}));
      return f;
    };
    expect((await h.request('POST', '/api/v1/registrations', { body: form(), headers: { 'x-forwarded-for': '203.0.113.20' } })).status).not.toBe(429);
    expect((await h.request('POST', '/api/v1/registrations', { body: form(), headers: { 'x-forwarded-for': '203.0.113.20' } })).status).toBe(429);
    expect((await h.request('POST', '/api/v1/registrations', { body: form(), headers: { 'x-forwarded-for': '203.0.113.21' } })).status).not.toBe(429);
  });
});

describe('limits shared by every API replica on one database', () => {
  let h: Harness;
  let other: Resources;
  let replica: FastifyInstance;
  beforeAll(async () => {
    h = await startHarness(
      { LOGIN_RATE_LIMIT_PER_ADDRESS: '1000', LOGIN_RATE_LIMIT_PER_USERNAME: '3', REGISTRATION_RATE_LIMIT_PER_ADDRESS: '2' },
      { worker: false },
    );
    // A second API process of the same deployment: its own connections, its own Fastify.
    other = await openResources(h.config);
    replica = await createApi(other, h.config, h.client);
    await replica.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await replica?.close();
    if (other) await closeResources(other);
    await h?.stop();
  });

  const onReplica = async (path: string, body: object | FormData) => {
    const { port } = replica.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      ...(body instanceof FormData ? { body } : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { statusCode: res.status, headers: Object.fromEntries(res.headers) };
  };

  it("counts a username's attempts on either replica together", async () => {
    const username = uniqueName('shared');
    const attempt = { username, password: 'wrong-password-1' };
    expect((await apiLogin(h, username, attempt.password)).status).toBe(401);
    expect((await onReplica('/api/v1/auth/login', attempt)).statusCode).toBe(401);
    expect((await apiLogin(h, username, attempt.password)).status).toBe(401);
    const fourth = await onReplica('/api/v1/auth/login', attempt);
    expect(fourth.statusCode).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(0);
  });

  it("counts an address's registrations on either replica together", async () => {
    const empty = () => {
      const f = new FormData();
      f.append('data', JSON.stringify({}));
      return f;
    };
    expect((await h.request('POST', '/api/v1/registrations', { body: empty() })).status).not.toBe(429);
    expect((await onReplica('/api/v1/registrations', empty())).statusCode).not.toBe(429);
    expect((await h.request('POST', '/api/v1/registrations', { body: empty() })).status).toBe(429);
  });
});

describe('CSRF on every form of the pages', () => {
  let h: Harness;
  let tree: Tree;
  beforeAll(async () => {
    h = await startHarness({}, { worker: false, reachable: true });
    tree = await h.seedTree();
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function signedIn() {
    const staff = await h.createAccount(tree.laoA);
    const jar = cookieJar();
    const page = await get(h, jar, '/login');
    const res = await postForm(h, jar, '/login', { _csrf: csrfOf(await page.text())!, username: staff.username, password: staff.password });
    expect(res.status).toBe(303);
    expect(jar.has('sso_session')).toBe(true);
    return { staff, jar };
  }
  const stillSignedIn = async (jar: Jar) => (await get(h, jar, '/')).status === 200;

  it('/logout: refused without the token (the person stays signed in), done with it', async () => {
    const { jar } = await signedIn();
    const portal = await get(h, jar, '/');
    const token = csrfOf(await portal.text())!;
    expect(token).toBeTruthy();
    expect((await postForm(h, jar, '/logout', {})).status).toBe(403);
    expect((await postForm(h, jar, '/logout', { _csrf: 'forged-token' })).status).toBe(403);
    expect(await stillSignedIn(jar)).toBe(true);
    expect((await postForm(h, jar, '/logout', { _csrf: token })).status).toBe(200);
    expect(await stillSignedIn(jar)).toBe(false);
  });

  it('/survey: refused without the token (nothing stored), taken with it', async () => {
    const { staff, jar } = await signedIn();
    const page = await get(h, jar, '/survey');
    const html = await page.text();
    const token = csrfOf(html)!;
    const answers = Object.fromEntries([...html.matchAll(/name="([\w-]+)" value="5"/g)].map((m) => [m[1]!, '5']));
    expect(Object.keys(answers).length).toBeGreaterThan(0);
    const stored = async () => (await h.resources.database.db.select().from(surveyResponses).where(eq(surveyResponses.accountId, staff.id))).length;
    expect((await postForm(h, jar, '/survey', answers)).status).toBe(403);
    expect((await postForm(h, jar, '/survey', { ...answers, _csrf: 'forged-token' })).status).toBe(403);
    expect(await stored()).toBe(0);
    const accepted = await postForm(h, jar, '/survey', { ...answers, _csrf: token });
    expect(accepted.status).toBe(201);
    expect(await stored()).toBe(1);
  });

  it('the sign-in form of a connected system (the interaction): refused without the token', async () => {
    const system = uniqueName('CSRF').toUpperCase();
    const registered = await h.request('PUT', `/api/v1/systems/${system}`, {
      token: h.central.token,
      json: {
        nameTh: 'ระบบ',
        url: 'https://sys.example',
        roles: ['user'],
        oidc: { redirectUris: ['https://sys.example/cb'] },
      },
    });
    expect(registered.status).toBe(200);
    const staff = await h.createAccount(tree.laoA);
    await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, { token: h.central.token, json: [{ system, role: 'user', unitCode: tree.laoA }] });
    const jar = cookieJar();
    const params = new URLSearchParams({ client_id: system, response_type: 'code', scope: 'openid', redirect_uri: 'https://sys.example/cb', state: 's' });
    const auth = await get(h, jar, `/oidc/auth?${params}`);
    const interaction = auth.headers.get('location')!;
    expect(interaction).toMatch(/^\/interaction\//);
    const form = await get(h, jar, interaction);
    const token = csrfOf(await form.text())!;
    expect(token).toBeTruthy();
    const forged = await postForm(h, jar, `${interaction}/login`, { username: staff.username, password: staff.password });
    expect(forged.status).toBe(403);
    const real = await postForm(h, jar, `${interaction}/login`, { _csrf: token, username: staff.username, password: staff.password });
    expect(real.status).toBe(303);
  });
});

describe('personal data at rest', () => {
  let h: Harness;
  let tree: Tree;
  beforeAll(async () => {
    h = await startHarness();
    tree = await h.seedTree();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('cannot be read from the database: citizen IDs only encrypted and keyed-hashed', async () => {
    const staff = await h.createAccount(tree.laoA);
    const registration = await h.submitRegistration({ unitCode: tree.laoA });
    expect(registration.status).toBe(202);
    const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
    try {
      const forms = (id: string) => [id, Buffer.from(id).toString('base64'), Buffer.from(id).toString('hex'), createHash('sha256').update(id).digest('hex')];
      const [account] = await sql`select row_to_json(a)::text as row, citizen_id_enc from accounts a where id = ${staff.id}`;
      const [request] = await sql`select row_to_json(r)::text as row, citizen_id_enc from registrations r where id = ${registration.body.id}`;
      for (const [row, id] of [
        [account!.row, staff.citizenId],
        [request!.row, registration.citizenId],
      ] as [string, string][]) {
        for (const form of forms(id)) expect(row).not.toContain(form);
        expect(row).not.toContain(id.slice(-6)); // not even a part of it
      }
      expect(account!.citizen_id_enc).toMatch(/^v1\.[\w+/=]+\.[\w+/=]+\.[\w+/=]+$/);
      // The same citizen ID seals differently each time (random IV): no equality search on the ciphertext.
      expect(h.resources.cipher.encrypt(staff.citizenId)).not.toBe(account!.citizen_id_enc);
      expect(h.resources.cipher.decrypt(account!.citizen_id_enc)).toBe(staff.citizenId);
    } finally {
      await sql.end();
    }
  });
});

describe('start-up with the wrong key, or none', () => {
  let dataDir: string;
  let signingKeys: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sso-key-'));
    signingKeys = JSON.stringify({ keys: [await generateSigningKey()] });
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  /** Runs bin/api.ts against the run's database (which holds data sealed with the test key). */
  function startApi(env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'api.ts')], {
        env: {
          PATH: process.env.PATH,
          DATA_DIR: dataDir,
          PUBLIC_URL: 'http://sso.test',
          SSO_SIGNING_KEYS: signingKeys,
          DATABASE_URL: inject('databaseUrl'),
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          ...env,
        } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  it('refuses a key that does not decrypt the data already there, saying so', async () => {
    const { code, stderr } = await startApi({ ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull(); // it stopped by itself, it was not killed
    expect(stderr).toMatch(/ENCRYPTION_KEY does not decrypt the personal data already in this database/);
    expect(stderr).not.toContain(TEST_ENCRYPTION_KEY);
  });

  it('refuses to start against a shared database without a key, saying so', async () => {
    const { code, stderr } = await startApi({});
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/ENCRYPTION_KEY is not set/);
  });

  it('refuses a key of the wrong length, saying so', async () => {
    const { code, stderr } = await startApi({ ENCRYPTION_KEY: randomBytes(16).toString('base64') });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/ENCRYPTION_KEY:? must be 32 bytes/);
  });
});
