// Issue 13 (security): each finding fixed here has its regression test, against the real services.
import { createHmac } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../db/schema.ts';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const SECRET = 'hr-feed-secret-for-security-tests';
let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: SECRET, PERSONNEL_IDLE_CLOSE_AFTER: '2s' });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.districtA)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.request('PUT', '/api/v1/systems/INFO', { token: h.central.token, json: { nameTh: 'INFO', url: 'https://info.example', roles: ['viewer', 'editor'] } });
});

afterAll(async () => { await h?.stop(); });

const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);

function signedPost(body: unknown) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
  return h.request('POST', '/api/v1/personnel-events', { body: raw, headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` } });
}

describe('1: audit keys come from the server only', () => {
  it('records every suspension of an admin who repeats one X-Request-Id, and never takes the client\'s id as the request id', async () => {
    const staff = await h.createAccount(tree.laoA);
    const headers = { 'x-request-id': 'same-id-every-time' };
    for (let i = 0; i < 2; i++) {
      const suspended = await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAdmin.token, json: { reason: `round ${i}` }, headers });
      expect(suspended.status).toBe(200);
      expect(suspended.headers.get('x-request-id')).not.toBe('same-id-every-time');
      expect((await h.request('POST', `/api/v1/accounts/${staff.id}/reactivate`, { token: laoAdmin.token, json: { reason: `back ${i}` }, headers })).status).toBe(200);
    }
    const events = await h.resources.database.db.select().from(auditEvents)
      .where(and(eq(auditEvents.subjectType, 'account'), eq(auditEvents.subjectId, staff.id), eq(auditEvents.action, 'account.suspended')));
    expect(events).toHaveLength(2);
    // The client's id is kept in the log, beside the server's.
    expect(h.logs.some((l) => l.includes('"clientRequestId":"same-id-every-time"'))).toBe(true);
  });
});

describe('23: dates in the Buddhist Era', () => {
  it('refuses a Buddhist-Era effective date in JSON and in CSV, naming the field and the likely Christian-Era date', async () => {
    const staff = await h.createAccount(tree.laoA);
    const json = await signedPost({ events: [{ eventId: uniqueName('be-'), type: 'retirement', citizenId: staff.citizenId, effectiveDate: '2569-10-01' }] });
    expect(json.status).toBe(202);
    expect(json.body.accepted).toBe(0);
    expect(json.body.rejected[0].errors).toEqual([{ path: 'events.0.effectiveDate', message: expect.stringContaining('2026-10-01') }]);
    const csv = await h.request('POST', '/api/v1/personnel-events/csv', { token: laoAdmin.token, headers: { 'content-type': 'text/csv' },
      body: `eventId,type,citizenId,effectiveDate\n${uniqueName('be-')},retirement,${staff.citizenId},2569-09-30\n` });
    expect(csv.status).toBe(202);
    expect(csv.body.rejected[0].errors).toEqual([{ path: 'events.0.effectiveDate', message: expect.stringContaining('2026-09-30') }]);
    const ok = await signedPost({ events: [{ eventId: uniqueName('ce-'), type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(30) }] });
    expect(ok.body.accepted).toBe(1);
  });

  it('refuses a Buddhist-Era due date of a campaign with a 400 naming the field', async () => {
    const res = await h.request('POST', '/api/v1/access-reviews', { token: h.central.token,
      json: { name: uniqueName('be-campaign'), scopeUnitCode: tree.laoA, onNoDecision: 'keep', dueAt: '2569-12-31T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'dueAt', message: expect.stringContaining('2026-12-31') }]);
  });
});

describe('20: list cursors', () => {
  it('answers 400, not 500, to a cursor this API never made', async () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [path, cursor] of [
      ['/api/v1/personnel-events', forged({ receivedAt: 'yesterday', eventId: 'x' })],
      ['/api/v1/personnel-events', forged(null)],
      ['/api/v1/audit', forged({ id: 'not a number' })],
      ['/api/v1/registrations', forged({ t: 'x', id: 'y' })],
      ['/api/v1/compliance/units-without-admin', forged(['x'])],
      ['/api/v1/accounts', forged({ username: 5 })],
    ] as const) {
      const res = await h.request('GET', `${path}?cursor=${cursor}`, { token: h.central.token });
      expect(res.status, path).toBe(400);
      expect(res.body.errors, path).toEqual([{ path: 'cursor', message: expect.any(String) }]);
    }
  });
});
