// Registration requests (คำขอลงทะเบียนผู้ใช้งาน): the applicant submits and follows with a tracking
// code; the SSO admins who may act decide. Decisions are Updates to the request's workflow.
import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { writeAudit } from '../../db/audit.ts';
import { CONFLICT_MESSAGES, findIdentityConflict, isUniqueViolation } from '../../db/identity.ts';
import { findActingUnit, subtreeSql } from '../../db/org-tree.ts';
import { verifiedFields, type VerifiedClaims } from '../../lib/sso/thaiid.ts';
import {
  accounts, documents, identityVerifications, notes, OPEN_REGISTRATION_STATUSES, orgUnits, personnelEvents, REGISTRATION_STATUSES, registrationEvents, registrations,
  systems, type RegistrationStatus, type RequestedAccess,
} from '../../db/schema.ts';
import { enqueueMail, renderMail } from '../../lib/mail.ts';
import { isValidCitizenId, maskCitizenId } from '../../lib/citizen-id.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { startOrTakeBack, startRegistration, submissionMailKey as submissionMailKeyOf, updateWorkflow } from '../../services/workflows.ts';
import {
  decideRegistration, provideRegistrationInfo, registrationWorkflowId, withdrawRegistration,
  type RegistrationDecision, type RegistrationState,
} from '../../workflows/registration.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { badRequest, conflict, forbidden, invalid, notFound, unauthorized, type FieldError } from '../../lib/problem.ts';
import { throttle } from '../throttle.ts';
import { readUpload, validator, type UploadedFile } from '../uploads.ts';
import {
  accessList, citizenId, email, listQuery, password, readCursor, thaiName, toPage, unitCode, username, uuidParam,
} from '../schemas.ts';

const DOCUMENT_TYPES = ['application/pdf', 'image/jpeg', 'image/png'] as const;
const APPLICANT_EVENTS = new Set(['submitted', 'info_provided', 'withdrawn']);

interface SubmissionData {
  citizenId: string; firstNameTh: string; lastNameTh: string; firstNameEn?: string; lastNameEn?: string;
  email: string; phone?: string; position: string; unitCode: string; username: string; password: string;
  requestedAccess: RequestedAccess[];
  /** The one-time token of an identity verified through ThaiID (GET /auth/thaiid, no account yet). */
  identityVerification?: string;
}

const personFields = {
  firstNameTh: thaiName, lastNameTh: thaiName, firstNameEn: thaiName, lastNameEn: thaiName, email,
  phone: { type: 'string', maxLength: 30, pattern: '^[0-9+() -]*$' }, position: { type: 'string', minLength: 1, maxLength: 200 },
  requestedAccess: accessList,
} as const;

const readSubmission = validator<SubmissionData>({
  type: 'object', additionalProperties: false,
  required: ['email', 'position', 'unitCode', 'username', 'password', 'requestedAccess'],
  properties: { ...personFields, citizenId, unitCode, username, password, identityVerification: { type: 'string', minLength: 20, maxLength: 200 } },
  // Verified through ThaiID, the citizen ID and names come from ThaiD's claims instead.
  if: { not: { required: ['identityVerification'] } },
  then: { required: ['citizenId', 'firstNameTh', 'lastNameTh'] },
});

/** Fields that come from ThaiD's verified claims and may not be edited. */
const VERIFIED_FIELDS = ['citizenId', 'firstNameTh', 'lastNameTh', 'firstNameEn', 'lastNameEn'] as const;

type InfoData = Partial<Omit<SubmissionData, 'citizenId' | 'unitCode' | 'username' | 'password'>> & { note?: string };
const readInfo = validator<InfoData>({
  type: 'object', additionalProperties: false,
  properties: { ...personFields, note: { type: 'string', minLength: 1, maxLength: 2000 } },
});

/** Tracking codes people can read out on the phone: no 0/O or 1/I. */
const TRACKING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function newTrackingCode(): string {
  const chars = Array.from({ length: 16 }, () => TRACKING_ALPHABET[randomInt(TRACKING_ALPHABET.length)]);
  return chars.join('').replace(/(.{4})(?!$)/g, '$1-');
}
const trackingHash = (code: string) => sha256Hex(code.toUpperCase().replace(/[^A-Z0-9]/g, ''));

type RegistrationRow = typeof registrations.$inferSelect;

export default async function registrationRoutes(app: FastifyInstance) {
  const { db, config, cipher, documentStore, temporal } = app.deps;

  async function findRegistration(id: string): Promise<RegistrationRow> {
    const [row] = await db.select().from(registrations).where(eq(registrations.id, id));
    if (!row) throw notFound('There is no such registration request.');
    return row;
  }

  /** The applicant (X-Tracking-Code) or an admin who may act for the request's units. */
  async function viewerOf(request: FastifyRequest, row: RegistrationRow): Promise<'applicant' | 'admin'> {
    const code = request.headers['x-tracking-code'];
    if (typeof code === 'string' && code.length > 0) {
      const given = Buffer.from(trackingHash(code), 'hex');
      if (timingSafeEqual(given, Buffer.from(row.trackingCodeHash, 'hex'))) return 'applicant';
      throw notFound('There is no such registration request, or the tracking code does not match.');
    }
    if (!request.account) throw unauthorized('Send the tracking code (X-Tracking-Code) or sign in as an SSO admin.');
    if (await app.mayActFor(request.account, row.actingUnitCode) || await app.mayActFor(request.account, row.unitCode)) return 'admin';
    throw forbidden('You are not an SSO admin of this unit or of a unit above it.');
  }

  async function requireApplicant(request: FastifyRequest, row: RegistrationRow) {
    if (typeof request.headers['x-tracking-code'] !== 'string') throw unauthorized('Send the tracking code in X-Tracking-Code.');
    await viewerOf(request, row);
  }

  /** The identity a ThaiID sign-in verified, by its one-time token: unused and not expired. */
  async function verifiedIdentity(token: string) {
    const tokenHash = sha256Hex(token);
    const [row] = await db.select().from(identityVerifications).where(and(
      eq(identityVerifications.tokenHash, tokenHash), isNull(identityVerifications.usedAt), gt(identityVerifications.expiresAt, new Date())));
    if (!row) throw invalid('data.identityVerification', 'the ThaiID verification is unknown, used or expired: sign in with ThaiID again');
    const claims = JSON.parse(cipher.decrypt(row.claimsEnc)) as VerifiedClaims;
    return { tokenHash, fields: verifiedFields(claims) };
  }

  async function checkAccess(access: RequestedAccess[], path: string): Promise<void> {
    if (access.length === 0) return;
    const known = await db.select({ code: systems.code, roles: systems.roles }).from(systems)
      .where(inArray(systems.code, [...new Set(access.map((a) => a.system))]));
    const errors: FieldError[] = access.flatMap((a, i) => {
      const system = known.find((s) => s.code === a.system);
      if (!system) return [{ path: `${path}.${i}.system`, message: `system ${a.system} is not a connected system` }];
      if (!system.roles.includes(a.role)) return [{ path: `${path}.${i}.role`, message: `${a.system} has no role ${a.role} (roles: ${system.roles.join(', ')})` }];
      return [];
    });
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
  }

  async function storeDocuments(files: UploadedFile[]) {
    return Promise.all(files.map(async (f) => ({ sha256: await documentStore.put(f.content), mediaType: f.mediaType, size: f.content.length, fileName: f.fileName })));
  }

  async function historyOf(row: RegistrationRow) {
    const events = await db.select({ event: registrationEvents, username: accounts.username }).from(registrationEvents)
      .leftJoin(accounts, eq(accounts.id, registrationEvents.actorAccountId))
      .where(eq(registrationEvents.registrationId, row.id)).orderBy(asc(registrationEvents.seq));
    return events.map(({ event: e, username: name }) => ({
      at: e.at.toISOString(), event: e.event,
      actor: name ?? (APPLICANT_EVENTS.has(e.event) ? 'applicant' : 'system'),
      note: e.note, ...(e.actingUnitCode ? { actingUnitCode: e.actingUnitCode } : {}),
    }));
  }

  app.post('/registrations', {
    onRequest: throttle(app, 'register-address', config.rateLimits.submissionsPerAddress, (r) => r.ip),
    schema: {
      tags: ['registration'], consumes: ['multipart/form-data'],
      description: 'No sign-in needed. Multipart: `data` (JSON: citizenId, firstNameTh, lastNameTh, firstNameEn?, lastNameEn?, email, phone?, position, unitCode, username, password, requestedAccess[{system, role}]) and 1–5 files named `documents` (PDF, JPEG or PNG, ≤ 10 MB each).',
      response: { 202: { type: 'object', properties: { id: { type: 'string' }, trackingCode: { type: 'string' }, status: { type: 'string' } } } },
    },
  }, async (request, reply) => {
    const upload = await readUpload(request, DOCUMENT_TYPES, 'documents');
    if (upload.data === undefined) throw invalid('data', 'data is required: the request as JSON');
    const data = readSubmission(upload.data);
    const verification = data.identityVerification ? await verifiedIdentity(data.identityVerification) : undefined;
    if (verification) {
      // Locked: what ThaiD returned. A name it did not return is the applicant's to give.
      const errors: FieldError[] = VERIFIED_FIELDS.filter((f) => verification.fields[f] !== undefined && data[f] !== undefined && data[f] !== verification.fields[f])
        .map((f) => ({ path: `data.${f}`, message: `${f} comes from ThaiID and cannot be edited` }));
      if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
      Object.assign(data, verification.fields);
      const missing: FieldError[] = (['firstNameTh', 'lastNameTh'] as const).filter((f) => !data[f])
        .map((f) => ({ path: `data.${f}`, message: `${f} is required (ThaiID did not return it)` }));
      if (missing.length > 0) throw badRequest(missing.map((e) => e.message).join('; '), missing);
    }
    if (upload.files.length < 1) throw invalid('documents', 'attach 1 to 5 evidence documents (PDF, JPEG or PNG)');
    if (!isValidCitizenId(data.citizenId)) throw invalid('data.citizenId', 'citizenId is not a valid Thai citizen ID (check digit)');
    const [unit] = await db.select({ code: orgUnits.code, nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, data.unitCode));
    if (!unit) throw invalid('data.unitCode', `unit ${data.unitCode} does not exist`);
    await checkAccess(data.requestedAccess, 'data.requestedAccess');
    const citizenIdHash = cipher.lookupHash(data.citizenId);
    const clash = await findIdentityConflict(db, citizenIdHash, data.username);
    if (clash) throw conflict(CONFLICT_MESSAGES[clash]);

    const id = randomUUID();
    const trackingCode = newTrackingCode();
    const passwordHash = await hashPassword(data.password);
    const stored = await storeDocuments(upload.files);
    const actingUnitCode = (await findActingUnit(db, data.unitCode, false)) ?? data.unitCode;
    const submittedAt = new Date();
    const submissionMailKey = submissionMailKeyOf(id);
    try {
      await db.transaction(async (tx) => {
        
        await tx.insert(registrations).values({
          id, trackingCodeHash: trackingHash(trackingCode), citizenIdEnc: cipher.encrypt(data.citizenId), citizenIdHash,
          firstNameTh: data.firstNameTh, lastNameTh: data.lastNameTh, firstNameEn: data.firstNameEn ?? null, lastNameEn: data.lastNameEn ?? null,
          email: data.email, phone: data.phone ?? null, position: data.position, unitCode: data.unitCode, username: data.username,
          passwordHash, requestedAccess: data.requestedAccess, status: 'pending_approval', actingUnitCode, submittedAt,
          identityVerifiedBy: verification ? 'thaiid' : 'form',
        });
        if (verification) {
          const used = await tx.update(identityVerifications).set({ usedAt: new Date() })
            .where(and(eq(identityVerifications.tokenHash, verification.tokenHash), isNull(identityVerifications.usedAt))).returning({ tokenHash: identityVerifications.tokenHash });
          if (used.length === 0) throw conflict('This ThaiID verification was used by another request at the same moment.');
        }
        await tx.insert(documents).values(stored.map((d) => ({ ...d, registrationId: id })));
        await tx.insert(registrationEvents).values({ registrationId: id, seq: 0, event: 'submitted', at: submittedAt, actingUnitCode });
        await writeAudit(tx, {
          key: `registration:${id}:0`, actor: 'applicant', action: 'registration.submitted', subjectType: 'registration', subjectId: id,
          unitCode: data.unitCode, after: { status: 'pending_approval', actingUnitCode, documents: stored.length, requestedAccess: data.requestedAccess },
        });
        // Queued with the request so the workflow can send it without the tracking code entering its history.
        await enqueueMail(tx, {
          key: submissionMailKey, template: 'registration-submitted', to: data.email,
          rendered: renderMail('registration-submitted', {
            firstNameTh: data.firstNameTh, lastNameTh: data.lastNameTh, unitNameTh: unit.nameTh, trackingCode,
            submittedAt: submittedAt.toISOString(), trackingUrl: `${config.publicUrl}/track/${id}`,
          }),
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('This citizen ID or username has a request in progress already.');
      throw error;
    }
    await startOrTakeBack(request.log, 'registration', () => startRegistration(app.deps.workflows, { registrationId: id, actingUnitCode }), async () => {
      await db.transaction(async (tx) => {
        await tx.delete(registrationEvents).where(eq(registrationEvents.registrationId, id));
        await tx.delete(documents).where(eq(documents.registrationId, id));
        await tx.delete(registrations).where(eq(registrations.id, id));
      });
    });
    return reply.status(202).send({ id, trackingCode, status: 'pending_approval' });
  });

  app.get<{ Params: { id: string } }>('/registrations/:id', {
    schema: { tags: ['registration'], params: uuidParam('id'), description: 'The applicant (header X-Tracking-Code) or an admin who may act for the unit.' },
  }, async (request) => {
    const row = await findRegistration(request.params.id);
    const viewer = await viewerOf(request, row);
    const base = {
      id: row.id, status: row.status, unitCode: row.unitCode, actingUnitCode: row.actingUnitCode,
      submittedAt: row.submittedAt.toISOString(), decidedAt: row.decidedAt?.toISOString() ?? null,
      history: await historyOf(row),
    };
    const docs = await db.select({ id: documents.id, fileName: documents.fileName, mediaType: documents.mediaType, size: documents.size })
      .from(documents).where(and(eq(documents.registrationId, row.id), isNull(documents.deletedAt)));
    const applicant = {
      citizenId: maskCitizenId(cipher.decrypt(row.citizenIdEnc)), firstNameTh: row.firstNameTh, lastNameTh: row.lastNameTh,
      firstNameEn: row.firstNameEn, lastNameEn: row.lastNameEn, email: row.email, phone: row.phone, position: row.position,
      username: row.username, requestedAccess: row.requestedAccess, identityVerifiedBy: row.identityVerifiedBy,
    };
    if (viewer === 'applicant') return { ...base, applicant, documents: docs };
    // What HR reported about this person before they had an account, for the deciding admin.
    const hr = await db.select().from(personnelEvents).where(eq(personnelEvents.citizenIdHash, row.citizenIdHash)).orderBy(asc(personnelEvents.receivedAt));
    return {
      ...base, applicant, documents: docs, accountId: row.accountId,
      personnelEvents: hr.map((e) => ({ eventId: e.eventId, type: e.type, effectiveDate: e.effectiveDate, toUnitCode: e.toUnitCode, newPosition: e.newPosition, status: e.status })),
    };
  });

  app.get<{ Params: { id: string; documentId: string } }>('/registrations/:id/documents/:documentId', {
    schema: { tags: ['registration'], params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, documentId: { type: 'string', format: 'uuid' } } } },
  }, async (request, reply) => {
    const row = await findRegistration(request.params.id);
    await viewerOf(request, row);
    const [doc] = await db.select().from(documents).where(and(
      eq(documents.id, request.params.documentId), eq(documents.registrationId, row.id), isNull(documents.deletedAt)));
    if (!doc) throw notFound('There is no such document (documents of closed requests are deleted after the retention period).');
    const safeName = doc.fileName.replace(/[^\w.\- ]/g, '_');
    return reply.type(doc.mediaType).header('content-disposition', `attachment; filename="${safeName}"`)
      .header('x-content-type-options', 'nosniff').send(documentStore.open(doc.sha256));
  });

  app.get<{ Querystring: { status?: RegistrationStatus; unitCode?: string; limit: number; cursor?: string } }>('/registrations', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['registration'], security: [{ bearer: [] }],
      description: "An admin's inbox: requests waiting at the units they administer and below (escalated ones included). Without `status`, the open ones.",
      querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: [...REGISTRATION_STATUSES] }, unitCode, ...listQuery } },
    },
  }, async (request) => {
    const me = request.account!;
    const { status, unitCode: unitFilter, limit } = request.query;
    if (unitFilter && !(await app.mayActFor(me, unitFilter))) throw forbidden(`You do not administer ${unitFilter} or a unit above it.`);
    const after = readCursor<{ t: string; id: string }>(request.query.cursor);
    const rows = await db.select().from(registrations).where(and(
      status ? eq(registrations.status, status) : inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
      me.central ? undefined : sql`${registrations.actingUnitCode} in ${subtreeSql(me.adminUnits)}`,
      unitFilter ? sql`${registrations.unitCode} in ${subtreeSql([unitFilter])}` : undefined,
      after ? or(gt(registrations.submittedAt, new Date(after.t)), and(eq(registrations.submittedAt, new Date(after.t)), gt(registrations.id, after.id))) : undefined,
    )).orderBy(asc(registrations.submittedAt), asc(registrations.id)).limit(limit + 1);
    return toPage(rows, limit, (r) => ({
      id: r.id, status: r.status, unitCode: r.unitCode, actingUnitCode: r.actingUnitCode, submittedAt: r.submittedAt.toISOString(),
      decidedAt: r.decidedAt?.toISOString() ?? null, firstNameTh: r.firstNameTh, lastNameTh: r.lastNameTh, position: r.position,
      username: r.username, requestedAccess: r.requestedAccess,
    }), (last) => ({ t: last.submittedAt.toISOString(), id: last.id }));
  });

  app.post<{ Params: { id: string }; Body: { decision: RegistrationDecision['decision']; reason?: string; access?: RequestedAccess[] } }>('/registrations/:id/decision', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['registration'], security: [{ bearer: [] }], params: uuidParam('id'),
      body: {
        type: 'object', required: ['decision'], additionalProperties: false,
        properties: {
          decision: { type: 'string', enum: ['approve', 'reject', 'request_info'] },
          reason: { type: 'string', minLength: 1, maxLength: 2000 },
          access: accessList,
        },
      },
    },
  }, async (request) => {
    const me: SignedInAccount = request.account!;
    const row = await findRegistration(request.params.id);
    if (!(await app.mayActFor(me, row.actingUnitCode))) {
      throw forbidden(`This request waits at ${row.actingUnitCode}; you are not an SSO admin of it or of a unit above it.`);
    }
    if (me.citizenIdHash && me.citizenIdHash === row.citizenIdHash) throw forbidden('Nobody decides their own request.');
    const { decision, reason, access } = request.body;
    if (decision !== 'approve' && !reason?.trim()) throw invalid('reason', 'reason is required unless approving');
    if (decision !== 'approve' && access) throw invalid('access', 'access goes only with an approval');
    if (access) await checkAccess(access, 'access');
    const noteId = reason?.trim() ? randomUUID() : null;
    if (noteId) await db.insert(notes).values({ id: noteId, text: reason!.trim() });
    const payload: RegistrationDecision = decision === 'approve'
      ? { decision, actorAccountId: me.id, noteId, access: access ?? null }
      : { decision, actorAccountId: me.id, noteId: noteId! };
    try {
      const state = await updateWorkflow(request.log, 'request', () => temporal.workflow.getHandle(registrationWorkflowId(row.id))
        .executeUpdate(decideRegistration, { args: [payload] }));
      return { status: state.status };
    } catch (error) {
      if (noteId) await db.delete(notes).where(eq(notes.id, noteId)); // refused: leave nothing behind
      throw error;
    }
  });

  app.post<{ Params: { id: string } }>('/registrations/:id/info', {
    schema: {
      tags: ['registration'], params: uuidParam('id'), consumes: ['multipart/form-data'],
      description: 'The applicant (X-Tracking-Code) answers a request for information: multipart like the submission, with only what changed (and optionally `note`), and up to 5 more `documents`.',
    },
  }, async (request, reply) => {
    const row = await findRegistration(request.params.id);
    await requireApplicant(request, row);
    if (row.status !== 'info_requested') throw conflict(`The request is ${row.status}; nothing was asked of you.`);
    const upload = await readUpload(request, DOCUMENT_TYPES, 'documents');
    const data = upload.data === undefined ? {} : readInfo(upload.data);
    const { note, requestedAccess, ...person } = data;
    if (Object.keys(data).length === 0 && upload.files.length === 0) throw badRequest('Send what changed: data fields, a note or documents.');
    if (requestedAccess) await checkAccess(requestedAccess, 'data.requestedAccess');
    const stored = await storeDocuments(upload.files);
    const noteId = note ? randomUUID() : null;
    await db.transaction(async (tx) => {
      if (noteId) await tx.insert(notes).values({ id: noteId, text: note! });
      const change = { ...person, ...(requestedAccess ? { requestedAccess } : {}) };
      if (Object.keys(change).length > 0) await tx.update(registrations).set(change).where(eq(registrations.id, row.id));
      if (stored.length > 0) await tx.insert(documents).values(stored.map((d) => ({ ...d, registrationId: row.id })));
    });
    const state: RegistrationState = await updateWorkflow(request.log, 'request', () => temporal.workflow.getHandle(registrationWorkflowId(row.id))
      .executeUpdate(provideRegistrationInfo, { args: [{ noteId }] }));
    return reply.status(202).send({ id: row.id, status: state.status });
  });

  app.post<{ Params: { id: string } }>('/registrations/:id/withdraw', {
    schema: { tags: ['registration'], params: uuidParam('id'), description: 'The applicant (X-Tracking-Code) withdraws the request.' },
  }, async (request) => {
    const row = await findRegistration(request.params.id);
    await requireApplicant(request, row);
    const state = await updateWorkflow(request.log, 'request', () => temporal.workflow.getHandle(registrationWorkflowId(row.id))
      .executeUpdate(withdrawRegistration, { args: [] }));
    return { id: row.id, status: state.status };
  });
}
