// Issue 13 (security): each finding fixed here has its regression test, against the real services.
import { createHmac } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import Fastify from 'fastify';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import problemsPlugin from '../../api/plugins/problems.ts';
import { chainOf, writeAudit } from '../../db/audit.ts';
import { rowsOf } from '../../db/client.ts';
import { accessReviews, auditEvents } from '../../db/schema.ts';
import type { Client } from '@temporalio/client';
import { loadActor } from '../../services/actor.ts';
import { cancelCampaign, startCampaign } from '../../services/access-reviews.ts';
import { UPDATE_DEADLINE_MS } from '../../services/workflows.ts';
import { campaignWorkflowId } from '../../workflows/access-review-campaign.ts';
import { uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

const SECRET = 'hr-feed-secret-for-security-tests';
let h: Harness;
let tree: Tree;
let laoAdmin: TestAccount, districtAdmin: TestAccount, provinceAdmin: TestAccount;

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: SECRET, PERSONNEL_IDLE_CLOSE_AFTER: '2s' });
  tree = await h.seedTree();
  [laoAdmin, districtAdmin, provinceAdmin] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.districtA), h.createAccount(tree.province)]);
  await h.designateAdmins(tree.laoA, [laoAdmin]);
  await h.designateAdmins(tree.districtA, [districtAdmin]);
  await h.designateAdmins(tree.province, [provinceAdmin]);
  await h.putInfoSystem();
});

afterAll(async () => {
  await h?.stop();
});

const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);

function signedPost(body: unknown) {
  const raw = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
  return h.request('POST', '/api/v1/personnel-events', {
    body: raw,
    headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` },
  });
}

describe('1: audit keys come from the server only', () => {
  it("records every suspension of an admin who repeats one X-Request-Id, and never takes the client's id as the request id", async () => {
    const staff = await h.createAccount(tree.laoA);
    const headers = { 'x-request-id': 'same-id-every-time' };
    for (let i = 0; i < 2; i++) {
      const suspended = await h.request('POST', `/api/v1/accounts/${staff.id}/suspend`, { token: laoAdmin.token, json: { reason: `round ${i}` }, headers });
      expect(suspended.status).toBe(200);
      expect(suspended.headers.get('x-request-id')).not.toBe('same-id-every-time');
      expect(
        (await h.request('POST', `/api/v1/accounts/${staff.id}/reactivate`, { token: laoAdmin.token, json: { reason: `back ${i}` }, headers })).status,
      ).toBe(200);
    }
    const events = await h.resources.database.db
      .select()
      .from(auditEvents)
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
    const csv = await h.request('POST', '/api/v1/personnel-events/csv', {
      token: laoAdmin.token,
      headers: { 'content-type': 'text/csv' },
      body: `eventId,type,citizenId,effectiveDate\n${uniqueName('be-')},retirement,${staff.citizenId},2569-09-30\n`,
    });
    expect(csv.status).toBe(202);
    expect(csv.body.rejected[0].errors).toEqual([{ path: 'events.0.effectiveDate', message: expect.stringContaining('2026-09-30') }]);
    const ok = await signedPost({ events: [{ eventId: uniqueName('ce-'), type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(30) }] });
    expect(ok.body.accepted).toBe(1);
  });

  it('refuses a Buddhist-Era due date of a campaign with a 400 naming the field', async () => {
    const res = await h.request('POST', '/api/v1/access-reviews', {
      token: h.central.token,
      json: { name: uniqueName('be-campaign'), scopeUnitCode: tree.laoA, onNoDecision: 'keep', dueAt: '2569-12-31T00:00:00Z' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'dueAt', message: expect.stringContaining('2026-12-31') }]);
  });
});

describe('20: list cursors', () => {
  it("has the indexes the admins' lists and scope checks need", async () => {
    const names = rowsOf<{ name: string }>(
      await h.resources.database.db.execute(sql`select indexname as name from pg_indexes
      where indexname in ('accounts_central_admin_idx', 'personnel_events_status_idx', 'entitlements_unit_idx')`),
    )
      .map((r) => r.name)
      .sort();
    expect(names).toEqual(['accounts_central_admin_idx', 'entitlements_unit_idx', 'personnel_events_status_idx']);
  });

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

describe('11: audit chains', () => {
  it('never fork when events are written outside a transaction, all at once', async () => {
    const { db } = h.resources.database;
    const subjectId = uniqueName('fork-');
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        writeAudit(db, {
          key: `${subjectId}:${i}`,
          actor: 'system',
          action: 'test.parallel',
          subjectType: 'test',
          subjectId,
        }),
      ),
    );
    const forks = rowsOf<{ prev: string | null; n: number }>(
      await db.execute(sql`select prev_hash as prev, count(*)::int as n from audit_events
      where chain = ${chainOf('test', subjectId)} group by prev_hash having count(*) > 1`),
    );
    expect(forks).toEqual([]);
  });
});

describe('13: personal data in failed queries', () => {
  const personal = 'somchai.jaidee@lao.test';

  it('logs a failed query with its SQL and without the values it was given', async () => {
    const { db } = h.resources.database;
    const lines: string[] = [];
    const app = Fastify({
      logger: {
        stream: {
          write: (line: string) => {
            lines.push(line);
          },
        },
      },
    });
    await app.register(problemsPlugin);
    app.get('/fails', async () => db.execute(sql`select ${personal}::int as n`));
    const res = await app.inject({ method: 'GET', url: '/fails' });
    await app.close();
    expect(res.statusCode).toBe(500);
    const logged = lines.join('\n');
    expect(logged).toContain('select $1::int');
    expect(logged).not.toContain(personal);
    expect(res.body).not.toContain(personal);
  });

  it('fails an activity without the values of its query', async () => {
    const r = h.resources;
    const activities = createActivities({
      db: r.database.db,
      config: h.config,
      mail: r.mail,
      documentStore: r.documentStore,
      logoutSigner: r.sso.logoutSigner,
    });
    const failure = await activities.undecidedItems({ reviewId: personal }).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(`${failure!.message} ${JSON.stringify(failure)} ${String(failure!.stack)} ${String((failure as { cause?: unknown }).cause)}`).not.toContain(
      personal,
    );
    expect(failure!.message).toContain('access_review_items');
  });
});

describe('16: what is down answers 503 with Retry-After', () => {
  const centralActor = async () => (await loadActor(h.resources.database.db, h.central.id))!;
  const log = { error: () => {} };

  it('takes a campaign back whole when Temporal cannot start its workflow: 503, no row left running', async () => {
    const down = {
      ...h.app.deps,
      workflows: {
        config: h.config,
        client: {
          workflow: {
            start: async () => {
              throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
            },
          },
        } as unknown as Client,
      },
    };
    const name = uniqueName('temporal-down');
    await expect(
      startCampaign(down, await centralActor(), { name, scopeUnitCode: tree.laoA, durationDays: 7, onNoDecision: 'keep' }, log),
    ).rejects.toMatchObject({ status: 503 });
    expect(await h.resources.database.db.select().from(accessReviews).where(eq(accessReviews.name, name))).toEqual([]);
  });

  it(
    'gives an Update no worker takes a deadline: 503 instead of waiting without end',
    async () => {
      // The campaign's workflow waits on a task queue nobody polls.
      const idle = { ...h.app.deps, workflows: { client: h.client, config: { ...h.config, taskQueue: uniqueName('nobody-polls-') } } };
      const { id } = await startCampaign(
        idle,
        await centralActor(),
        { name: uniqueName('idle'), scopeUnitCode: tree.laoA, durationDays: 7, onNoDecision: 'keep' },
        log,
      );
      const started = Date.now();
      await expect(cancelCampaign(idle, await centralActor(), id, log)).rejects.toMatchObject({ status: 503 });
      expect(Date.now() - started).toBeLessThan(UPDATE_DEADLINE_MS + 5000);
      await h.client.workflow.getHandle(campaignWorkflowId(id)).terminate('test over');
    },
    UPDATE_DEADLINE_MS + 20_000,
  );

  it('answers 503 with Retry-After, not 500, when PostgreSQL cannot be reached', async () => {
    const client = postgres('postgres://postgres@127.0.0.1:1/none', { max: 1, connect_timeout: 2, onnotice: () => {} });
    const down = drizzle(client);
    const app = Fastify({ logger: false });
    await app.register(problemsPlugin);
    app.get('/down', async () => down.execute(sql`select 1`));
    const res = await app.inject({ method: 'GET', url: '/down' });
    await app.close();
    await client.end({ timeout: 1 });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
  });
});

describe("2: an admin's report against the signed feed", () => {
  it('refuses a report about oneself', async () => {
    const res = await h.request('POST', '/api/v1/personnel-events', {
      token: laoAdmin.token,
      json: { events: [{ eventId: uniqueName('self-'), type: 'retirement', citizenId: laoAdmin.citizenId, effectiveDate: inDays(400) }] },
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(0);
    expect(res.body.rejected[0].errors).toEqual([{ path: 'events.0.citizenId', message: expect.stringContaining('yourself') }]);
  });

  it('never replaces a waiting event of the HR feed', async () => {
    const staff = await h.createAccount(tree.laoA);
    const hrEvent = uniqueName('hr-');
    expect(
      (await signedPost({ events: [{ eventId: hrEvent, type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(30) }] })).body.accepted,
    ).toBe(1);
    const adminEvent = uniqueName('adm-');
    const report = await h.request('POST', '/api/v1/personnel-events', {
      token: districtAdmin.token,
      json: { events: [{ eventId: adminEvent, type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(3000) }] },
    });
    expect(report.body.accepted).toBe(1);
    // Another admin's report of the same type may replace the admin's own (a corrected date).
    const corrected = uniqueName('adm-');
    await h.request('POST', '/api/v1/personnel-events', {
      token: laoAdmin.token,
      json: { events: [{ eventId: corrected, type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(2000) }] },
    });
    await expect
      .poll(async () => (await h.request('GET', `/api/v1/personnel-events/${adminEvent}`, { token: h.central.token })).body.status, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('superseded');
    expect((await h.request('GET', `/api/v1/personnel-events/${hrEvent}`, { token: h.central.token })).body.status).toBe('scheduled');
  });
});

describe("3: event ids are the sender's", () => {
  it("lets HR use an id an admin used before: HR's event is not a duplicate", async () => {
    const [someone, leaver] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA)]);
    const eventId = uniqueName('shared-');
    const early = await h.request('POST', '/api/v1/personnel-events', {
      token: laoAdmin.token,
      json: { events: [{ eventId, type: 'role_change', citizenId: someone.citizenId, effectiveDate: inDays(3000) }] },
    });
    expect(early.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const hr = await signedPost({ events: [{ eventId, type: 'retirement', citizenId: leaver.citizenId, effectiveDate: inDays(1) }] });
    expect(hr.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body).toMatchObject({ eventId, type: 'retirement' });
    expect((await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: laoAdmin.token })).body).toMatchObject({ eventId, type: 'role_change' });
    // The admin's own repeat is still a duplicate.
    const again = await h.request('POST', '/api/v1/personnel-events', {
      token: laoAdmin.token,
      json: { events: [{ eventId, type: 'role_change', citizenId: someone.citizenId, effectiveDate: inDays(3000) }] },
    });
    expect(again.body).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
  });
});

describe('9: a review decision never undoes a later, stronger state', () => {
  it('keeps a right that HR suspended after the review began suspended', async () => {
    const staff = await h.createAccount(tree.laoA);
    await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: h.central.token,
      json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
    });
    const roleChange = uniqueName('rc-');
    await signedPost({ events: [{ eventId: roleChange, type: 'role_change', citizenId: staff.citizenId, effectiveDate: inDays(0) }] });
    const eventOf = async (id: string) => (await h.request('GET', `/api/v1/personnel-events/${id}`, { token: h.central.token })).body;
    await expect.poll(async () => (await eventOf(roleChange)).reviewId, { timeout: 10_000, interval: 100 }).toEqual(expect.any(String));
    const { reviewId } = await eventOf(roleChange);
    await signedPost({ events: [{ eventId: uniqueName('ret-'), type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(0) }] });
    const accountOf = async () => (await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: h.central.token })).body;
    await expect.poll(async () => (await accountOf()).status, { timeout: 10_000, interval: 100 }).toBe('suspended');
    const items = (await h.request('GET', `/api/v1/access-reviews/${reviewId}/items`, { token: laoAdmin.token })).body.items;
    const kept = await h.request('POST', `/api/v1/access-reviews/${reviewId}/decisions`, {
      token: laoAdmin.token,
      json: { decisions: [{ itemId: items[0].id, decision: 'keep' }] },
    });
    expect(kept.body).toEqual({ applied: 1, rejected: [] });
    expect((await accountOf()).entitlements).toEqual([{ system: 'INFO', role: 'viewer', unitCode: tree.laoA, status: 'suspended' }]);
  });
});

describe('5: access-review schedules are scoped like campaigns', () => {
  it("lets a provincial admin neither replace nor delete DLA central's schedules, and lists only those over their province", async () => {
    const schedule = (token: string, name: string, scopeUnitCode: string) =>
      h.request('PUT', `/api/v1/access-review-schedules/${name}`, {
        token,
        json: { cron: '0 9 1 1 *', scopeUnitCode, durationDays: 30, onNoDecision: 'suspend' },
      });
    expect((await schedule(h.central.token, 'national', tree.root)).status).toBe(200);
    expect((await schedule(h.central.token, 'central-over-province', tree.province)).status).toBe(200);
    expect((await schedule(provinceAdmin.token, 'provincial', tree.province)).status).toBe(200);
    expect((await schedule(provinceAdmin.token, 'national', tree.province)).status).toBe(403);
    expect((await schedule(provinceAdmin.token, 'central-over-province', tree.province)).status).toBe(403);
    expect((await h.request('DELETE', '/api/v1/access-review-schedules/national', { token: provinceAdmin.token })).status).toBe(403);
    expect((await h.request('DELETE', '/api/v1/access-review-schedules/central-over-province', { token: provinceAdmin.token })).status).toBe(403);
    const names = async (token: string) =>
      (await h.request('GET', '/api/v1/access-review-schedules', { token })).body.items.map((i: { name: string }) => i.name).sort();
    expect(await names(provinceAdmin.token)).toEqual(['central-over-province', 'provincial']);
    expect(await names(h.central.token)).toEqual(['central-over-province', 'national', 'provincial']);
    const national = (await h.request('GET', '/api/v1/access-review-schedules', { token: h.central.token })).body.items.find(
      (i: { name: string }) => i.name === 'national',
    );
    expect(national.scopeUnitCode).toBe(tree.root);
    expect((await schedule(provinceAdmin.token, 'provincial', tree.districtA)).status).toBe(200);
    expect((await h.request('DELETE', '/api/v1/access-review-schedules/provincial', { token: provinceAdmin.token })).status).toBe(200);
  });
});

describe('6: who cancels a campaign', () => {
  it('refuses a provincial admin the cancellation of a campaign DLA central started over their province', async () => {
    const start = async (token: string) =>
      (
        await h.request('POST', '/api/v1/access-reviews', {
          token,
          json: { name: uniqueName('campaign'), scopeUnitCode: tree.province, durationDays: 30, onNoDecision: 'keep' },
        })
      ).body.id as string;
    const centrals = await start(h.central.token);
    const cancel = (id: string, token: string) => h.request('POST', `/api/v1/access-reviews/${id}/cancel`, { token });
    expect((await cancel(centrals, provinceAdmin.token)).status).toBe(403);
    const provincial = await start(provinceAdmin.token);
    expect((await cancel(provincial, provinceAdmin.token)).body).toEqual({ id: provincial, status: 'cancelled' });
    expect((await cancel(centrals, h.central.token)).body).toEqual({ id: centrals, status: 'cancelled' });
  });
});

describe('22: a signed GET signs what it asks for', () => {
  it('refuses a signature of the timestamp alone or of another path, and answers the one of this request', async () => {
    const staff = await h.createAccount(tree.laoA);
    const [one, other] = [uniqueName('get-'), uniqueName('get-')];
    await signedPost({ events: [one, other].map((eventId) => ({ eventId, type: 'retirement', citizenId: staff.citizenId, effectiveDate: inDays(60) })) });
    const ts = String(Math.floor(Date.now() / 1000));
    const sign = (text: string) => ({ 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${text}`).digest('hex')}` });
    const path = `/api/v1/personnel-events/${one}`;
    expect((await h.request('GET', path, { headers: sign('') })).status).toBe(401);
    expect((await h.request('GET', path, { headers: sign(`GET /api/v1/personnel-events/${other}`) })).status).toBe(401);
    const res = await h.request('GET', path, { headers: sign(`GET ${path}`) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ eventId: one, status: 'scheduled' });
  });
});

describe("21: the pages' headers", () => {
  it('serves / and /admin with a strict CSP, frame-ancestors none and a same-origin referrer policy', async () => {
    for (const path of ['/', '/admin']) {
      const res = await fetch(h.baseUrl + path, { headers: { accept: 'text/html' }, redirect: 'manual' });
      // An anonymous /admin sends the browser to sign in first: the page it lands on carries the same headers.
      const page =
        res.status >= 300 && res.status < 400 ? await fetch(new URL(res.headers.get('location')!, h.baseUrl), { headers: { accept: 'text/html' } }) : res;
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(page.headers.get('referrer-policy'), path).toBe('same-origin');
      expect(page.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });
});

describe('19: roots of the tree', () => {
  it('refuses a unit other than DLA central without a parent, and a loop, writing nothing', async () => {
    const code = uniqueName('ROOTLESS').toUpperCase();
    const rootless = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [{ code, parentCode: null, kind: 'sao', nameTh: 'อบต. ไร้สังกัด' }],
    });
    expect(rootless.status).toBe(400);
    expect(rootless.body.errors).toEqual([{ path: '0.parentCode', message: expect.stringContaining('only DLA central') }]);
    const loop = await h.request('PUT', '/api/v1/org-units', {
      token: h.central.token,
      json: [
        { code: `${code}-A`, parentCode: `${code}-B`, kind: 'sao', nameTh: 'ก' },
        { code: `${code}-B`, parentCode: `${code}-A`, kind: 'sao', nameTh: 'ข' },
      ],
    });
    expect(loop.status).toBe(400);
    expect(JSON.stringify(loop.body.errors)).toContain('loop');
    for (const c of [code, `${code}-A`, `${code}-B`]) expect((await h.request('GET', `/api/v1/org-units/${c}`)).status).toBe(404);
  });
});

describe("8: setting an account's rights changes only the caller's part", () => {
  it('leaves a right at a unit the LAO admin does not administer, and revokes what they leave out at their own', async () => {
    const staff = await h.createAccount(tree.laoA);
    const rights = (unitCode: string, role = 'viewer') => ({ system: 'INFO', role, unitCode });
    const byCentral = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
      token: h.central.token,
      json: [rights(tree.laoA), rights(tree.laoB, 'editor')],
    });
    expect(byCentral.status).toBe(200);
    // The LAO admin sets the rights they see: their unit's viewer becomes editor; the laoB right is not theirs to remove.
    const byLao = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, { token: laoAdmin.token, json: [rights(tree.laoA, 'editor')] });
    expect(byLao.status).toBe(200);
    const shown = await h.request('GET', `/api/v1/accounts/${staff.id}`, { token: h.central.token });
    const active = shown.body.entitlements
      .filter((e: { status: string }) => e.status === 'active')
      .map((e: { role: string; unitCode: string }) => `${e.role}@${e.unitCode}`);
    expect(active.sort()).toEqual([`editor@${tree.laoA}`, `editor@${tree.laoB}`].sort());
  });
});
