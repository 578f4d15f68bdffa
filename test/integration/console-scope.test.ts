// Who may open which console page, generated from the console's own route table: for every page and
// form about one unit's affairs, the unit's admin gets in and a sibling unit's admin gets the 403
// page. A new console route whose parameters have no fixture here fails, so no page ships without
// its scope being tested.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../db/client.ts';
import { PDF } from '../../scripts/support/fixtures.ts';
import { formSession, type FormSession } from '../support/browser-session.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

let h: Harness;
let tree: Tree;
let owner: FormSession, sibling: FormSession;
/** `<segment>/:<param>` → a value of the owner's unit. */
const fixtures = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: 'console-scope-secret' });
  tree = await h.seedTree();
  await h.putInfoSystem();
  const [ownerAdmin, siblingAdmin, staff, appointee] = (await Promise.all([
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA2),
    h.createAccount(tree.laoA),
    h.createAccount(tree.laoA),
  ])) as [TestAccount, TestAccount, TestAccount, TestAccount];
  await h.designateAdmins(tree.laoA, [ownerAdmin]);
  await h.designateAdmins(tree.laoA2, [siblingAdmin]);
  fixtures.set('units/:code', tree.laoA);
  fixtures.set('accounts/:id', staff.id);

  const registration = await h.submitRegistration({ unitCode: tree.laoA });
  const docs = await h.request('GET', `/api/v1/registrations/${registration.body.id}`, { token: ownerAdmin.token });
  fixtures.set('registrations/:id', registration.body.id);
  fixtures.set('documents/:documentId', docs.body.documents[0].id);

  const form = new FormData();
  form.append('data', JSON.stringify({ accountId: appointee.id }));
  form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'letter.pdf');
  const appointment = await h.request('POST', `/api/v1/org-units/${tree.laoA}/admin-appointments`, { token: ownerAdmin.token, body: form });
  expect(appointment.status).toBe(202);
  fixtures.set('appointments/:id', appointment.body.id);

  // A change of duties opens a person review of the staff member's right.
  await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
    token: ownerAdmin.token,
    json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
  });
  const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
  const event = await h.request('POST', '/api/v1/personnel-events', {
    token: ownerAdmin.token,
    json: { events: [{ eventId: `scope-${staff.id}`, type: 'role_change', citizenId: staff.citizenId, effectiveDate: today, newPosition: 'นักจัดการงานทั่วไป' }] },
  });
  expect(event.status).toBe(202);
  let review: { id: string; item: string } | undefined;
  for (const deadline = Date.now() + 30_000; !review && Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const rows = rowsOf<{ id: string; item: string }>(
      await h.resources.database.db.execute(sql`select r.id, i.id as item
      from access_reviews r join access_review_items i on i.review_id = r.id where r.subject_account_id = ${staff.id}`),
    );
    review = rows[0];
  }
  if (!review) throw new Error('the change of duties opened no person review');
  fixtures.set('reviews/:id', review.id);
  fixtures.set('items/:itemId', review.item);
  const campaign = await h.request('POST', '/api/v1/access-reviews', {
    token: h.central.token,
    json: { name: 'scope', scopeUnitCode: tree.laoA, durationDays: 7, onNoDecision: 'keep' },
  });
  expect(campaign.status).toBe(202);
  fixtures.set('campaigns/:id', campaign.body.id);

  owner = await formSession(h.baseUrl, ownerAdmin, '/admin');
  sibling = await formSession(h.baseUrl, siblingAdmin, '/admin');
});

afterAll(async () => {
  await h?.stop();
});

/** The console's routes about one thing (a parameter in the path), with the owner's values filled in. */
function scopedRoutes() {
  const routes = h.app.routeTable.filter((r) => r.url.startsWith('/admin/') && r.url.includes(':'));
  return routes.map((r) => {
    const segments = r.url.split('/');
    const path = segments
      .map((s, i) => {
        if (!s.startsWith(':')) return s;
        const key = `${segments[i - 1]}/${s}`;
        const value = fixtures.get(key);
        if (!value) throw new Error(`${r.method} ${r.url}: no scope fixture for ${key} in test/integration/console-scope.test.ts`);
        return value;
      })
      .join('/');
    return { ...r, path };
  });
}

describe('console scope', () => {
  it('covers every console route with a parameter', () => {
    expect(scopedRoutes().length).toBeGreaterThanOrEqual(10);
  });

  it("lets the unit's admin open every page about its affairs", async () => {
    for (const r of scopedRoutes().filter((x) => x.method === 'GET')) {
      const res = await owner.fetch(r.path);
      expect(res.status, `${r.method} ${r.url}`).toBe(200);
    }
  });

  it("answers a sibling unit's admin the 403 page on every page and form about another unit's affairs", async () => {
    for (const r of scopedRoutes()) {
      const form = { reason: 'matrix', decision: 'reject', confirm: 'yes' };
      let res = await sibling.fetch(r.path, { method: r.method, form });
      if (res.status === 415) res = await sibling.fetch(r.path, { method: r.method, form, multipart: true }); // an upload form
      expect(res.status, `${r.method} ${r.url}`).toBe(403);
      if (r.method === 'GET') expect(await res.text(), `${r.method} ${r.url}`).toMatch(/ไม่มีสิทธิ์|Forbidden/);
    }
  });
});
