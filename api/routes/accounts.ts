// Accounts: direct creation (migration from the old system, bootstrap) and reading one account.
import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { actorOf, writeAudit } from '../../db/audit.ts';
import type { Db } from '../../db/client.ts';
import { CONFLICT_MESSAGES, findIdentityConflict, isUniqueViolation } from '../../db/identity.ts';
import { accounts, entitlements, orgUnits } from '../../db/schema.ts';
import { isValidCitizenId, maskCitizenId } from '../../lib/citizen-id.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { conflict, forbidden, invalid, notFound } from '../problem.ts';
import { citizenId, email, password, thaiName, unitCode, username, uuidParam } from '../schemas.ts';

interface CreateAccountBody {
  username: string; password: string; citizenId: string; firstNameTh: string; lastNameTh: string; email: string; unitCode: string;
  firstNameEn?: string; lastNameEn?: string; phone?: string; position?: string;
}

export default async function accountRoutes(app: FastifyInstance) {
  const { db, cipher } = app.deps;

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
        await writeAudit(tx as unknown as Db, {
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
}
