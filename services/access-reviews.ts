// Access reviews (การทบทวนสิทธิ์): campaigns over a subtree, started by DLA central or a provincial
// office, by hand or on a schedule; the person reviews opened by a transfer or a change of duties.
// Reviewers see the items of their units and decide keep or revoke, in bulk; each decision takes
// effect at once. Nobody decides on their own access.
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { accountOfActor, actorOf, writeAudit } from '../db/audit.ts';
import { mayActFor, subtreeSql, unitChain } from '../db/org-tree.ts';
import { applyReviewOutcome, createCampaignRecord } from '../db/reviews.ts';
import { rowsOf } from '../db/client.ts';
import { accessReviewItems, accessReviews, accounts, orgUnits, REVIEW_RULES, systems, type ReviewRule } from '../db/schema.ts';
import { inBatches } from '../lib/csv.ts';
import { badRequest, conflict, forbidden, invalid, notFound, Problem, unavailable } from '../lib/problem.ts';
import { deliverSsoLogouts } from '../lib/sso/backchannel-logout.ts';
import type { LogoutSigner } from '../lib/sso/keys.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import {
  putReviewSchedule,
  removeReviewSchedule,
  reviewScheduleInput,
  reviewSchedules,
  sendCampaignCancellation,
  signalReviewDecisions,
  startCampaign as startCampaignWorkflow,
  startOrTakeBack,
  updateWorkflow,
  type Log,
} from './workflows.ts';

/** Decisions end sign-ins: the connected systems hear of it at once (back-channel logout). */
export interface ReviewDeps extends ServiceDeps {
  sso: { logoutSigner: LogoutSigner };
}

const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCHEDULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

type Review = typeof accessReviews.$inferSelect;

async function findReview(deps: ServiceDeps, id: string): Promise<Review> {
  const [review] = UUID.test(id) ? await deps.db.select().from(accessReviews).where(eq(accessReviews.id, id)) : [];
  if (!review) throw notFound('There is no such access review.');
  return review;
}

/** Campaigns: DLA central anywhere; a provincial office's admins within their province. */
async function requireCampaignScope(deps: ServiceDeps, actor: Actor, scopeUnitCode: string): Promise<void> {
  const { db } = deps;
  const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, scopeUnitCode));
  if (!unit) throw invalid('scopeUnitCode', `unit ${scopeUnitCode} does not exist`);
  if (actor.central) return;
  const chain = await unitChain(db, scopeUnitCode);
  const provinces = actor.adminUnits.filter((u) => chain.includes(u));
  const ofProvince =
    provinces.length === 0
      ? []
      : await db
          .select({ code: orgUnits.code })
          .from(orgUnits)
          .where(and(inArray(orgUnits.code, provinces), eq(orgUnits.kind, 'province_office')));
  if (ofProvince.length === 0) throw forbidden('Only DLA central, or a provincial office within its province, runs access reviews.');
}

function checkRule(rule: string): ReviewRule {
  if (!(REVIEW_RULES as readonly string[]).includes(rule)) throw invalid('onNoDecision', `onNoDecision is one of ${REVIEW_RULES.join(', ')}`);
  return rule as ReviewRule;
}

export interface CampaignInput {
  name: string;
  scopeUnitCode: string;
  durationDays?: number | undefined;
  dueAt?: string | undefined;
  onNoDecision: ReviewRule;
}

/**
 * Starts a campaign: its record and audit, then its workflow. When Temporal cannot take it the
 * record is taken back (a 503), so no campaign stays `running` without a process.
 */
export async function startCampaign(deps: ServiceDeps, actor: Actor, input: CampaignInput, log: Log): Promise<{ id: string }> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw invalid('name', 'name needs 1 to 200 characters');
  if ((input.durationDays === undefined) === (input.dueAt === undefined)) throw invalid('durationDays', 'give either durationDays or dueAt');
  if (input.durationDays !== undefined && !(Number.isInteger(input.durationDays) && input.durationDays >= 1 && input.durationDays <= 365)) {
    throw invalid('durationDays', 'durationDays is a whole number of days, 1 to 365');
  }
  const dueAt = input.dueAt !== undefined ? new Date(input.dueAt) : new Date(Date.now() + input.durationDays! * DAY);
  if (Number.isNaN(dueAt.getTime())) throw invalid('dueAt', 'dueAt must be a date-time');
  if (dueAt.getTime() <= Date.now() + 1000) throw invalid('dueAt', 'dueAt must lie in the future');
  const onNoDecision = checkRule(input.onNoDecision);
  await requireCampaignScope(deps, actor, input.scopeUnitCode);
  const id = randomUUID();
  await createCampaignRecord(deps.db, { id, name, scopeUnitCode: input.scopeUnitCode, dueAt, onNoDecision, createdBy: actorOf(actor.id) });
  await startOrTakeBack(
    log,
    'access review campaign',
    () => startCampaignWorkflow(deps.workflows, { reviewId: id, dueAt }),
    async () => {
      await deps.db.transaction(async (tx) => {
        await tx.delete(accessReviews).where(eq(accessReviews.id, id));
        await writeAudit(tx, {
          key: `review:${id}:taken-back`,
          actor: 'system',
          action: 'review.taken_back',
          subjectType: 'access_review',
          subjectId: id,
          unitCode: input.scopeUnitCode,
          reason: 'the workflow service could not take the campaign; nothing was kept',
        });
      });
    },
  );
  return { id };
}

/** Cancels a running campaign: its workflow closes it (nothing more is decided or applied). */
export async function cancelCampaign(deps: ServiceDeps, actor: Actor, id: string, log: Log): Promise<{ id: string; status: 'cancelled' }> {
  const review = await findReview(deps, id);
  if (review.kind !== 'campaign') throw notFound('There is no such campaign.');
  await requireCampaignScope(deps, actor, review.scopeUnitCode);
  if (!actor.central && (await startedByCentral(deps, review.createdBy))) throw forbidden('DLA central started this campaign: only DLA central cancels it.');
  if (review.status !== 'running') throw conflict(`The campaign is ${review.status}.`);
  const status = await updateWorkflow(log, 'campaign', () => sendCampaignCancellation(deps.workflows, review.id, actor.id));
  if (status !== 'cancelled') throw conflict(`The campaign is ${status}.`);
  return { id: review.id, status };
}

/**
 * Whether DLA central started the campaign (by hand, or by a schedule it set): then only DLA
 * central cancels it; a provincial office cancels what its own admins started. A schedule since
 * deleted no longer says who set it: central's, to be safe.
 */
async function startedByCentral(deps: ServiceDeps, createdBy: string): Promise<boolean> {
  const schedule = createdBy.startsWith('schedule:') ? createdBy.slice('schedule:'.length) : null;
  const starter =
    schedule === null
      ? createdBy
      : (
          await reviewScheduleInput(deps.workflows, schedule).catch((error: unknown) => {
            throw scheduleUnreachable(error);
          })
        )?.createdBy;
  const accountId = starter ? accountOfActor(starter) : null;
  if (!accountId) return true;
  const [account] = await deps.db.select({ central: accounts.centralAdmin }).from(accounts).where(eq(accounts.id, accountId));
  return account?.central ?? true;
}

const totalsOf = () => ({
  items: sql<number>`count(*)`.mapWith(Number),
  decided: sql<number>`count(*) filter (where ${accessReviewItems.decision} is not null)`.mapWith(Number),
  kept: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'keep')`.mapWith(Number),
  revoked: sql<number>`count(*) filter (where ${accessReviewItems.decision} = 'revoke')`.mapWith(Number),
  autoApplied: sql<number>`count(*) filter (where ${accessReviewItems.autoApplied})`.mapWith(Number),
});

export const REPORT_COLUMNS = ['unitCode', 'username', 'system', 'role', 'decision', 'decidedBy', 'decidedAt', 'justification', 'flagged'] as const;
type ReportRow = ReturnType<typeof reportRowOf> & { entitlementId: string };

const REPORT_BATCH = 2000;

/**
 * Who decided what, `limit` rows after the entitlement `after`: ordered by the (review, entitlement)
 * unique index, so that each batch of a download is one index range (a report of 200,000 items reads
 * in flat time and memory).
 */
async function reportRows(deps: ServiceDeps, review: Review, after: string | undefined, limit: number): Promise<ReportRow[]> {
  const rows = await deps.db
    .select({ item: accessReviewItems, username: accounts.username })
    .from(accessReviewItems)
    .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
    .where(and(eq(accessReviewItems.reviewId, review.id), after ? gt(accessReviewItems.entitlementId, after) : undefined))
    .orderBy(asc(accessReviewItems.entitlementId))
    .limit(limit);
  return rows.map(({ item, username }) => ({ entitlementId: item.entitlementId, ...reportRowOf(review, item, username) }));
}

function reportRowOf(review: Review, item: typeof accessReviewItems.$inferSelect, username: string) {
  return {
    unitCode: item.unitCode,
    username,
    system: item.systemCode,
    role: item.role,
    decision: item.decision ?? (item.autoApplied ? `rule:${review.onNoDecision}` : ''),
    decidedBy: item.decidedBy ?? '',
    decidedAt: item.decidedAt?.toISOString() ?? '',
    justification: item.justification ?? '',
    flagged: item.autoApplied && review.onNoDecision === 'keep',
  };
}

async function reportUnits(deps: ServiceDeps, review: Review) {
  return deps.db
    .select({ unitCode: accessReviewItems.unitCode, ...totalsOf() })
    .from(accessReviewItems)
    .where(eq(accessReviewItems.reviewId, review.id))
    .groupBy(accessReviewItems.unitCode)
    .orderBy(asc(accessReviewItems.unitCode));
}

async function reportableReview(deps: ServiceDeps, actor: Actor, id: string): Promise<Review> {
  const review = await findReview(deps, id);
  if (!(await mayActFor(deps.db, actor, review.scopeUnitCode))) throw forbidden('The report covers units you do not administer.');
  return review;
}

/**
 * Totals per unit and who decided what. As CSV the decisions come as a source read in keyset
 * batches, for `lib/csv.ts` to stream (never the whole review in memory); as JSON, whole.
 */
export async function campaignReport(deps: ServiceDeps, actor: Actor, id: string, format: 'json' | 'csv') {
  const review = await reportableReview(deps, actor, id);
  if (format === 'csv') {
    return {
      format: 'csv' as const,
      fileName: `access-review-${review.id}.csv`,
      columns: REPORT_COLUMNS,
      rows: inBatches<ReportRow>(REPORT_BATCH, (after) => reportRows(deps, review, after?.entitlementId, REPORT_BATCH)),
    };
  }
  const units = await reportUnits(deps, review);
  const decisions = await deps.db
    .select({ item: accessReviewItems, username: accounts.username })
    .from(accessReviewItems)
    .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
    .where(eq(accessReviewItems.reviewId, review.id))
    .orderBy(asc(accessReviewItems.unitCode), asc(accounts.username));
  return {
    format: 'json' as const,
    report: {
      id: review.id,
      name: review.name,
      status: review.status,
      dueAt: review.dueAt.toISOString(),
      onNoDecision: review.onNoDecision,
      units,
      decisions: decisions.map(({ item, username }) => reportRowOf(review, item, username)),
    },
  };
}

/** Items this admin may see: those whose reviewer unit they administer (DLA central: all). */
const visibleTo = (actor: Actor) =>
  actor.central ? undefined : actor.adminUnits.length > 0 ? sql`${accessReviewItems.reviewerUnitCode} in ${subtreeSql(actor.adminUnits)}` : sql`false`;

/** A review is seen by the admins of its scope (and above) and by the reviewers of some of its items. */
async function requireSightOf(deps: ServiceDeps, actor: Actor, review: { id: string; scopeUnitCode: string }): Promise<void> {
  const [mine] = await deps.db
    .select({ n: count() })
    .from(accessReviewItems)
    .where(and(eq(accessReviewItems.reviewId, review.id), visibleTo(actor)));
  if (!(await mayActFor(deps.db, actor, review.scopeUnitCode)) && !mine?.n) throw forbidden('This review is not about your units.');
}

/** A review with its totals, for an admin of its scope or a reviewer of some of its items. */
export async function viewReview(deps: ServiceDeps, actor: Actor, id: string) {
  const { db } = deps;
  const review = await findReview(deps, id);
  await requireSightOf(deps, actor, review);
  const [totals] = await db.select(totalsOf()).from(accessReviewItems).where(eq(accessReviewItems.reviewId, review.id));
  return {
    id: review.id,
    kind: review.kind,
    name: review.name,
    status: review.status,
    scopeUnitCode: review.scopeUnitCode,
    subjectAccountId: review.subjectAccountId,
    cause: review.cause,
    onNoDecision: review.onNoDecision,
    dueAt: review.dueAt.toISOString(),
    completedAt: review.completedAt?.toISOString() ?? null,
    totals,
  };
}

export interface ReviewItem {
  id: string;
  accountId: string;
  username: string;
  system: string;
  role: string;
  unitCode: string;
  reviewerUnitCode: string;
  decision: 'keep' | 'revoke' | null;
  decidedBy: string | null;
  decidedAt: string | null;
  justification: string | null;
  autoApplied: boolean;
  /** After a transfer: where a kept right moves. */
  moveToUnitCode: string | null;
}

/** The review's items this admin reviews, by id: `limit + 1` rows after `after`, for the caller to page. */
export async function listReviewItems(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  query: { unitCode?: string | undefined; decided?: boolean | undefined; limit: number; after?: { id: string } | undefined },
): Promise<ReviewItem[]> {
  const { db } = deps;
  const review = await findReview(deps, id);
  await requireSightOf(deps, actor, review);
  const { unitCode, decided, limit, after } = query;
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  const rows = await db
    .select({ item: accessReviewItems, username: accounts.username })
    .from(accessReviewItems)
    .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
    .where(
      and(
        eq(accessReviewItems.reviewId, review.id),
        visibleTo(actor),
        unitCode ? sql`${accessReviewItems.unitCode} in ${subtreeSql([unitCode])}` : undefined,
        decided === undefined ? undefined : decided ? isNotNull(accessReviewItems.decision) : isNull(accessReviewItems.decision),
        after ? gt(accessReviewItems.id, after.id) : undefined,
      ),
    )
    .orderBy(asc(accessReviewItems.id))
    .limit(limit + 1);
  return rows.map(({ item, username }) => ({
    id: item.id,
    accountId: item.accountId,
    username,
    system: item.systemCode,
    role: item.role,
    unitCode: item.unitCode,
    reviewerUnitCode: item.reviewerUnitCode,
    decision: item.decision,
    decidedBy: item.decidedBy,
    decidedAt: item.decidedAt?.toISOString() ?? null,
    justification: item.justification,
    autoApplied: item.autoApplied,
    moveToUnitCode: item.moveToUnitCode,
  }));
}

export interface ReviewDecision {
  itemId: string;
  decision: 'keep' | 'revoke';
  justification?: string | undefined;
}

/**
 * Applies each decision the admin may take, in one transaction, and reports the others; a revoke
 * needs a justification. The connected systems hear of ended sign-ins, and a person review's
 * workflow hears that decisions were taken (it closes when none is left).
 */
export async function decideReviewItems(deps: ReviewDeps, actor: Actor, id: string, decisions: ReviewDecision[], log: Log) {
  const { db } = deps;
  if (decisions.length < 1 || decisions.length > 1000) throw badRequest('Send 1 to 1000 decisions.');
  for (const [i, d] of decisions.entries()) {
    if (d.decision !== 'keep' && d.decision !== 'revoke') throw invalid(`decisions.${i}.decision`, 'decision is keep or revoke');
  }
  const review = await findReview(deps, id);
  if (review.status !== 'running' || review.dueAt.getTime() <= Date.now()) {
    throw conflict(`The review is ${review.status === 'running' ? 'past its due date' : review.status}; decisions are closed.`);
  }
  const rejected: { itemId: string; reason: string }[] = [];
  let applied = 0;
  // A page of decisions is mostly one reviewer unit's: its scope is asked once.
  const reviewerUnits = new Map<string, boolean>();
  await db.transaction(async (tx) => {
    for (const d of decisions) {
      const [item] = UUID.test(d.itemId)
        ? await tx
            .select()
            .from(accessReviewItems)
            .where(and(eq(accessReviewItems.id, d.itemId), eq(accessReviewItems.reviewId, review.id)))
        : [];
      if (!item) {
        rejected.push({ itemId: d.itemId, reason: 'not an item of this review' });
        continue;
      }
      if (item.accountId === actor.id) {
        rejected.push({ itemId: d.itemId, reason: 'nobody decides on their own access' });
        continue;
      }
      let mayDecide = reviewerUnits.get(item.reviewerUnitCode);
      if (mayDecide === undefined) reviewerUnits.set(item.reviewerUnitCode, (mayDecide = await mayActFor(tx, actor, item.reviewerUnitCode)));
      if (!mayDecide) {
        rejected.push({ itemId: d.itemId, reason: `reviewed by the admins of ${item.reviewerUnitCode}` });
        continue;
      }
      if (item.autoApplied) {
        rejected.push({ itemId: d.itemId, reason: 'settled by the rule at the due date' });
        continue;
      }
      if (d.decision === 'revoke' && !d.justification?.trim()) {
        rejected.push({ itemId: d.itemId, reason: 'a revoke needs a justification' });
        continue;
      }
      await applyReviewOutcome(tx, item, d.decision, { accountId: actor.id, auto: false, justification: d.justification?.trim() || null });
      applied++;
    }
  });
  const refusedForWho = rejected.filter((r) => r.reason.startsWith('reviewed by') || r.reason.startsWith('nobody decides'));
  if (applied === 0 && refusedForWho.length === decisions.length) {
    throw new Problem(
      403,
      'Forbidden',
      `You may not decide these items: ${refusedForWho[0]!.reason}.`,
      refusedForWho.map((r) => ({ path: r.itemId, message: r.reason })),
    );
  }
  if (applied > 0) await deliverSsoLogouts(db, deps.sso.logoutSigner);
  if (applied > 0 && review.kind === 'person') {
    // The decisions stand; a workflow that did not hear of them still closes at its due date.
    await signalReviewDecisions(deps.workflows, review.id).catch((error: unknown) =>
      log.error({ err: error, reviewId: review.id }, 'the review workflow did not hear of the decisions'),
    );
  }
  return { applied, rejected };
}

export interface ScheduleInput {
  cron: string;
  scopeUnitCode: string;
  durationDays: number;
  onNoDecision: ReviewRule;
}

function checkScheduleName(name: string): void {
  if (!SCHEDULE_NAME.test(name)) throw invalid('name', 'a schedule name has 1 to 64 letters, digits, _ . or -');
}

/** Creates or replaces the named schedule of campaigns (cron in Asia/Bangkok). */
export async function setReviewSchedule(deps: ServiceDeps, actor: Actor, name: string, input: ScheduleInput) {
  checkScheduleName(name);
  if (input.cron.trim().split(/\s+/).length !== 5) throw invalid('cron', 'cron needs five fields: minute hour day-of-month month day-of-week');
  if (!(Number.isInteger(input.durationDays) && input.durationDays >= 1 && input.durationDays <= 365)) {
    throw invalid('durationDays', 'durationDays is a whole number of days, 1 to 365');
  }
  const onNoDecision = checkRule(input.onNoDecision);
  await requireCampaignScope(deps, actor, input.scopeUnitCode);
  // Replacing a schedule takes the scope of the one it replaces too (a province may not overwrite DLA central's).
  const existing = await reviewScheduleInput(deps.workflows, name).catch((error: unknown) => {
    throw scheduleUnreachable(error);
  });
  if (existing) await requireScheduleScope(deps, actor, existing);
  try {
    await putReviewSchedule(deps.workflows, input.cron, {
      name,
      scopeUnitCode: input.scopeUnitCode,
      durationDays: input.durationDays,
      onNoDecision,
      createdBy: actorOf(actor.id),
    });
  } catch (error) {
    if ((error as { code?: number }).code === 3 || /cron|invalid/i.test(String(error)))
      throw invalid('cron', `the server refused the cron expression: ${(error as Error).message}`);
    throw scheduleUnreachable(error);
  }
  await writeAudit(deps.db, {
    key: `review-schedule:${name}:${randomUUID()}`,
    actorAccountId: actor.id,
    actor: actorOf(actor.id),
    action: 'review_schedule.set',
    subjectType: 'access_review_schedule',
    subjectId: name,
    unitCode: input.scopeUnitCode,
    after: { ...input, onNoDecision },
  });
  return { name, cron: input.cron, scopeUnitCode: input.scopeUnitCode, durationDays: input.durationDays, onNoDecision };
}

/** A schedule is the affair of whoever may run its campaigns: DLA central's only DLA central's. */
async function requireScheduleScope(deps: ServiceDeps, actor: Actor, schedule: { scopeUnitCode: string; createdBy: string }): Promise<void> {
  await requireCampaignScope(deps, actor, schedule.scopeUnitCode);
  if (!actor.central && (await startedByCentral(deps, schedule.createdBy))) throw forbidden('DLA central set this schedule: only DLA central changes it.');
}

/** The schedules over units where the actor may run campaigns (every one for DLA central), with their next run. */
export async function listReviewSchedules(deps: ServiceDeps, actor: Actor) {
  let all;
  try {
    all = await reviewSchedules(deps.workflows);
  } catch (error) {
    throw scheduleUnreachable(error);
  }
  const schedules = [];
  for (const s of all)
    if (
      await requireCampaignScope(deps, actor, s.scopeUnitCode).then(
        () => true,
        () => false,
      )
    )
      schedules.push(s);
  return schedules.map((s) => ({
    name: s.name,
    cron: s.cron,
    scopeUnitCode: s.scopeUnitCode,
    durationDays: s.durationDays,
    onNoDecision: s.onNoDecision,
    nextRunAt: s.nextRunAt?.toISOString() ?? null,
  }));
}

/** Deletes the named schedule (within the actor's campaign scope); campaigns it started run on. */
export async function deleteReviewSchedule(deps: ServiceDeps, actor: Actor, name: string) {
  const input = await reviewScheduleInput(deps.workflows, name).catch((error: unknown) => {
    throw scheduleUnreachable(error);
  });
  if (!input) throw notFound(`There is no schedule ${name}.`);
  await requireScheduleScope(deps, actor, input);
  if (
    !(await removeReviewSchedule(deps.workflows, name).catch((error: unknown) => {
      throw scheduleUnreachable(error);
    }))
  ) {
    throw notFound(`There is no schedule ${name}.`);
  }
  await writeAudit(deps.db, {
    key: `review-schedule:${name}:${randomUUID()}`,
    actorAccountId: actor.id,
    actor: actorOf(actor.id),
    action: 'review_schedule.deleted',
    subjectType: 'access_review_schedule',
    subjectId: name,
    unitCode: input.scopeUnitCode,
  });
  return { name, deleted: true as const };
}

function scheduleUnreachable(error: unknown): Problem {
  if (error instanceof Problem) return error;
  return unavailable('The workflow service is not reachable; try again shortly.');
}

// The console's pages of person reviews (after a transfer or a change of duties).

export interface PersonReviewListItem {
  id: string;
  name: string;
  cause: string | null;
  scopeUnitCode: string;
  dueAt: Date;
  undecided: number;
  subject: { username: string; name: string } | null;
}

/**
 * The running person reviews with items waiting for the actor's units, soonest due first:
 * `limit + 1` rows after `after`, for the caller to page.
 */
export async function listPersonReviews(
  deps: ServiceDeps,
  actor: Actor,
  query: { limit: number; after?: { dueAt: string; id: string } | undefined },
): Promise<PersonReviewListItem[]> {
  const { db } = deps;
  const { limit, after } = query;
  const rows = await db
    .select({
      id: accessReviews.id,
      name: accessReviews.name,
      cause: accessReviews.cause,
      scopeUnitCode: accessReviews.scopeUnitCode,
      dueAt: accessReviews.dueAt,
      undecided: count(),
      username: accounts.username,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
    })
    .from(accessReviews)
    .innerJoin(accessReviewItems, eq(accessReviewItems.reviewId, accessReviews.id))
    .leftJoin(accounts, eq(accounts.id, accessReviews.subjectAccountId))
    .where(
      and(
        eq(accessReviews.kind, 'person'),
        eq(accessReviews.status, 'running'),
        isNull(accessReviewItems.decision),
        eq(accessReviewItems.autoApplied, false),
        visibleTo(actor),
        after ? sql`(${accessReviews.dueAt}, ${accessReviews.id}) > (${new Date(after.dueAt)}, ${after.id})` : undefined,
      ),
    )
    .groupBy(accessReviews.id, accounts.id)
    .orderBy(asc(accessReviews.dueAt), asc(accessReviews.id))
    .limit(limit + 1);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    cause: r.cause,
    scopeUnitCode: r.scopeUnitCode,
    dueAt: r.dueAt,
    undecided: r.undecided,
    subject: r.username ? { username: r.username, name: `${r.firstNameTh} ${r.lastNameTh}` } : null,
  }));
}

/** One review as its reviewer decides it: the review, whose rights they are, and the items the actor reviews (up to 200). */
export async function reviewToDecide(deps: ServiceDeps, actor: Actor, id: string) {
  const review = await viewReview(deps, actor, id);
  const [subject] = review.subjectAccountId
    ? await deps.db
        .select({ username: accounts.username, firstNameTh: accounts.firstNameTh, lastNameTh: accounts.lastNameTh, unitCode: accounts.unitCode })
        .from(accounts)
        .where(eq(accounts.id, review.subjectAccountId))
    : [];
  const items = await listReviewItems(deps, actor, id, { limit: 200 });
  return {
    review,
    items: items.slice(0, 200),
    subject: subject ? { username: subject.username, name: `${subject.firstNameTh} ${subject.lastNameTh}`, unitCode: subject.unitCode } : null,
  };
}

// The console's pages of campaigns (issue 12): the list, the preview before a start, the progress
// per unit, the reviewer's items grouped by person, a page of decisions at once, the report.

export interface CampaignListItem {
  id: string;
  name: string;
  status: Review['status'];
  scopeUnitCode: string;
  scopeNameTh: string | null;
  dueAt: Date;
  onNoDecision: ReviewRule;
  createdAt: Date;
  /** The items the actor sees (all of them for an admin of the scope or above). */
  items: number;
  decided: number;
}

/** Items the actor sees, as SQL over the review in `reviewId` (a correlated count). */
const visibleItemsSql = (actor: Actor, reviewId: SQL | typeof accessReviews.id, extra: SQL = sql`true`) =>
  actor.central
    ? sql<number>`(select count(*) from access_review_items i where i.review_id = ${reviewId} and ${extra})`.mapWith(Number)
    : actor.adminUnits.length === 0
      ? sql<number>`0`.mapWith(Number)
      : sql<number>`(select count(*) from access_review_items i where i.review_id = ${reviewId} and ${extra}
          and (i.reviewer_unit_code in ${subtreeSql(actor.adminUnits)} or ${accessReviews.scopeUnitCode} in ${subtreeSql(actor.adminUnits)}))`.mapWith(Number);

/**
 * The campaigns over the actor's units (every one for DLA central) and those with items the actor
 * reviews, newest first: `limit + 1` rows after `after`, for the caller to page.
 */
export async function listCampaigns(
  deps: ServiceDeps,
  actor: Actor,
  query: { limit: number; after?: { createdAt: string; id: string } | undefined },
): Promise<CampaignListItem[]> {
  const { limit, after } = query;
  const mine = actor.central
    ? undefined
    : actor.adminUnits.length === 0
      ? sql`false`
      : sql`(${accessReviews.scopeUnitCode} in ${subtreeSql(actor.adminUnits)} or exists (select 1 from access_review_items i
          where i.review_id = ${accessReviews.id} and i.reviewer_unit_code in ${subtreeSql(actor.adminUnits)}))`;
  const rows = await deps.db
    .select({
      id: accessReviews.id,
      name: accessReviews.name,
      status: accessReviews.status,
      scopeUnitCode: accessReviews.scopeUnitCode,
      scopeNameTh: orgUnits.nameTh,
      dueAt: accessReviews.dueAt,
      onNoDecision: accessReviews.onNoDecision,
      createdAt: accessReviews.createdAt,
      items: visibleItemsSql(actor, accessReviews.id),
      decided: visibleItemsSql(actor, accessReviews.id, sql`(i.decision is not null or i.auto_applied)`),
    })
    .from(accessReviews)
    .leftJoin(orgUnits, eq(orgUnits.code, accessReviews.scopeUnitCode))
    .where(
      and(
        eq(accessReviews.kind, 'campaign'),
        mine,
        after ? sql`(${accessReviews.createdAt}, ${accessReviews.id}) < (${new Date(after.createdAt)}, ${after.id})` : undefined,
      ),
    )
    .orderBy(desc(accessReviews.createdAt), desc(accessReviews.id))
    .limit(limit + 1);
  return rows;
}

/** The units where the actor may start campaigns, with their children (the scopes a start form offers). */
export async function campaignScopes(deps: ServiceDeps, actor: Actor): Promise<{ code: string; nameTh: string; level: 0 | 1 }[]> {
  const { db } = deps;
  const tops = actor.central
    ? await db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).where(isNull(orgUnits.parentCode)).orderBy(asc(orgUnits.code))
    : actor.adminUnits.length === 0
      ? []
      : await db
          .select({ code: orgUnits.code, nameTh: orgUnits.nameTh })
          .from(orgUnits)
          .where(and(inArray(orgUnits.code, actor.adminUnits), eq(orgUnits.kind, 'province_office')))
          .orderBy(asc(orgUnits.code));
  const scopes: { code: string; nameTh: string; level: 0 | 1 }[] = [];
  for (const top of tops) {
    scopes.push({ ...top, level: 0 });
    const children = await db
      .select({ code: orgUnits.code, nameTh: orgUnits.nameTh })
      .from(orgUnits)
      .where(eq(orgUnits.parentCode, top.code))
      .orderBy(asc(orgUnits.code));
    scopes.push(...children.map((c) => ({ ...c, level: 1 as const })));
  }
  return scopes;
}

/** What a campaign over the unit would cover now: the same rights `materializeCampaign` takes in. */
export async function previewCampaign(deps: ServiceDeps, actor: Actor, scopeUnitCode: string) {
  const { db } = deps;
  await requireCampaignScope(deps, actor, scopeUnitCode);
  const [unit] = await db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, scopeUnitCode));
  const [units] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from ${subtreeSql([scopeUnitCode])} s`));
  const [covered] = rowsOf<{ units: number; people: number; rights: number; systems: number }>(
    await db.execute(sql`
      select count(distinct e.unit_code)::int as units, count(distinct e.account_id)::int as people,
             count(*)::int as rights, count(distinct e.system_code)::int as systems
      from entitlements e join accounts a on a.id = e.account_id
      where e.status = 'active' and a.status = 'active' and e.unit_code in ${subtreeSql([scopeUnitCode])}`),
  );
  return {
    unit: unit!,
    units: units?.n ?? 0,
    unitsWithRights: covered?.units ?? 0,
    people: covered?.people ?? 0,
    rights: covered?.rights ?? 0,
    systems: covered?.systems ?? 0,
  };
}

/**
 * A campaign as its page shows it: the review and its totals (viewReview's rules), whether the actor
 * may cancel it and see its report, and the progress per unit (the units the actor sees), `limit + 1`
 * units after `afterUnit`.
 */
export async function campaignProgress(deps: ServiceDeps, actor: Actor, id: string, page: { limit: number; afterUnit?: string | undefined }) {
  const { db } = deps;
  const review = await viewReview(deps, actor, id);
  if (review.kind !== 'campaign') throw notFound('There is no such campaign.');
  const managesScope = await mayActFor(db, actor, review.scopeUnitCode);
  const mayCancel =
    review.status === 'running' &&
    (await requireCampaignScope(deps, actor, review.scopeUnitCode).then(
      () => true,
      () => false,
    )) &&
    (actor.central || !(await startedByCentral(deps, (await findReview(deps, id)).createdBy).catch(() => true)));
  const units = await db
    .select({ unitCode: accessReviewItems.unitCode, nameTh: orgUnits.nameTh, ...totalsOf() })
    .from(accessReviewItems)
    .leftJoin(orgUnits, eq(orgUnits.code, accessReviewItems.unitCode))
    .where(
      and(
        eq(accessReviewItems.reviewId, review.id),
        managesScope ? undefined : visibleTo(actor),
        page.afterUnit ? gt(accessReviewItems.unitCode, page.afterUnit) : undefined,
      ),
    )
    .groupBy(accessReviewItems.unitCode, orgUnits.nameTh)
    .orderBy(asc(accessReviewItems.unitCode))
    .limit(page.limit + 1);
  const [mine] = await db
    .select({ undecided: count() })
    .from(accessReviewItems)
    .where(
      and(
        eq(accessReviewItems.reviewId, review.id),
        visibleTo(actor),
        isNull(accessReviewItems.decision),
        eq(accessReviewItems.autoApplied, false),
        sql`${accessReviewItems.accountId} <> ${actor.id}`,
      ),
    );
  return { review, managesScope, mayCancel, units, undecidedForMe: mine?.undecided ?? 0 };
}

export interface ReviewerItem {
  id: string;
  accountId: string;
  username: string;
  name: string;
  position: string | null;
  system: string;
  systemName: string | null;
  role: string;
  unitCode: string;
  decision: 'keep' | 'revoke' | null;
  justification: string | null;
  decidedAt: Date | null;
  autoApplied: boolean;
  lastSignInAt: Date | null;
}

/**
 * The items the actor reviews, by person (each person's items together, in the order of their account
 * ids, which the items hold: a page sorts the unit's items without joining every person), `limit + 1`
 * after `after`, for the caller to page. The actor's own rights are never among them (the unit above
 * reviews those).
 */
export async function reviewerItems(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  query: { undecided?: boolean | undefined; system?: string | undefined; limit: number; after?: { accountId: string; id: string } | undefined },
) {
  const { db } = deps;
  const review = await findReview(deps, id);
  // viewReview's rule, without its totals over the whole review (a reviewer's page needs none).
  const [visible] = await db
    .select({ id: accessReviewItems.id })
    .from(accessReviewItems)
    .where(and(eq(accessReviewItems.reviewId, review.id), visibleTo(actor)))
    .limit(1);
  if (!visible && !(await mayActFor(db, actor, review.scopeUnitCode))) throw forbidden('This review is not about your units.');
  const { undecided, system, limit, after } = query;
  const rows = await db
    .select({
      id: accessReviewItems.id,
      accountId: accessReviewItems.accountId,
      username: accounts.username,
      firstNameTh: accounts.firstNameTh,
      lastNameTh: accounts.lastNameTh,
      position: accounts.position,
      system: accessReviewItems.systemCode,
      systemName: systems.nameTh,
      role: accessReviewItems.role,
      unitCode: accessReviewItems.unitCode,
      decision: accessReviewItems.decision,
      justification: accessReviewItems.justification,
      decidedAt: accessReviewItems.decidedAt,
      autoApplied: accessReviewItems.autoApplied,
      lastSignInAt: sql<Date | null>`(select max(s.at) from sign_in_events s where s.account_id = ${accessReviewItems.accountId})`.mapWith((v) =>
        v === null ? null : new Date(v as string),
      ),
    })
    .from(accessReviewItems)
    .innerJoin(accounts, eq(accounts.id, accessReviewItems.accountId))
    .leftJoin(systems, eq(systems.code, accessReviewItems.systemCode))
    .where(
      and(
        eq(accessReviewItems.reviewId, review.id),
        visibleTo(actor),
        sql`${accessReviewItems.accountId} <> ${actor.id}`,
        undecided ? and(isNull(accessReviewItems.decision), eq(accessReviewItems.autoApplied, false)) : undefined,
        system ? eq(accessReviewItems.systemCode, system) : undefined,
        after ? sql`(${accessReviewItems.accountId}, ${accessReviewItems.id}) > (${after.accountId}, ${after.id})` : undefined,
      ),
    )
    .orderBy(asc(accessReviewItems.accountId), asc(accessReviewItems.id))
    .limit(limit + 1);
  const systemCodes = await db
    .selectDistinct({ code: accessReviewItems.systemCode })
    .from(accessReviewItems)
    .where(and(eq(accessReviewItems.reviewId, review.id), visibleTo(actor)))
    .orderBy(asc(accessReviewItems.systemCode));
  const open = review.status === 'running' && review.dueAt.getTime() > Date.now();
  const items: ReviewerItem[] = rows.map(({ firstNameTh, lastNameTh, ...r }) => ({ ...r, name: `${firstNameTh} ${lastNameTh}` }));
  return { review: { id: review.id, name: review.name, status: review.status, dueAt: review.dueAt }, open, items, systems: systemCodes.map((s) => s.code) };
}

/**
 * A page of decisions from the console, in one round trip: refused as a whole (403) when the actor
 * reviews nothing of this review; otherwise as `decideReviewItems`.
 */
export async function decideReviewPage(deps: ReviewDeps, actor: Actor, id: string, decisions: ReviewDecision[], log: Log) {
  await viewReview(deps, actor, id);
  if (decisions.length === 0) throw badRequest('ไม่ได้เลือกการตัดสินใจ / No decision was chosen.');
  return decideReviewItems(deps, actor, id, decisions, log);
}

/** The report as the page shows it: the totals, and `limit + 1` decisions after the entitlement `after` (the units: campaignProgress). */
export async function campaignReportPage(deps: ServiceDeps, actor: Actor, id: string, page: { limit: number; after?: string | undefined }) {
  const review = await reportableReview(deps, actor, id);
  const [totals] = await deps.db.select(totalsOf()).from(accessReviewItems).where(eq(accessReviewItems.reviewId, review.id));
  return {
    review: {
      id: review.id,
      name: review.name,
      status: review.status,
      dueAt: review.dueAt,
      onNoDecision: review.onNoDecision,
      scopeUnitCode: review.scopeUnitCode,
    },
    totals: totals!,
    decisions: await reportRows(deps, review, page.after, page.limit + 1),
  };
}
