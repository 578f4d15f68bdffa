// The portal's list of systems a person may open, and the satisfaction survey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let laoAAdmin: TestAccount, staffA: TestAccount, staffB: TestAccount;

beforeAll(async () => {
  h = await startHarness();
  tree = await h.seedTree();
  for (const [code, roles] of [
    ['INFO', ['viewer', 'editor']],
    ['EPLAN', ['planner']],
    ['EMPTY', ['x']],
  ] as const) {
    await h.request('PUT', `/api/v1/systems/${code}`, { token: h.central.token, json: { nameTh: code, url: `https://${code.toLowerCase()}.example`, roles } });
  }
  [laoAAdmin, staffA, staffB] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA), h.createAccount(tree.laoB)]);
  await h.designateAdmins(tree.laoA, [laoAAdmin]);
});

afterAll(async () => {
  await h?.stop();
});

const allScores = (n: number) => ({ registration: n, approval: n, sign_in: n, systems: n, overall: n });

describe('my systems', () => {
  it('lists the systems with an active right, with the roles there, and nothing suspended', async () => {
    await h.request('PUT', `/api/v1/accounts/${staffA.id}/entitlements`, {
      token: laoAAdmin.token,
      json: [
        { system: 'INFO', role: 'viewer', unitCode: tree.laoA },
        { system: 'INFO', role: 'editor', unitCode: tree.laoA },
        { system: 'EPLAN', role: 'planner', unitCode: tree.laoA },
      ],
    });
    const mine = await h.request('GET', '/api/v1/me/systems', { token: staffA.token });
    expect(mine.body).toEqual({
      items: [
        { code: 'EPLAN', nameTh: 'EPLAN', nameEn: null, url: 'https://eplan.example', roles: ['planner'] },
        { code: 'INFO', nameTh: 'INFO', nameEn: null, url: 'https://info.example', roles: ['editor', 'viewer'] },
      ],
    });
    await h.request('PUT', `/api/v1/accounts/${staffA.id}/entitlements`, {
      token: laoAAdmin.token,
      json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
    });
    // Rights taken away end the person's sign-ins; signed in again, the list is shorter.
    expect((await h.request('GET', '/api/v1/me/systems', { token: staffA.token })).status).toBe(401);
    staffA.token = await h.login(staffA.username, staffA.password);
    expect((await h.request('GET', '/api/v1/me/systems', { token: staffA.token })).body.items.map((s: { code: string }) => s.code)).toEqual(['INFO']);
    expect((await h.request('GET', '/api/v1/me/systems', { token: staffB.token })).body).toEqual({ items: [] });
    expect((await h.request('GET', '/api/v1/me/systems')).status).toBe(401);
  });
});

describe('satisfaction survey', () => {
  it('asks the current round, takes one answer per person, and refuses bad answers', async () => {
    const survey = await h.request('GET', '/api/v1/survey');
    expect(survey.body.round).toMatch(/^25\d\d$/);
    expect(survey.body.questions.map((q: { id: string }) => q.id)).toEqual(['registration', 'approval', 'sign_in', 'systems', 'overall']);
    expect(survey.body.questions[0]).toMatchObject({ textTh: expect.any(String), textEn: expect.any(String) });

    expect((await h.request('POST', '/api/v1/survey-responses', { json: { scores: allScores(5) } })).status).toBe(401);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { scores: { ...allScores(5), overall: 6 } } })).status).toBe(400);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { scores: { registration: 5 } } })).status).toBe(400);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { scores: { ...allScores(5), mood: 3 } } })).status).toBe(400);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { round: '2500', scores: allScores(5) } })).status).toBe(400);
    const first = await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { scores: allScores(5), comment: 'ใช้งานง่าย' } });
    expect(first.status).toBe(201);
    expect(
      (await h.request('POST', '/api/v1/survey-responses', { token: staffA.token, json: { round: survey.body.round, scores: allScores(1) } })).status,
    ).toBe(409);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: staffB.token, json: { scores: { ...allScores(2), overall: 4 } } })).status).toBe(201);
    expect((await h.request('POST', '/api/v1/survey-responses', { token: laoAAdmin.token, json: { scores: allScores(3) } })).status).toBe(201);
  });

  it('gives admins averages and distributions for their subtree', async () => {
    const province = await h.request('GET', `/api/v1/survey-results?under=${tree.province}`, { token: h.central.token });
    expect(province.body.responses).toBe(3);
    const overall = province.body.questions.find((q: { id: string }) => q.id === 'overall');
    expect(overall).toMatchObject({ count: 3, average: 4, distribution: { 1: 0, 2: 0, 3: 1, 4: 1, 5: 1 } });
    const laoA = await h.request('GET', '/api/v1/survey-results', { token: laoAAdmin.token });
    expect(laoA.body.responses).toBe(2);
    expect(laoA.body.questions[0]).toMatchObject({ id: 'registration', count: 2, average: 4 });
    expect(laoA.body.comments).toEqual(['ใช้งานง่าย']);
    expect((await h.request('GET', `/api/v1/survey-results?under=${tree.laoB}`, { token: laoAAdmin.token })).status).toBe(403);
    expect((await h.request('GET', '/api/v1/survey-results', { token: staffA.token })).status).toBe(403);
  });
});
