// Upgrade safety: the committed histories (test/histories/*.json, recorded from the current
// release by `npm run histories:record`) replay against the workflow code of every change. A
// change that would break a workflow in flight (a command added, removed or reordered without
// patched()) fails here with a non-determinism error. See "Upgrading workflows" in the README.
import { createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../bin/system.ts';
import { workflowBundle } from '../../lib/temporal.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { signInWithThaiId } from '../../services/sign-in.ts';
import { startHarness } from '../support/harness.ts';

const HISTORIES = join(import.meta.dirname, '..', 'histories');
/** Where a recording goes: the corpus, or (RECORD_HISTORIES_TO) a folder of one's own, to add a new path's history to the corpus without replacing the older releases' ones. */
const RECORD_TO = process.env.RECORD_HISTORIES_TO ?? HISTORIES;
/** Every kind of workflow people's flows start (the schedules' own are started by start-up, not by a flow). */
const KINDS = ['registration', 'appointment', 'person', 'accessReview', 'accessReviewCampaign'];
const History = temporal.api.history.v1.History;

interface RecordedHistory {
  workflowType: string;
  status: string;
  events: number;
  history: string;
}

// Recording (RECORD_HISTORIES=1, what `npm run histories:record` sets): each kind of workflow runs
// on the real services with short timers, through the API as people use it, and its history is saved.
// Registered only when recording, so that a run of the suite skips nothing (CI refuses skipped tests).
if (process.env.RECORD_HISTORIES)
  describe('recording the histories of the current release', () => {
    it('runs every kind of workflow and saves its history', async () => {
      const SECRET = 'record-histories-secret';
      const h = await startHarness({
        HR_FEED_SECRET: SECRET,
        REGISTRATION_REMIND_AFTER: '1s',
        REGISTRATION_ESCALATE_AFTER: '2s',
        REGISTRATION_EXPIRE_AFTER: '5s',
        APPOINTMENT_REMIND_AFTER: '1s',
        APPOINTMENT_ESCALATE_AFTER: '2s',
        APPOINTMENT_EXPIRE_AFTER: '5s',
        PERSONNEL_IDLE_CLOSE_AFTER: '2s',
        TRANSFER_REMIND_AFTER: '1s',
        TRANSFER_ESCALATE_AFTER: '2s',
        TRANSFER_EXPIRE_AFTER: '5s',
      });
      try {
        const tree = await h.seedTree();
        const [provinceAdmin, districtAAdmin, laoAAdmin, clerk] = await Promise.all([
          h.createAccount(tree.province),
          h.createAccount(tree.districtA),
          h.createAccount(tree.laoA),
          h.createAccount(tree.districtB),
        ]);
        await h.designateAdmins(tree.province, [provinceAdmin]);
        await h.designateAdmins(tree.districtA, [districtAAdmin]);
        await h.designateAdmins(tree.laoA, [laoAAdmin]);
        await h.putInfoSystem();
        const ok = (what: string, res: { status: number; body: unknown }) => {
          if (res.status < 200 || res.status > 299) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
        };

        // Registrations: approved, rejected, information asked (then expired), expired untouched.
        // DLA central may decide wherever a request waits (it may have escalated already on a loaded machine).
        const decide = (id: string, body: unknown) => h.request('POST', `/api/v1/registrations/${id}/decision`, { token: h.central.token, json: body });
        const submitted = await Promise.all([0, 1, 2, 3].map(() => h.submitRegistration({ unitCode: tree.laoA })));
        for (const s of submitted) ok('submit', s);
        ok('approve', await decide(submitted[0]!.body.id, { decision: 'approve' }));
        ok('reject', await decide(submitted[1]!.body.id, { decision: 'reject', reason: 'ไม่ใช่บุคลากรของหน่วยงาน' }));
        ok('request info', await decide(submitted[2]!.body.id, { decision: 'request_info', reason: 'แนบคำสั่งแต่งตั้ง' }));
        // One superseded: the same person's request verified through ThaiID replaces it (and waits).
        const unverified = await h.submitRegistration({ unitCode: tree.laoA });
        ok('submit unverified', unverified);
        const thaiId = await signInWithThaiId(h.app.deps, { pid: unverified.citizenId, given_name: 'สมชาย', family_name: 'ใจดี' });
        if (!('verification' in thaiId)) throw new Error('a ThaiID sign-in without an account gives a verification');
        const verifiedFields = { identityVerification: thaiId.verification, citizenId: undefined, firstNameTh: undefined, lastNameTh: undefined };
        ok('supersede', await h.submitRegistration({ ...verifiedFields, unitCode: tree.laoA }));

        // Appointments: approved by the province; another left to expire.
        const letter = (data: unknown) => {
          const form = new FormData();
          form.append('data', JSON.stringify(data));
          form.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'order.pdf');
          return form;
        };
        const [appointee, other] = await Promise.all([h.createAccount(tree.districtB), h.createAccount(tree.districtB)]);
        const approved = await h.request('POST', `/api/v1/org-units/${tree.districtB}/admin-appointments`, {
          token: clerk.token,
          body: letter({ accountId: appointee.id, termEnd: '2099-09-30' }),
        });
        ok('appointment', approved);
        ok(
          'appointment decision',
          await h.request('POST', `/api/v1/admin-appointments/${approved.body.id}/decision`, { token: provinceAdmin.token, json: { decision: 'approve' } }),
        );
        ok(
          'appointment to expire',
          await h.request('POST', `/api/v1/org-units/${tree.districtB}/admin-appointments`, { token: clerk.token, body: letter({ accountId: other.id }) }),
        );

        // Personnel events: a retirement, and a transfer whose rights go to a review at the new unit.
        const [retiree, mover] = await Promise.all([h.createAccount(tree.laoA), h.createAccount(tree.laoA2)]);
        for (const staff of [retiree, mover]) {
          ok(
            'rights',
            await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
              token: h.central.token,
              json: [{ system: 'INFO', role: 'viewer', unitCode: staff === retiree ? tree.laoA : tree.laoA2 }],
            }),
          );
        }
        const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
        const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);
        const feed = async (events: unknown[]) => {
          const raw = JSON.stringify({ events });
          const ts = String(Math.floor(Date.now() / 1000));
          const sig = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
          ok(
            'personnel events',
            await h.request('POST', '/api/v1/personnel-events', {
              body: raw,
              headers: { 'content-type': 'application/json', 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${sig}` },
            }),
          );
        };
        await feed([
          { eventId: uniqueName('ret-'), type: 'retirement', citizenId: retiree.citizenId, effectiveDate: today },
          { eventId: uniqueName('tr-'), type: 'transfer', citizenId: mover.citizenId, effectiveDate: today, toUnitCode: tree.laoA },
        ]);
        // A person's two moves ahead, then the first one's date corrected: it is superseded, the second move waits.
        const movesAhead = randomCitizenId();
        await feed([
          { eventId: uniqueName('tr-'), type: 'transfer', citizenId: movesAhead, effectiveDate: inDays(10), toUnitCode: tree.laoA },
          { eventId: uniqueName('tr-'), type: 'transfer', citizenId: movesAhead, effectiveDate: inDays(40), toUnitCode: tree.laoB },
        ]);
        await feed([{ eventId: uniqueName('tr-'), type: 'transfer', citizenId: movesAhead, effectiveDate: inDays(12), toUnitCode: tree.laoA }]);

        // An access review campaign over the province.
        ok(
          'campaign',
          await h.request('POST', '/api/v1/access-reviews', {
            token: provinceAdmin.token,
            json: { name: uniqueName('campaign-'), scopeUnitCode: tree.province, durationDays: 7, onNoDecision: 'keep' },
          }),
        );

        await delay(8000); // reminders, escalations and expiries fire; idle person workflows close

        rmSync(RECORD_TO, { recursive: true, force: true });
        mkdirSync(RECORD_TO, { recursive: true });
        const counts: Record<string, number> = {};
        for await (const execution of h.client.workflow.list({ query: `TaskQueue = "${h.config.taskQueue}"` })) {
          const history = await h.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
          const n = (counts[execution.type] = (counts[execution.type] ?? 0) + 1);
          // `<workflow type>-<n>-<status>.json`: what each file holds, and the history as the server
          // sends it (protobuf, base64: the SDK's proto-JSON helpers fail on this install's two protobufjs copies).
          const record: RecordedHistory = {
            workflowType: execution.type,
            status: execution.status.name,
            events: history.events?.length ?? 0,
            history: Buffer.from(History.encode(history).finish()).toString('base64'),
          };
          writeFileSync(join(RECORD_TO, `${execution.type}-${n}-${execution.status.name.toLowerCase()}.json`), `${JSON.stringify(record, null, 2)}\n`);
        }
        for (const kind of KINDS) expect(counts[kind], `${kind} recorded`).toBeGreaterThan(0);
      } finally {
        await h.stop();
      }
    }, 300_000);
  });

describe('the committed histories', () => {
  it('replay against the current workflow code, every kind of workflow among them', async () => {
    const files = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const histories = files.map((file) => {
      const record = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as RecordedHistory;
      return { workflowId: file, history: History.decode(Buffer.from(record.history, 'base64')) };
    });
    const kinds = new Set(histories.map((h) => h.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
    for (const kind of KINDS) expect(kinds, `a history of ${kind}`).toContain(kind);

    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle(WORKFLOWS_PATH) }, histories)) {
      expect(result.error, `${result.workflowId}: ${String(result.error)}`).toBeUndefined();
      replayed++;
    }
    expect(replayed).toBe(files.length);
  }, 120_000);
});
