// Corrections of waiting personnel events (issue 13, finding 17), on the real services: a correction supersedes
// the event it corrects and nothing else, a second move of the same person waits beside the first, and start-up's
// re-hand-over — even one that read the rows before the supersession was recorded — never brings a superseded
// event back. (That the waiting events then apply on their dates, across continue-as-new, is tested on the
// time-skipping server: test/workflows/personnel.test.ts.)
import { createHmac } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personnelEvents } from '../../db/schema.ts';
import { randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { resumeFlows } from '../../services/startup.ts';
import { handToPerson } from '../../services/workflows.ts';
import { personWorkflowId } from '../../workflows/personnel.ts';
import { startHarness, type Harness, type Tree } from '../support/harness.ts';

const SECRET = 'hr-feed-secret-for-corrections';
let h: Harness;
let tree: Tree;

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: SECRET, PERSONNEL_IDLE_CLOSE_AFTER: '1h' });
  tree = await h.seedTree();
  await h.putInfoSystem();
});

afterAll(async () => {
  await h?.stop();
});

const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10); // Asia/Bangkok

function post(events: unknown[]) {
  const raw = JSON.stringify({ events });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
  return h.request('POST', '/api/v1/personnel-events', {
    body: raw,
    headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` },
  });
}
const eventOf = async (eventId: string) => (await h.request('GET', `/api/v1/personnel-events/${eventId}`, { token: h.central.token })).body;
const statusOf = async (eventId: string) => (await eventOf(eventId)).status;

describe('a correction of a waiting transfer', () => {
  it('supersedes the move it corrects; a second move to another unit on another date stays scheduled; the re-hand-over brings back nothing', async () => {
    const citizenId = randomCitizenId();
    const transfer = (eventId: string, days: number, toUnitCode: string) => ({ eventId, type: 'transfer', citizenId, effectiveDate: inDays(days), toUnitCode });
    const first = transfer(uniqueName('move-'), 10, tree.laoA);
    const second = transfer(uniqueName('move-'), 40, tree.laoB);
    const firstCorrected = transfer(uniqueName('move-'), 12, tree.laoA); // HR moves the first one's date
    expect((await post([first])).body.accepted).toBe(1);
    expect((await post([second])).body.accepted).toBe(1);
    expect((await post([firstCorrected])).body.accepted).toBe(1);

    await expect.poll(() => statusOf(first.eventId), { timeout: 15_000 }).toBe('superseded');
    expect((await eventOf(first.eventId)).outcome).toBe(`replaced by ${firstCorrected.eventId} before it took effect`);
    expect(await statusOf(second.eventId)).toBe('scheduled');
    expect(await statusOf(firstCorrected.eventId)).toBe('scheduled');

    // Start-up's re-hand-over: the superseded row is not sent; what waits is sent again and changes nothing.
    await resumeFlows(h.resources.database.db, { client: h.client, config: h.config });
    // One that read the rows before the supersession was recorded sends the superseded event again.
    const hash = h.resources.cipher.lookupHash(citizenId);
    await handToPerson({ client: h.client, config: h.config }, hash, {
      eventId: first.eventId,
      type: 'transfer',
      effectiveDate: first.effectiveDate,
      toUnitCode: first.toUnitCode,
    });
    // Then HR corrects the second move's unit (the same date): once that is recorded, the workflow has taken
    // everything sent before it.
    const secondCorrected = transfer(uniqueName('move-'), 40, tree.laoA2);
    expect((await post([secondCorrected])).body.accepted).toBe(1);
    await expect.poll(() => statusOf(second.eventId), { timeout: 15_000 }).toBe('superseded');
    expect((await eventOf(second.eventId)).outcome).toBe(`replaced by ${secondCorrected.eventId} before it took effect`);

    expect(await statusOf(first.eventId)).toBe('superseded');
    expect((await eventOf(first.eventId)).outcome).toBe(`replaced by ${firstCorrected.eventId} before it took effect`);
    expect(await statusOf(firstCorrected.eventId)).toBe('scheduled');
    expect(await statusOf(secondCorrected.eventId)).toBe('scheduled');
  }, 60_000);

  it('lets a corrected retirement date replace the waiting one, which the re-hand-over then leaves superseded', async () => {
    const citizenId = randomCitizenId();
    const first = { eventId: uniqueName('ret-'), type: 'retirement', citizenId, effectiveDate: inDays(300) };
    const corrected = { eventId: uniqueName('ret-'), type: 'retirement', citizenId, effectiveDate: inDays(200) };
    await post([first]);
    await post([corrected]);
    await expect.poll(() => statusOf(first.eventId), { timeout: 15_000 }).toBe('superseded');
    await resumeFlows(h.resources.database.db, { client: h.client, config: h.config });
    await handToPerson({ client: h.client, config: h.config }, h.resources.cipher.lookupHash(citizenId), {
      eventId: first.eventId,
      type: 'retirement',
      effectiveDate: first.effectiveDate,
    });
    // A later, unrelated event of the person: recorded once the workflow has taken the re-sent one.
    const suspension = { eventId: uniqueName('sus-'), type: 'suspension', citizenId, effectiveDate: inDays(0) };
    await post([suspension]);
    await expect.poll(() => statusOf(suspension.eventId), { timeout: 15_000 }).toBe('applied');
    expect(await statusOf(first.eventId)).toBe('superseded');
    expect(await statusOf(corrected.eventId)).toBe('scheduled');
  }, 60_000);

  it('takes a correction later in the same batch as the newer one, wherever the batch is cut for hand-over', async () => {
    const citizenId = randomCitizenId();
    const first = { eventId: uniqueName('ret-'), type: 'retirement', citizenId, effectiveDate: inDays(300) };
    const corrected = { eventId: uniqueName('ret-'), type: 'retirement', citizenId, effectiveDate: inDays(200) };
    // Others' events before them, so that the two would fall on either side of a cut of 50.
    const others = Array.from({ length: 49 }, () => ({
      eventId: uniqueName('res-'),
      type: 'resignation',
      citizenId: randomCitizenId(),
      effectiveDate: inDays(90),
    }));
    expect((await post([...others, first, corrected])).body).toEqual({ accepted: 51, duplicates: 0, rejected: [] });
    await expect.poll(() => statusOf(first.eventId), { timeout: 30_000 }).toBe('superseded');
    expect((await eventOf(first.eventId)).outcome).toBe(`replaced by ${corrected.eventId} before it took effect`);
    expect(await statusOf(corrected.eventId)).toBe('scheduled');
  }, 60_000);

  it("hands a batch's events over again at start-up in the batch's order, whatever their ids (the process stopped before handing them over)", async () => {
    const citizenId = randomCitizenId();
    // The correction's id sorts before the event it corrects.
    const first = { eventId: uniqueName('ret-z-'), type: 'retirement', citizenId, effectiveDate: inDays(300) };
    const corrected = { eventId: uniqueName('ret-a-'), type: 'retirement', citizenId, effectiveDate: inDays(200) };
    expect((await post([first, corrected])).body.accepted).toBe(2);
    await expect.poll(() => statusOf(first.eventId), { timeout: 15_000 }).toBe('superseded');

    // As if the process had stopped after storing the batch and before handing it over: no workflow, both rows scheduled.
    const hash = h.resources.cipher.lookupHash(citizenId);
    await h.client.workflow.getHandle(personWorkflowId(hash)).terminate('the process stopped before the hand-over');
    await h.resources.database.db
      .update(personnelEvents)
      .set({ status: 'scheduled', outcome: null })
      .where(inArray(personnelEvents.eventId, [first.eventId, corrected.eventId]));
    await resumeFlows(h.resources.database.db, { client: h.client, config: h.config });

    await expect.poll(() => statusOf(first.eventId), { timeout: 15_000 }).toBe('superseded');
    expect((await eventOf(first.eventId)).outcome).toBe(`replaced by ${corrected.eventId} before it took effect`);
    expect(await statusOf(corrected.eventId)).toBe('scheduled');
  }, 60_000);
});
