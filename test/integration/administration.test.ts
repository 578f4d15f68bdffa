// Organisation units, connected systems, accounts, the API's own documents and health, sign-in
// throttling, and what never reaches the logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCitizenId, withWrongCheckDigit } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount, staff: TestAccount, siblingStaff: TestAccount;

beforeAll(async () => {
  h = await startHarness({ LOGIN_RATE_LIMIT_PER_USERNAME: '5', REGISTRATION_RATE_LIMIT_PER_ADDRESS: '1000' });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin, staff, siblingStaff] = await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.districtA),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoB),
  ]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
});

afterAll(async () => {
  await h?.stop();
});

describe('organisation units', () => {
  it('upserts idempotently and shows a unit with its admins', async () => {
    const again = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [{ code: tree.laoA, parentCode: tree.districtA, kind: 'sao', nameTh: 'อบต.หนองนาคำ', nameEn: 'Nong Na Kham SAO' }],
    });
    expect(again.body).toEqual({ upserted: 1 });
    const unit = await h.request('GET', `/api/v1/org-units/${tree.laoA}`, { token: h.central.token });
    expect(unit.body).toMatchObject({
      code: tree.laoA,
      parentCode: tree.districtA,
      kind: 'sao',
      nameEn: 'Nong Na Kham SAO',
      admins: [{ accountId: laoAdmin.id, username: laoAdmin.username, since: expect.any(String) }],
    });
    expect((await h.request('GET', '/api/v1/org-units/NOPE')).status).toBe(404);
  });

  it('refuses a unit whose parent does not exist, an unknown kind, and non-central callers', async () => {
    const orphan = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [{ code: 'ORPHAN1', parentCode: 'NOWHERE', kind: 'sao', nameTh: 'x' }],
    });
    expect(orphan.status).toBe(400);
    expect(orphan.body.errors[0]).toMatchObject({ path: '0.parentCode' });
    const kind = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [{ code: 'K1', parentCode: tree.root, kind: 'village', nameTh: 'x' }],
    });
    expect(kind.status).toBe(400);
    expect(
      (await h.request('PUT', '/api/v1/org-units', { token: laoAdmin.token, json: [{ code: 'K2', parentCode: tree.root, kind: 'sao', nameTh: 'x' }] })).status,
    ).toBe(403);
    expect((await h.request('PUT', '/api/v1/org-units', { json: [] })).status).toBe(401);
    expect((await h.request('GET', '/api/v1/org-units/ORPHAN1')).status).toBe(404);
  });

  it('designates admins only from existing active accounts', async () => {
    const res = await h.request('PUT', `/api/v1/org-units/${tree.laoB}/admins`, {
      token: h.central.token,
      json: [{ accountId: '00000000-0000-4000-8000-000000000000' }],
    });
    expect(res.status).toBe(400);
    expect((await h.request('GET', `/api/v1/org-units/${tree.laoB}`, { token: h.central.token })).body.admins).toEqual([]);
  });
});

describe('connected systems', () => {
  it('creates, updates and lists', async () => {
    const put = await h.request('PUT', '/api/v1/systems/EPLAN', {
      token: h.central.token,
      json: { nameTh: 'ระบบแผน', nameEn: 'e-Plan', url: 'https://eplan.example', roles: ['viewer'] },
    });
    expect(put.status).toBe(200);
    await h.request('PUT', '/api/v1/systems/EPLAN', {
      token: h.central.token,
      json: { nameTh: 'ระบบแผน', url: 'https://eplan.example', roles: ['viewer', 'planner'] },
    });
    const list = await h.request('GET', '/api/v1/systems', { token: h.central.token });
    expect(list.body.items).toContainEqual({ code: 'EPLAN', nameTh: 'ระบบแผน', nameEn: null, url: 'https://eplan.example', roles: ['viewer', 'planner'] });
    expect(
      (await h.request('PUT', '/api/v1/systems/BAD', { token: h.central.token, json: { nameTh: 'x', url: 'javascript:alert(1)', roles: ['a'] } })).status,
    ).toBe(400);
    expect((await h.request('PUT', '/api/v1/systems/BAD', { token: h.central.token, json: { nameTh: 'x', url: 'https://x.example', roles: [] } })).status).toBe(
      400,
    );
    expect(
      (await h.request('PUT', '/api/v1/systems/BAD', { token: districtAdmin.token, json: { nameTh: 'x', url: 'https://x.example', roles: ['a'] } })).status,
    ).toBe(403);
  });
});

describe('accounts', () => {
  it('creates accounts directly, refusing duplicates and bad citizen IDs', async () => {
    const body = {
      username: 'migrated-user-1',
      password: 'migrated-password',
      citizenId: randomCitizenId(),
      firstNameTh: 'ก',
      lastNameTh: 'ข',
      email: 'm1@lao.test',
      unitCode: tree.laoA,
    };
    const created = await h.request('POST', '/api/v1/accounts', { token: h.central.token, json: body });
    expect(created.status).toBe(201);
    expect((await h.request('POST', '/api/v1/accounts', { token: h.central.token, json: { ...body, username: 'migrated-user-2' } })).status).toBe(409);
    expect((await h.request('POST', '/api/v1/accounts', { token: h.central.token, json: { ...body, citizenId: randomCitizenId() } })).status).toBe(409);
    const bad = await h.request('POST', '/api/v1/accounts', {
      token: h.central.token,
      json: { ...body, username: 'migrated-user-3', citizenId: withWrongCheckDigit(randomCitizenId()) },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('citizenId');
    expect(
      (
        await h.request('POST', '/api/v1/accounts', {
          token: h.central.token,
          json: { ...body, username: 'migrated-user-4', citizenId: randomCitizenId(), unitCode: 'NOPE' },
        })
      ).status,
    ).toBe(400);
    expect(
      (await h.request('POST', '/api/v1/accounts', { token: laoAdmin.token, json: { ...body, username: 'migrated-user-5', citizenId: randomCitizenId() } }))
        .status,
    ).toBe(403);
  });

  it('shows an account to itself and to the admins over its unit only, with the citizen ID masked', async () => {
    const path = `/api/v1/accounts/${staff.id}`;
    const own = await h.request('GET', path, { token: staff.token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: staff.id, username: staff.username, status: 'active', unitCode: tree.laoA, entitlements: [] });
    expect(own.body.citizenId).toBe(`*********${staff.citizenId.slice(-4)}`);
    expect((await h.request('GET', path, { token: laoAdmin.token })).status).toBe(200); // own unit
    expect((await h.request('GET', path, { token: districtAdmin.token })).status).toBe(200); // parent
    expect((await h.request('GET', path, { token: siblingStaff.token })).status).toBe(403); // another person
    expect((await h.request('GET', `/api/v1/accounts/${districtAdmin.id}`, { token: laoAdmin.token })).status).toBe(403); // a unit above
    expect((await h.request('GET', path)).status).toBe(401);
  });
});

describe('listing accounts', () => {
  it("lists the accounts of an admin's units, filters, pages, and finds a person by citizen ID", async () => {
    // One item a page, to the end: every account once, none twice, none left out.
    const all = await h.request('GET', `/api/v1/accounts?unitCode=${tree.laoA}&limit=200`, { token: districtAdmin.token });
    expect(all.status).toBe(200);
    expect(all.body.nextCursor ?? null).toBeNull();
    expect(all.body.items.length).toBeGreaterThanOrEqual(2);
    const usernames: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await h.request('GET', `/api/v1/accounts?unitCode=${tree.laoA}&limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: districtAdmin.token });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      usernames.push(...page.body.items.map((a: { username: string }) => a.username));
      cursor = page.body.nextCursor;
      expect(usernames.length).toBeLessThanOrEqual(all.body.items.length + 1);
    } while (cursor);
    expect(new Set(usernames).size).toBe(usernames.length);
    expect(usernames.sort()).toEqual(all.body.items.map((a: { username: string }) => a.username).sort());
    expect(usernames).toEqual(expect.arrayContaining([laoAdmin.username, staff.username]));
    expect(usernames).not.toContain(siblingStaff.username);
    const found = await h.request('GET', `/api/v1/accounts?citizenId=${staff.citizenId}`, { token: laoAdmin.token });
    expect(found.body.items).toEqual([expect.objectContaining({ id: staff.id, citizenId: `*********${staff.citizenId.slice(-4)}` })]);
    expect((await h.request('GET', `/api/v1/accounts?citizenId=${siblingStaff.citizenId}`, { token: laoAdmin.token })).body.items).toEqual([]);
    expect((await h.request('GET', `/api/v1/accounts?unitCode=${tree.laoB}`, { token: laoAdmin.token })).status).toBe(403);
    expect((await h.request('GET', '/api/v1/accounts?status=frozen', { token: laoAdmin.token })).status).toBe(400);
    const badCursor = await h.request('GET', '/api/v1/accounts?cursor=not-a-cursor', { token: laoAdmin.token });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.errors[0].path).toBe('cursor');
    expect((await h.request('GET', '/api/v1/accounts', { token: staff.token })).status).toBe(403);
  });
});

describe('sign-in', () => {
  it('throttles attempts per username with 429', async () => {
    const target = await h.createAccount(tree.laoA); // its login used one attempt
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await h.request('POST', '/api/v1/auth/login', { json: { username: target.username, password: 'wrong-password' } })).status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const right = await h.request('POST', '/api/v1/auth/login', { json: { username: target.username, password: target.password } });
    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({ status: 429, title: 'Too Many Requests' });
  });
});

describe('the API itself', () => {
  it('publishes OpenAPI 3.1 and browsable docs', async () => {
    const doc = await h.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/registrations',
        '/api/v1/registrations/{id}',
        '/api/v1/registrations/{id}/decision',
        '/api/v1/auth/login',
        '/api/v1/org-units',
      ]),
    );
    const docs = await fetch(`${h.baseUrl}/docs`);
    expect(docs.status).toBe(200);
  });

  it('reports liveness and readiness', async () => {
    expect((await h.request('GET', '/health/live')).body).toEqual({ status: 'up' });
    expect((await h.request('GET', '/health/ready')).body).toEqual({ status: 'ready', database: 'up', temporal: 'up' });
  });

  it('answers unknown paths and malformed JSON with problem+json', async () => {
    const missing = await h.request('GET', '/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const malformed = await h.request('POST', '/api/v1/auth/login', { body: '{"username":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ status: 400, title: 'Bad Request' });
  });

  it('keeps citizen IDs, passwords, tokens and tracking codes out of the logs and of Temporal', async () => {
    const res = await h.submitRegistration({ unitCode: tree.laoA });
    expect(res.status).toBe(202);
    await h.request('GET', `/api/v1/registrations/${res.body.id}`, { headers: { 'x-tracking-code': res.body.trackingCode } });
    await h.request('POST', `/api/v1/registrations/${res.body.id}/decision`, {
      token: laoAdmin.token,
      json: { decision: 'reject', reason: 'เหตุผลส่วนตัวของผู้สมัคร' },
    });
    await h.mail.waitFor((m) => m.to === res.email && m.subject.includes('not approved'));
    const logs = h.logs.join('\n');
    expect(logs).toContain(res.body.id); // the logs are there, with request ids and urls
    expect(logs).toMatch(/"reqId":"[0-9a-f-]{36}"/);
    for (const secret of [res.citizenId, res.password, res.body.trackingCode, laoAdmin.token, res.email]) expect(logs).not.toContain(secret);

    const history = await h.client.workflow.getHandle(`registration-${res.body.id}`).fetchHistory();
    // Payloads are bytes (base64 in this form): read every one as text.
    const recorded = JSON.stringify(history, (key, value) => {
      if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
      if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
      return value;
    });
    expect(recorded).toContain(res.body.id); // the inputs are readable here: ids
    expect(recorded).toContain('remindAfterMs'); // proves the payloads were decoded
    for (const personal of [res.citizenId, res.email, res.username, 'สมหญิง', 'เหตุผลส่วนตัวของผู้สมัคร', res.body.trackingCode, res.password]) {
      expect(recorded).not.toContain(personal);
    }
  });
});
