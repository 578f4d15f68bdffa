// `npm run demo` against the service: it fills Udon Thani's Mueang district with something to click
// through, and a second run adds nothing twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_DISTRICT, DEMO_PASSWORD, runDemo, type DemoResult } from '../../scripts/demo.ts';
import { loadThailandOffices } from '../../services/thailand-offices.ts';
import { startHarness, type Harness } from '../support/harness.ts';

let h: Harness;
const ran: DemoResult[] = [];
beforeAll(async () => {
  h = await startHarness({}, { reachable: true });
  await loadThailandOffices(h.resources.database.db);
});
afterAll(async () => {
  for (const r of ran) await r.info.close();
  await h?.stop();
});

it('adds LAOs, people, waiting requests and an appointment under the district, once', async () => {
  const demo = () => runDemo({ baseUrl: h.baseUrl, adminUsername: h.central.username, adminPassword: h.central.password, infoPort: 0 });
  const first = await demo();
  ran.push(first);
  expect(first.people.every((p) => p.created)).toBe(true);
  expect(first.registrations).toHaveLength(4);
  expect(first.registrations.every((r) => r.submitted && r.trackingCode)).toBe(true);
  expect(first.appointment.submitted).toBe(true);

  // The district's admin signs in with the printed password and finds every request and the letter.
  const district = await h.login('demo.district', DEMO_PASSWORD);
  const inbox = await h.request('GET', `/api/v1/registrations?unitCode=${DEMO_DISTRICT}&status=pending_approval`, { token: district });
  expect(inbox.body.items.map((r: { id: string }) => r.id).sort()).toEqual(first.registrations.map((r) => r.id).sort());
  const letter = await h.request('GET', `/api/v1/admin-appointments/${first.appointment.id}`, { token: district });
  expect(letter.body).toMatchObject({ status: 'pending_approval', actingUnitCode: DEMO_DISTRICT });
  const tracked = await h.request('GET', `/api/v1/registrations/${first.registrations[3]!.id}`, {
    headers: { 'x-tracking-code': first.registrations[3]!.trackingCode! },
  });
  expect(tracked.body).toMatchObject({ status: 'pending_approval', actingUnitCode: DEMO_DISTRICT });
  const staff = await h.login('demo.staff1', DEMO_PASSWORD);
  expect((await h.request('GET', '/api/v1/me/systems', { token: staff })).body.items).toEqual([expect.objectContaining({ code: 'INFO', roles: ['viewer'] })]);

  const second = await demo();
  ran.push(second);
  expect(second.people.some((p) => p.created)).toBe(false);
  expect(second.registrations.some((r) => r.submitted)).toBe(false);
  expect(second.appointment.submitted).toBe(false);
  expect((await h.request('GET', `/api/v1/registrations?unitCode=${DEMO_DISTRICT}`, { token: district })).body.items).toHaveLength(4);
  expect(
    (await h.request('GET', `/api/v1/org-units/${DEMO_DISTRICT}`, { token: h.central.token })).body.admins.map((a: { username: string }) => a.username),
  ).toEqual(['demo.district']);
}, 120_000);
