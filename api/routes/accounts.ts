// Accounts: direct creation (migration from the old system, bootstrap) and reading one account.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { actorOf, writeAudit } from '../../db/audit.ts';
import { CONFLICT_MESSAGES, findIdentityConflict, isUniqueViolation } from '../../db/identity.ts';
import { subtreeSql, wouldLeaveCentralWithoutAdmin } from '../../db/org-tree.ts';
import { endSignIns } from '../../db/sso-sessions.ts';
import { deliverSsoLogouts } from '../../lib/sso/backchannel-logout.ts';
import { ACCOUNT_STATUSES, accounts, entitlements, orgUnits, systems, type AccountStatus } from '../../db/schema.ts';
import { isValidCitizenId, maskCitizenId } from '../../lib/citizen-id.ts';
import { hashPassword } from '../../lib/passwords.ts';
import type { SignedInAccount } from '../plugins/auth.ts';
import { badRequest, conflict, forbidden, invalid, notFound, type FieldError } from '../../lib/problem.ts';
import { citizenId, email, listQuery, password, readCursor, systemCode, thaiName, toPage, unitCode, username, uuidParam } from '../schemas.ts';

interface CreateAccountBody {
  username: string; password: string; citizenId: string; firstNameTh: string; lastNameTh: string; email: string; unitCode: string;
  firstNameEn?: string; lastNameEn?: string; phone?: string; position?: string;
}

export default async function accountRoutes(app: FastifyInstance) {
  const { db, cipher, sso } = app.deps;

  app.post<{ Body: CreateAccountBody }>('/accounts', {
    preValidation: app.requireCentralAdmin,
    schema: {
      tags: ['accounts'], security: [{ bearer: [] }],
      body: {
        type: 'object', additionalProperties: false,
        required: ['username', 'password', 'citizenId', 'firstNameTh', 'lastNameTh', 'email', 'unitCode'],
        properties: {
          username, password, citizenId, firstNameTh: thaiName, lastNameTh: thaiName, email, unitCode,
          firstNameEn: thaiName, lastNameEn: thaiName, phone: { type: 'string', maxLength: 30 }, position: { type: 'string', maxLength: 200 },
        },
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    if (!isValidCitizenId(body.citizenId)) throw invalid('citizenId', 'citizenId has a wrong check digit');
    const [unit] = await db.select({ code: orgUnits.code }).from(orgUnits).where(eq(orgUnits.code, body.unitCode));
    if (!unit) throw invalid('unitCode', `unit ${body.unitCode} does not exist`);
    const citizenIdHash = cipher.lookupHash(body.citizenId);
    const clash = await findIdentityConflict(db, citizenIdHash, body.username);
    if (clash) throw conflict(CONFLICT_MESSAGES[clash]);
    const id = randomUUID();
    const passwordHash = await hashPassword(body.password);
    try {
      await db.transaction(async (tx) => {
        await tx.insert(accounts).values({
          id, username: body.username, passwordHash, citizenIdEnc: cipher.encrypt(body.citizenId), citizenIdHash,
          firstNameTh: body.firstNameTh, lastNameTh: body.lastNameTh, firstNameEn: body.firstNameEn ?? null, lastNameEn: body.lastNameEn ?? null,
          email: body.email, phone: body.phone ?? null, position: body.position ?? null, unitCode: body.unitCode,
        });
        await writeAudit(tx, {
          key: `account:${id}:created`, actorAccountId: request.account!.id, actor: actorOf(request.account!.id),
          action: 'account.created', subjectType: 'account', subjectId: id, unitCode: body.unitCode,
          reason: 'direct creation', after: { username: body.username, unitCode: body.unitCode },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('This citizen ID or username was registered a moment ago.');
      throw error;
    }
    return reply.status(201).send({ id });
  });

  app.get<{ Querystring: { unitCode?: string; status?: AccountStatus; citizenId?: string; limit: number; cursor?: string } }>('/accounts', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['accounts'], security: [{ bearer: [] }],
      description: 'Accounts of the units you administer (and below); `unitCode` narrows to a subtree, `citizenId` finds one person (by keyed hash).',
      querystring: { type: 'object', additionalProperties: false, properties: { unitCode, status: { type: 'string', enum: [...ACCOUNT_STATUSES] }, citizenId, ...listQuery } },
    },
  }, async (request) => {
    const me = request.account!;
    const { unitCode: unit, status, citizenId: wanted, limit } = request.query;
    if (unit && !(await app.mayActFor(me, unit))) throw forbidden(`You do not administer ${unit} or a unit above it.`);
    if (wanted && !isValidCitizenId(wanted)) throw invalid('citizenId', 'citizenId has a wrong check digit');
    const after = readCursor<{ username: string }>(request.query.cursor);
    const rows = await db.select().from(accounts).where(and(
      me.central ? undefined : sql`${accounts.unitCode} in ${subtreeSql(me.adminUnits)}`,
      unit ? sql`${accounts.unitCode} in ${subtreeSql([unit])}` : undefined,
      status ? eq(accounts.status, status) : undefined,
      wanted ? eq(accounts.citizenIdHash, cipher.lookupHash(wanted)) : undefined,
      after ? gt(accounts.username, after.username) : undefined,
    )).orderBy(asc(accounts.username)).limit(limit + 1);
    return toPage(rows, limit, (a) => ({
      id: a.id, username: a.username, status: a.status, unitCode: a.unitCode, firstNameTh: a.firstNameTh, lastNameTh: a.lastNameTh,
      email: a.email, position: a.position, citizenId: a.citizenIdEnc ? maskCitizenId(cipher.decrypt(a.citizenIdEnc)) : null,
    }), (last) => ({ username: last.username }));
  });

  app.get<{ Params: { id: string } }>('/accounts/:id', {
    preValidation: app.requireAccount,
    schema: { tags: ['accounts'], security: [{ bearer: [] }], params: uuidParam('id') },
  }, async (request) => {
    const [account] = await db.select().from(accounts).where(eq(accounts.id, request.params.id));
    const me = request.account!;
    const allowed = account && (account.id === me.id || (account.unitCode ? await app.mayActFor(me, account.unitCode) : me.central));
    if (!account) throw notFound('There is no such account.');
    if (!allowed) throw forbidden('Only the account itself and the SSO admins over its unit may see it.');
    const rights = await db.select().from(entitlements).where(eq(entitlements.accountId, account.id)).orderBy(asc(entitlements.systemCode), asc(entitlements.role));
    return {
      id: account.id, username: account.username, status: account.status, unitCode: account.unitCode,
      firstNameTh: account.firstNameTh, lastNameTh: account.lastNameTh, email: account.email, position: account.position,
      citizenId: account.citizenIdEnc ? maskCitizenId(cipher.decrypt(account.citizenIdEnc)) : null,
      entitlements: rights.map((e) => ({ system: e.systemCode, role: e.role, unitCode: e.unitCode, status: e.status })),
    };
  });

  const reasonBody = {
    type: 'object', required: ['reason'], additionalProperties: false,
    properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
  } as const;

  /** The account, if the signed-in admin administers its unit (and it is not their own). */
  async function administeredAccount(me: SignedInAccount, id: string) {
    const [account] = await db.select().from(accounts).where(eq(accounts.id, id));
    if (!account) throw notFound('There is no such account.');
    if (account.id === me.id) throw forbidden('Nobody changes their own access; ask an admin of your unit or above.');
    const inScope = account.unitCode ? await app.mayActFor(me, account.unitCode) : me.central;
    if (!inScope) throw forbidden('You are not an SSO admin of this account\'s unit or of a unit above it.');
    return account;
  }

  app.post<{ Params: { id: string }; Body: { reason: string } }>('/accounts/:id/suspend', {
    preValidation: app.requireAdmin,
    schema: { tags: ['accounts'], security: [{ bearer: [] }], params: uuidParam('id'), body: reasonBody,
      description: 'Suspends the account at once: sign-in refused, every token revoked. Refused if it would leave DLA central without an active admin.' },
  }, async (request) => {
    const me = request.account!;
    const account = await administeredAccount(me, request.params.id);
    if (account.status === 'suspended') return { id: account.id, status: account.status };
    await db.transaction(async (tx) => {
      
      if (await wouldLeaveCentralWithoutAdmin(tx, account.id)) {
        throw conflict('This is the last active DLA central admin: appoint another before suspending this one.');
      }
      await tx.update(accounts).set({ status: 'suspended', updatedAt: new Date() }).where(eq(accounts.id, account.id));
      await endSignIns(tx, account.id, `suspended by ${me.id}`);
      await writeAudit(tx, {
        key: `account:${account.id}:suspend:${request.id}`, actorAccountId: me.id, actor: actorOf(me.id), action: 'account.suspended',
        subjectType: 'account', subjectId: account.id, unitCode: account.unitCode, reason: request.body.reason,
        before: { status: account.status }, after: { status: 'suspended' },
      });
    });
    await deliverSsoLogouts(db, sso.logoutSigner, { accountId: account.id });
    return { id: account.id, status: 'suspended' };
  });

  app.post<{ Params: { id: string }; Body: { reason: string } }>('/accounts/:id/reactivate', {
    preValidation: app.requireAdmin,
    schema: { tags: ['accounts'], security: [{ bearer: [] }], params: uuidParam('id'), body: reasonBody },
  }, async (request) => {
    const me = request.account!;
    const account = await administeredAccount(me, request.params.id);
    if (account.status === 'active') return { id: account.id, status: account.status };
    await db.transaction(async (tx) => {
      await tx.update(accounts).set({ status: 'active', updatedAt: new Date() }).where(eq(accounts.id, account.id));
      await writeAudit(tx, {
        key: `account:${account.id}:reactivate:${request.id}`, actorAccountId: me.id, actor: actorOf(me.id), action: 'account.reactivated',
        subjectType: 'account', subjectId: account.id, unitCode: account.unitCode, reason: request.body.reason,
        before: { status: account.status }, after: { status: 'active' },
      });
    });
    return { id: account.id, status: 'active' };
  });

  app.put<{ Params: { id: string }; Body: { system: string; role: string; unitCode: string }[] }>('/accounts/:id/entitlements', {
    preValidation: app.requireAdmin,
    schema: {
      tags: ['accounts'], security: [{ bearer: [] }], params: uuidParam('id'),
      description: "Sets the account's active rights to exactly this list: new ones granted, missing ones revoked. Audited.",
      body: {
        type: 'array', maxItems: 100,
        items: { type: 'object', required: ['system', 'role', 'unitCode'], additionalProperties: false, properties: { system: systemCode, role: { type: 'string', minLength: 1, maxLength: 64 }, unitCode } },
      },
    },
  }, async (request) => {
    const me = request.account!;
    const account = await administeredAccount(me, request.params.id);
    const wanted = request.body;
    const known = wanted.length === 0 ? [] : await db.select().from(systems).where(inArray(systems.code, [...new Set(wanted.map((w) => w.system))]));
    const errors: FieldError[] = [];
    for (const [i, w] of wanted.entries()) {
      const system = known.find((k) => k.code === w.system);
      if (!system) errors.push({ path: `${i}.system`, message: `system ${w.system} is not a connected system` });
      else if (!system.roles.includes(w.role)) errors.push({ path: `${i}.role`, message: `${w.system} has no role ${w.role}` });
      else if (!(await app.mayActFor(me, w.unitCode))) errors.push({ path: `${i}.unitCode`, message: `you do not administer ${w.unitCode}` });
    }
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
    const same = (e: { systemCode: string; role: string; unitCode: string }, w: { system: string; role: string; unitCode: string }) =>
      e.systemCode === w.system && e.role === w.role && e.unitCode === w.unitCode;
    await db.transaction(async (tx) => {
      
      const current = await tx.select().from(entitlements).where(eq(entitlements.accountId, account.id));
      const view = (rows: typeof current) => rows.filter((e) => e.status !== 'revoked').map((e) => ({ system: e.systemCode, role: e.role, unitCode: e.unitCode, status: e.status }));
      for (const e of current) {
        if (e.status !== 'revoked' && !wanted.some((w) => same(e, w))) {
          await tx.update(entitlements).set({ status: 'revoked', updatedAt: new Date() }).where(eq(entitlements.id, e.id));
        }
      }
      for (const w of wanted) {
        await tx.insert(entitlements).values({ accountId: account.id, systemCode: w.system, role: w.role, unitCode: w.unitCode, status: 'active' })
          .onConflictDoUpdate({ target: [entitlements.accountId, entitlements.systemCode, entitlements.role, entitlements.unitCode], set: { status: 'active', updatedAt: new Date() } });
      }
      const after = await tx.select().from(entitlements).where(eq(entitlements.accountId, account.id));
      // A right taken away takes effect at every door now: the person's sign-ins end.
      const activeAfter = new Set(after.filter((e) => e.status === 'active').map((e) => e.id));
      if (current.some((e) => e.status === 'active' && !activeAfter.has(e.id))) await endSignIns(tx, account.id, `rights changed by ${me.id}`);
      await writeAudit(tx, {
        key: `account:${account.id}:entitlements:${request.id}`, actorAccountId: me.id, actor: actorOf(me.id), action: 'account.entitlements_set',
        subjectType: 'account', subjectId: account.id, unitCode: account.unitCode, before: view(current), after: view(after),
      });
    });
    await deliverSsoLogouts(db, sso.logoutSigner, { accountId: account.id });
    const rights = await db.select().from(entitlements).where(and(eq(entitlements.accountId, account.id), ne(entitlements.status, 'revoked')));
    return { id: account.id, entitlements: rights.map((e) => ({ system: e.systemCode, role: e.role, unitCode: e.unitCode, status: e.status })) };
  });
}
