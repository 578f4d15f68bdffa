// Registration requests (คำขอลงทะเบียนผู้ใช้งาน): the applicant submits and follows with a tracking
// code; the SSO admins who may act decide. Decisions, answers and withdrawals are Updates to the
// request's workflow; what the workflow no longer awaits is a 409.
import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, asc, eq, gt, ilike, inArray, isNull, or, sql } from 'drizzle-orm';
import { writeAudit } from '../db/audit.ts';
import { CONFLICT_MESSAGES, findIdentityConflict, isUniqueViolation, type IdentityConflict } from '../db/identity.ts';
import { findActingUnit, mayActFor, subtreeSql, withinScopeSql } from '../db/org-tree.ts';
import {
  accounts,
  documents,
  identityVerifications,
  notes,
  OPEN_REGISTRATION_STATUSES,
  orgUnits,
  personnelEvents,
  registrationEvents,
  registrations,
  systems,
  type RegistrationStatus,
  type RequestedAccess,
} from '../db/schema.ts';
import { isValidCitizenId, maskCitizenId } from '../lib/citizen-id.ts';
import { sha256Hex } from '../lib/crypto.ts';
import type { StagedDocument } from '../lib/document-store.ts';
import { enqueueMail, renderMail } from '../lib/mail.ts';
import { hashNewPassword } from '../lib/passwords.ts';
import { badRequest, conflict, forbidden, invalid, notFound, Problem, unauthorized, type FieldError } from '../lib/problem.ts';
import { verifiedFields, type VerifiedClaims } from '../lib/sso/thaiid.ts';
import type { RegistrationDecision } from '../workflows/registration.ts';
import type { Actor } from './actor.ts';
import type { ServiceDeps } from './deps.ts';
import {
  sendRegistrationDecision,
  sendRegistrationInfo,
  sendRegistrationSupersession,
  sendRegistrationWithdrawal,
  startOrTakeBack,
  startRegistration,
  submissionMailKey,
  updateWorkflow,
  type Log,
} from './workflows.ts';

/** What the applicant gives (the API's `data`, checked against its JSON schema). */
export interface RegistrationSubmission {
  citizenId: string;
  firstNameTh: string;
  lastNameTh: string;
  firstNameEn?: string;
  lastNameEn?: string;
  email: string;
  phone?: string;
  position: string;
  unitCode: string;
  username: string;
  password: string;
  requestedAccess: RequestedAccess[];
  /** The one-time token of an identity verified through ThaiID (GET /auth/thaiid, no account yet). */
  identityVerification?: string;
}

/** What the applicant may change when asked for information: only what changed, and a note. */
export type RegistrationInfo = Partial<
  Pick<RegistrationSubmission, 'firstNameTh' | 'lastNameTh' | 'firstNameEn' | 'lastNameEn' | 'email' | 'phone' | 'position' | 'requestedAccess'>
> & { note?: string };

/** An evidence document, its media type judged by its content; staged (encrypted) in the store until kept. */
export interface EvidenceDocument {
  fileName: string;
  mediaType: string;
  document: StagedDocument;
}

/** Who looks at a request: the applicant with the tracking code, or a signed-in admin. */
export interface RegistrationViewer {
  trackingCode?: string | undefined;
  actor?: Actor | null | undefined;
}

export type RegistrationDecisionInput = { decision: RegistrationDecision['decision']; reason?: string | undefined; access?: RequestedAccess[] | undefined };

/** Fields that come from ThaiD's verified claims and may not be edited. */
export const VERIFIED_FIELDS = ['citizenId', 'firstNameTh', 'lastNameTh', 'firstNameEn', 'lastNameEn'] as const;
const APPLICANT_EVENTS = new Set(['submitted', 'info_provided', 'withdrawn']);

/** Tracking codes people can read out on the phone: no 0/O or 1/I. */
const TRACKING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function newTrackingCode(): string {
  const chars = Array.from({ length: 16 }, () => TRACKING_ALPHABET[randomInt(TRACKING_ALPHABET.length)]);
  return chars.join('').replace(/(.{4})(?!$)/g, '$1-');
}
const trackingHash = (code: string) => sha256Hex(code.toUpperCase().replace(/[^A-Z0-9]/g, ''));

type RegistrationRow = typeof registrations.$inferSelect;

async function findRegistration(deps: ServiceDeps, id: string): Promise<RegistrationRow> {
  const [row] = await deps.db.select().from(registrations).where(eq(registrations.id, id));
  if (!row) throw notFound('There is no such registration request.');
  return row;
}

const trackingCodeMatches = (row: RegistrationRow, code: string) =>
  timingSafeEqual(Buffer.from(trackingHash(code), 'hex'), Buffer.from(row.trackingCodeHash, 'hex'));

/** The applicant (tracking code) or an admin who may act for the request's units. */
async function viewerOf(deps: ServiceDeps, viewer: RegistrationViewer, row: RegistrationRow): Promise<'applicant' | 'admin'> {
  if (viewer.trackingCode) {
    if (trackingCodeMatches(row, viewer.trackingCode)) return 'applicant';
    throw notFound('There is no such registration request, or the tracking code does not match.');
  }
  const actor = viewer.actor;
  if (!actor) throw unauthorized('Give the tracking code from the mail, or sign in as an SSO admin.');
  if ((await mayActFor(deps.db, actor, row.actingUnitCode)) || (await mayActFor(deps.db, actor, row.unitCode))) return 'admin';
  throw forbidden('You are not an SSO admin of this unit or of a unit above it.');
}

/** The request, for its applicant only (the tracking code). */
async function applicantsRequest(deps: ServiceDeps, trackingCode: string, id: string): Promise<RegistrationRow> {
  const row = await findRegistration(deps, id);
  if (!trackingCode) throw unauthorized('Give the tracking code from the mail.');
  await viewerOf(deps, { trackingCode }, row);
  return row;
}

/** The identity a ThaiID sign-in verified, by its one-time token: unused and not expired. */
async function verifiedIdentity(deps: ServiceDeps, token: string) {
  const tokenHash = sha256Hex(token);
  const [row] = await deps.db
    .select()
    .from(identityVerifications)
    .where(and(eq(identityVerifications.tokenHash, tokenHash), isNull(identityVerifications.usedAt), gt(identityVerifications.expiresAt, new Date())));
  if (!row) throw invalid('data.identityVerification', 'the ThaiID verification is unknown, used or expired: sign in with ThaiID again');
  const claims = JSON.parse(deps.cipher.decrypt(row.claimsEnc)) as VerifiedClaims;
  return { tokenHash, fields: verifiedFields(claims) };
}

/** Every requested system is connected and has the role. */
async function checkAccess(deps: ServiceDeps, access: RequestedAccess[], path: string): Promise<void> {
  if (access.length === 0) return;
  const known = await deps.db
    .select({ code: systems.code, roles: systems.roles })
    .from(systems)
    .where(inArray(systems.code, [...new Set(access.map((a) => a.system))]));
  const errors: FieldError[] = access.flatMap((a, i) => {
    const system = known.find((s) => s.code === a.system);
    if (!system) return [{ path: `${path}.${i}.system`, message: `system ${a.system} is not a connected system` }];
    if (!system.roles.includes(a.role))
      return [{ path: `${path}.${i}.role`, message: `${a.system} has no role ${a.role} (roles: ${system.roles.join(', ')})` }];
    return [];
  });
  if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
}

/**
 * The one answer, to anyone, when the citizen ID has an account or an open request: which of the two
 * it is would tell a stranger about the person. It names the way out for someone whose citizen ID
 * another used first.
 */
export const CITIZEN_ID_TAKEN =
  'เลขประจำตัวประชาชนนี้มีบัญชีผู้ใช้หรือคำขอลงทะเบียนที่ดำเนินการอยู่แล้ว: เข้าสู่ระบบ หรือติดตามคำขอด้วยรหัสติดตาม หากผู้อื่นยื่นคำขอด้วยเลขของท่าน ให้ลงทะเบียนด้วย ThaiID ' +
  '/ This citizen ID already has an account or a registration request in progress: sign in, or follow the request with its tracking code. ' +
  'If someone else applied with your citizen ID, register with ThaiID: a request verified through ThaiID replaces one that is not.';

/** A clash as the applicant hears it: the citizen ID's two cases as one. */
const refusal = (clash: IdentityConflict) => conflict(clash === 'username-taken' ? CONFLICT_MESSAGES[clash] : CITIZEN_ID_TAKEN);

/** The citizen ID's open request when it was not verified through ThaiID: a verified one may replace it. */
async function unverifiedOpenRequest(deps: ServiceDeps, citizenIdHash: string): Promise<string | undefined> {
  const [open] = await deps.db
    .select({ id: registrations.id })
    .from(registrations)
    .where(
      and(
        eq(registrations.citizenIdHash, citizenIdHash),
        inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
        eq(registrations.identityVerifiedBy, 'form'),
      ),
    );
  return open?.id;
}

/** Ends the unverified request (its workflow tells its applicant); a request that no longer awaits it still holds the citizen ID. */
async function supersede(deps: ServiceDeps, registrationId: string, log: Log): Promise<void> {
  try {
    await updateWorkflow(log, 'request', () => sendRegistrationSupersession(deps.workflows, registrationId));
  } catch (error) {
    if (error instanceof Problem && error.status === 409) throw conflict(CITIZEN_ID_TAKEN);
    throw error;
  }
}

async function storeDocuments(deps: ServiceDeps, files: EvidenceDocument[]) {
  return Promise.all(
    files.map(async (f) => ({ sha256: await deps.documentStore.keep(f.document), mediaType: f.mediaType, size: f.document.size, fileName: f.fileName })),
  );
}

/** A note an admin or applicant wrote, stored apart so that only its id enters the workflow. */
async function saveNote(deps: ServiceDeps, text: string | undefined): Promise<string | null> {
  if (!text?.trim()) return null;
  const id = randomUUID();
  await deps.db.insert(notes).values({ id, text: text.trim() });
  return id;
}

/** Sends an Update; when refused, the note written for it is taken back. */
async function sendWithNote<T>(deps: ServiceDeps, noteId: string | null, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (noteId) await deps.db.delete(notes).where(eq(notes.id, noteId));
    throw error;
  }
}

export async function submitRegistration(
  deps: ServiceDeps,
  data: RegistrationSubmission,
  files: EvidenceDocument[],
  log: Log,
): Promise<{ id: string; trackingCode: string; status: 'pending_approval' }> {
  const { db, config, cipher } = deps;
  const verification = data.identityVerification ? await verifiedIdentity(deps, data.identityVerification) : undefined;
  if (verification) {
    // Locked: what ThaiD returned. A name it did not return is the applicant's to give.
    const errors: FieldError[] = VERIFIED_FIELDS.filter(
      (f) => verification.fields[f] !== undefined && data[f] !== undefined && data[f] !== verification.fields[f],
    ).map((f) => ({ path: `data.${f}`, message: `${f} comes from ThaiID and cannot be edited` }));
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
    Object.assign(data, verification.fields);
    const missing: FieldError[] = (['firstNameTh', 'lastNameTh'] as const)
      .filter((f) => !data[f])
      .map((f) => ({ path: `data.${f}`, message: `${f} is required (ThaiID did not return it)` }));
    if (missing.length > 0) throw badRequest(missing.map((e) => e.message).join('; '), missing);
  }
  if (files.length < 1) throw invalid('documents', 'attach 1 to 5 evidence documents (PDF, JPEG or PNG)');
  if (!isValidCitizenId(data.citizenId)) throw invalid('data.citizenId', 'citizenId is not a valid Thai citizen ID (check digit)');
  const [unit] = await db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, data.unitCode));
  if (!unit) throw invalid('data.unitCode', `unit ${data.unitCode} does not exist`);
  await checkAccess(deps, data.requestedAccess, 'data.requestedAccess');
  const citizenIdHash = cipher.lookupHash(data.citizenId);
  let clash = await findIdentityConflict(db, citizenIdHash, data.username);
  // Submitting first with someone's citizen ID holds nothing: their ThaiID-verified request replaces it.
  const replaced = clash === 'citizen-has-open-request' && verification ? await unverifiedOpenRequest(deps, citizenIdHash) : undefined;
  if (replaced) clash = await findIdentityConflict(db, citizenIdHash, data.username, replaced);
  if (clash) throw refusal(clash);

  const id = randomUUID();
  const trackingCode = newTrackingCode();
  const passwordHash = await hashNewPassword(data.password, data.username, 'data.password');
  const stored = await storeDocuments(deps, files);
  const actingUnitCode = (await findActingUnit(db, data.unitCode, false)) ?? data.unitCode;
  if (replaced) await supersede(deps, replaced, log);
  const submittedAt = new Date();
  try {
    await db.transaction(async (tx) => {
      await tx.insert(registrations).values({
        id,
        trackingCodeHash: trackingHash(trackingCode),
        citizenIdEnc: cipher.encrypt(data.citizenId),
        citizenIdHash,
        firstNameTh: data.firstNameTh,
        lastNameTh: data.lastNameTh,
        firstNameEn: data.firstNameEn ?? null,
        lastNameEn: data.lastNameEn ?? null,
        email: data.email,
        phone: data.phone ?? null,
        position: data.position,
        unitCode: data.unitCode,
        username: data.username,
        passwordHash,
        requestedAccess: data.requestedAccess,
        status: 'pending_approval',
        actingUnitCode,
        submittedAt,
        identityVerifiedBy: verification ? 'thaiid' : 'form',
      });
      if (verification) {
        const used = await tx
          .update(identityVerifications)
          .set({ usedAt: new Date() })
          .where(and(eq(identityVerifications.tokenHash, verification.tokenHash), isNull(identityVerifications.usedAt)))
          .returning({ tokenHash: identityVerifications.tokenHash });
        if (used.length === 0) throw conflict('This ThaiID verification was used by another request at the same moment.');
      }
      await tx.insert(documents).values(stored.map((d) => ({ ...d, registrationId: id })));
      await tx.insert(registrationEvents).values({ registrationId: id, seq: 0, event: 'submitted', at: submittedAt, actingUnitCode });
      await writeAudit(tx, {
        key: `registration:${id}:0`,
        actor: 'applicant',
        action: 'registration.submitted',
        subjectType: 'registration',
        subjectId: id,
        unitCode: data.unitCode,
        after: { status: 'pending_approval', actingUnitCode, documents: stored.length, requestedAccess: data.requestedAccess },
      });
      // Queued with the request so the workflow can send it without the tracking code entering its history.
      await enqueueMail(tx, {
        key: submissionMailKey(id),
        template: 'registration-submitted',
        to: data.email,
        rendered: renderMail('registration-submitted', {
          firstNameTh: data.firstNameTh,
          lastNameTh: data.lastNameTh,
          unitNameTh: unit.nameTh,
          trackingCode,
          submittedAt: submittedAt.toISOString(),
          trackingUrl: `${config.publicUrl}/track/${id}`,
        }),
      });
    });
  } catch (error) {
    // Another submission won the race: answer as if it had come first.
    if (isUniqueViolation(error)) throw refusal((await findIdentityConflict(db, citizenIdHash, data.username)) ?? 'citizen-has-open-request');
    throw error;
  }
  await startOrTakeBack(
    log,
    'registration',
    () => startRegistration(deps.workflows, { registrationId: id, actingUnitCode }),
    async () => {
      await db.transaction(async (tx) => {
        await tx.delete(registrationEvents).where(eq(registrationEvents.registrationId, id));
        await tx.delete(documents).where(eq(documents.registrationId, id));
        await tx.delete(registrations).where(eq(registrations.id, id));
      });
    },
  );
  return { id, trackingCode, status: 'pending_approval' };
}

async function historyOf(deps: ServiceDeps, row: RegistrationRow) {
  const events = await deps.db
    .select({ event: registrationEvents, username: accounts.username })
    .from(registrationEvents)
    .leftJoin(accounts, eq(accounts.id, registrationEvents.actorAccountId))
    .where(eq(registrationEvents.registrationId, row.id))
    .orderBy(asc(registrationEvents.seq));
  return events.map(({ event: e, username: name }) => ({
    at: e.at.toISOString(),
    event: e.event,
    actor: name ?? (APPLICANT_EVENTS.has(e.event) ? 'applicant' : 'system'),
    note: e.note,
    ...(e.actingUnitCode ? { actingUnitCode: e.actingUnitCode } : {}),
  }));
}

async function unitNames(deps: ServiceDeps, codes: string[]): Promise<Map<string, string>> {
  const rows = await deps.db
    .select({ code: orgUnits.code, nameTh: orgUnits.nameTh })
    .from(orgUnits)
    .where(inArray(orgUnits.code, [...new Set(codes)]));
  return new Map(rows.map((r) => [r.code, r.nameTh]));
}

/** The request as its applicant sees it (tracking code) or an admin who may act for it (with what HR reported). */
export async function viewRegistration(deps: ServiceDeps, viewer: RegistrationViewer, id: string) {
  const { db, cipher } = deps;
  const row = await findRegistration(deps, id);
  const seenBy = await viewerOf(deps, viewer, row);
  const names = await unitNames(deps, [row.unitCode, row.actingUnitCode]);
  const base = {
    id: row.id,
    status: row.status,
    unitCode: row.unitCode,
    actingUnitCode: row.actingUnitCode,
    unitNameTh: names.get(row.unitCode) ?? row.unitCode,
    actingUnitNameTh: names.get(row.actingUnitCode) ?? row.actingUnitCode,
    submittedAt: row.submittedAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    history: await historyOf(deps, row),
  };
  const docs = await db
    .select({ id: documents.id, fileName: documents.fileName, mediaType: documents.mediaType, size: documents.size })
    .from(documents)
    .where(and(eq(documents.registrationId, row.id), isNull(documents.deletedAt)))
    .orderBy(asc(documents.uploadedAt));
  const applicant = {
    citizenId: maskCitizenId(cipher.decrypt(row.citizenIdEnc)),
    firstNameTh: row.firstNameTh,
    lastNameTh: row.lastNameTh,
    firstNameEn: row.firstNameEn,
    lastNameEn: row.lastNameEn,
    email: row.email,
    phone: row.phone,
    position: row.position,
    username: row.username,
    requestedAccess: row.requestedAccess,
    identityVerifiedBy: row.identityVerifiedBy,
  };
  if (seenBy === 'applicant') return { viewer: seenBy, ...base, applicant, documents: docs };
  // What HR reported about this person before they had an account, for the deciding admin.
  const hr = await db.select().from(personnelEvents).where(eq(personnelEvents.citizenIdHash, row.citizenIdHash)).orderBy(asc(personnelEvents.receivedAt));
  return {
    viewer: seenBy,
    ...base,
    applicant,
    documents: docs,
    accountId: row.accountId,
    personnelEvents: hr.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      effectiveDate: e.effectiveDate,
      toUnitCode: e.toUnitCode,
      newPosition: e.newPosition,
      status: e.status,
    })),
  };
}

export type RegistrationView = Awaited<ReturnType<typeof viewRegistration>>;

/** An evidence document of the request, for whoever may view the request; its stored (content-verified) media type. */
export async function openDocument(
  deps: ServiceDeps,
  viewer: RegistrationViewer,
  id: string,
  documentId: string,
): Promise<{ fileName: string; mediaType: string; content: Readable }> {
  const row = await findRegistration(deps, id);
  await viewerOf(deps, viewer, row);
  const [doc] = await deps.db
    .select()
    .from(documents)
    .where(and(eq(documents.id, documentId), eq(documents.registrationId, row.id), isNull(documents.deletedAt)));
  if (!doc) throw notFound('There is no such document (documents of closed requests are deleted after the retention period).');
  return { fileName: doc.fileName, mediaType: doc.mediaType, content: await deps.documentStore.open(doc.sha256) };
}

export interface RegistrationListQuery {
  status?: RegistrationStatus | undefined;
  unitCode?: string | undefined;
  /** Part of a name (Thai or English) or of the username. */
  search?: string | undefined;
  limit: number;
  /** Where the previous page ended. */
  after?: { t: string; id: string } | undefined;
}

/**
 * An admin's inbox, oldest first: requests waiting at the units they administer and below (escalated
 * ones included). Without `status`, the open ones. Returns up to `limit + 1` rows: one more tells
 * there is a next page.
 */
export async function listRegistrations(deps: ServiceDeps, actor: Actor, query: RegistrationListQuery) {
  const { db } = deps;
  if (!actor.central && actor.adminUnits.length === 0) throw forbidden('Only SSO admins may do this.');
  const { status, unitCode, search, limit, after } = query;
  if (unitCode && !(await mayActFor(db, actor, unitCode))) throw forbidden(`You do not administer ${unitCode} or a unit above it.`);
  const like = search?.trim() ? `%${search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
  const rows = await db
    .select({ registration: registrations, unitNameTh: orgUnits.nameTh })
    .from(registrations)
    .leftJoin(orgUnits, eq(orgUnits.code, registrations.unitCode))
    .where(
      and(
        status ? eq(registrations.status, status) : inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
        withinScopeSql(actor, registrations.actingUnitCode),
        unitCode ? sql`${registrations.unitCode} in ${subtreeSql([unitCode])}` : undefined,
        like
          ? or(
              ilike(registrations.firstNameTh, like),
              ilike(registrations.lastNameTh, like),
              ilike(registrations.firstNameEn, like),
              ilike(registrations.lastNameEn, like),
              ilike(registrations.username, like),
              ilike(sql`${registrations.firstNameTh} || ' ' || ${registrations.lastNameTh}`, like),
            )
          : undefined,
        after
          ? or(gt(registrations.submittedAt, new Date(after.t)), and(eq(registrations.submittedAt, new Date(after.t)), gt(registrations.id, after.id)))
          : undefined,
      ),
    )
    .orderBy(asc(registrations.submittedAt), asc(registrations.id))
    .limit(limit + 1);
  return rows.map(({ registration: r, unitNameTh }) => ({
    id: r.id,
    status: r.status,
    unitCode: r.unitCode,
    unitNameTh: unitNameTh ?? r.unitCode,
    actingUnitCode: r.actingUnitCode,
    submittedAt: r.submittedAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
    firstNameTh: r.firstNameTh,
    lastNameTh: r.lastNameTh,
    position: r.position,
    username: r.username,
    requestedAccess: r.requestedAccess,
  }));
}

export type RegistrationSummary = Awaited<ReturnType<typeof listRegistrations>>[number];

/**
 * An admin of the acting unit or above decides: approve (optionally with other access), reject or
 * ask for information (both with a reason). Nobody decides their own request.
 */
export async function decideRegistration(
  deps: ServiceDeps,
  actor: Actor,
  id: string,
  input: RegistrationDecisionInput,
  log: Log,
): Promise<{ status: RegistrationStatus }> {
  const row = await findRegistration(deps, id);
  if (!(await mayActFor(deps.db, actor, row.actingUnitCode))) {
    throw forbidden(`This request waits at ${row.actingUnitCode}; you are not an SSO admin of it or of a unit above it.`);
  }
  if (actor.citizenIdHash && actor.citizenIdHash === row.citizenIdHash) throw forbidden('Nobody decides their own request.');
  const { decision, reason, access } = input;
  if (decision !== 'approve' && !reason?.trim()) throw invalid('reason', 'reason is required unless approving');
  if (decision !== 'approve' && access) throw invalid('access', 'access goes only with an approval');
  if (access) await checkAccess(deps, access, 'access');
  const noteId = await saveNote(deps, reason);
  const payload: RegistrationDecision =
    decision === 'approve' ? { decision, actorAccountId: actor.id, noteId, access: access ?? null } : { decision, actorAccountId: actor.id, noteId: noteId! };
  const state = await sendWithNote(deps, noteId, () => updateWorkflow(log, 'request', () => sendRegistrationDecision(deps.workflows, row.id, payload)));
  return { status: state.status };
}

/**
 * The applicant answers a request for information: what changed, a note, more documents. Names
 * verified through ThaiID stay as ThaiD gave them.
 */
export async function provideRegistrationInfo(
  deps: ServiceDeps,
  trackingCode: string,
  id: string,
  data: RegistrationInfo,
  files: EvidenceDocument[],
  log: Log,
): Promise<{ id: string; status: RegistrationStatus }> {
  const row = await applicantsRequest(deps, trackingCode, id);
  if (row.status !== 'info_requested') throw conflict(`The request is ${row.status}; nothing was asked of you.`);
  // Only what differs from the request counts as a change (a form sends every field).
  const { note, requestedAccess: access, ...given } = data;
  const person = Object.fromEntries(Object.entries(given).filter(([f, v]) => v !== (row[f as keyof typeof given] ?? undefined))) as typeof given;
  const sameAccess =
    access !== undefined &&
    access.length === row.requestedAccess.length &&
    access.every((a) => row.requestedAccess.some((r) => r.system === a.system && r.role === a.role));
  const requestedAccess = sameAccess ? undefined : access;
  if (Object.keys(person).length === 0 && !requestedAccess && !note && files.length === 0)
    throw badRequest('Send what changed: data fields, a note or documents.');
  if (row.identityVerifiedBy === 'thaiid') {
    const errors: FieldError[] = VERIFIED_FIELDS.filter((f) => f !== 'citizenId' && person[f] !== undefined && person[f] !== row[f]).map((f) => ({
      path: `data.${f}`,
      message: `${f} comes from ThaiID and cannot be edited`,
    }));
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
  }
  if (requestedAccess) await checkAccess(deps, requestedAccess, 'data.requestedAccess');
  if (files.length > 5) throw invalid('documents', 'add up to 5 documents at a time');
  const stored = await storeDocuments(deps, files);
  const noteId = note ? randomUUID() : null;
  await deps.db.transaction(async (tx) => {
    if (noteId) await tx.insert(notes).values({ id: noteId, text: note! });
    const change = { ...person, ...(requestedAccess ? { requestedAccess } : {}) };
    if (Object.keys(change).length > 0) await tx.update(registrations).set(change).where(eq(registrations.id, row.id));
    if (stored.length > 0) await tx.insert(documents).values(stored.map((d) => ({ ...d, registrationId: row.id })));
  });
  const state = await updateWorkflow(log, 'request', () => sendRegistrationInfo(deps.workflows, row.id, { noteId }));
  return { id: row.id, status: state.status };
}

/** The applicant withdraws the request. */
export async function withdrawRegistration(deps: ServiceDeps, trackingCode: string, id: string, log: Log): Promise<{ id: string; status: RegistrationStatus }> {
  const row = await applicantsRequest(deps, trackingCode, id);
  const state = await updateWorkflow(log, 'request', () => sendRegistrationWithdrawal(deps.workflows, row.id));
  return { id: row.id, status: state.status };
}

/** The connected systems and their roles, for the forms that pick access (the applicant's answer, an approval). */
export async function accessChoices(deps: ServiceDeps): Promise<{ system: string; nameTh: string; role: string }[]> {
  const catalogue = await deps.db.select({ code: systems.code, nameTh: systems.nameTh, roles: systems.roles }).from(systems).orderBy(asc(systems.code));
  return catalogue.flatMap((s) => s.roles.map((role) => ({ system: s.code, nameTh: s.nameTh, role })));
}
