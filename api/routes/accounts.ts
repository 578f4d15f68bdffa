// Accounts: direct creation (migration from the old system, bootstrap), finding and reading them,
// and an admin's suspension, reactivation and rights (services/accounts.ts).
import type { FastifyInstance } from 'fastify';
import { ACCOUNT_STATUSES, type AccountStatus } from '../../db/schema.ts';
import {
  createAccount,
  findAccounts,
  reactivateAccount,
  setEntitlements,
  suspendAccount,
  viewAccount,
  type NewAccount,
  type Right,
} from '../../services/accounts.ts';
import { problem } from '../responses.ts';
import {
  answer,
  citizenId,
  email,
  listQuery,
  nullableText,
  pageOf,
  password,
  readCursor,
  rightView,
  systemCode,
  text,
  thaiName,
  toPage,
  unitCode,
  username,
  uuid,
  uuidParam,
} from '../schemas.ts';

const summary = {
  id: uuid,
  username: text,
  status: { type: 'string', enum: [...ACCOUNT_STATUSES] },
  unitCode: nullableText,
  firstNameTh: text,
  lastNameTh: text,
  email: text,
  position: nullableText,
  citizenId: { type: ['string', 'null'], description: 'Masked: only the last digits show.' },
} as const;
const statusAnswer = { 200: answer({ id: uuid, status: { type: 'string', enum: [...ACCOUNT_STATUSES] } }), 404: problem('There is no such account.') } as const;

const reasonBody = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
} as const;

export default async function accountRoutes(app: FastifyInstance) {
  app.post<{ Body: NewAccount }>(
    '/accounts',
    {
      config: { scope: 'central' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        security: [{ bearer: [] }],
        description: 'DLA central admins only.',
        response: { 201: answer({ id: uuid }), 409: problem('The citizen ID or the username has an account already.') },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password', 'citizenId', 'firstNameTh', 'lastNameTh', 'email', 'unitCode'],
          properties: {
            username,
            password,
            citizenId,
            firstNameTh: thaiName,
            lastNameTh: thaiName,
            email,
            unitCode,
            firstNameEn: thaiName,
            lastNameEn: thaiName,
            phone: { type: 'string', maxLength: 30 },
            position: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (request, reply) => reply.status(201).send(await createAccount(app.deps, request.account!, request.body)),
  );

  app.get<{ Querystring: { unitCode?: string; status?: AccountStatus; citizenId?: string; limit: number; cursor?: string } }>(
    '/accounts',
    {
      config: { scope: 'admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        security: [{ bearer: [] }],
        description: 'Accounts of the units you administer (and below); `unitCode` narrows to a subtree, `citizenId` finds one person (by keyed hash).',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { unitCode, status: { type: 'string', enum: [...ACCOUNT_STATUSES] }, citizenId, ...listQuery },
        },
        response: { 200: pageOf(answer(summary)) },
      },
    },
    async (request) => {
      const { cursor, ...query } = request.query;
      const after = readCursor<{ username: string }>(cursor, { username: 'string' });
      const rows = await findAccounts(app.deps, request.account!, { ...query, afterUsername: after?.username });
      return toPage(
        rows,
        query.limit,
        (a) => a,
        (last) => ({ username: last.username }),
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/accounts/:id',
    {
      config: { scope: 'self-or-unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        response: { 200: answer({ ...summary, entitlements: { type: 'array', items: rightView } }), 404: problem('There is no such account.') },
      },
    },
    async (request) => viewAccount(app.deps, request.account!, request.params.id),
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/accounts/:id/suspend',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        body: reasonBody,
        description: 'Suspends the account at once: sign-in refused, every token revoked. Refused if it would leave DLA central without an active admin.',
        response: { ...statusAnswer, 409: problem('This is the last active DLA central admin.') },
      },
    },
    async (request) => suspendAccount(app.deps, request.account!, request.params.id, request.body),
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/accounts/:id/reactivate',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAccount,
      schema: { tags: ['accounts'], security: [{ bearer: [] }], params: uuidParam('id'), body: reasonBody, response: statusAnswer },
    },
    async (request) => reactivateAccount(app.deps, request.account!, request.params.id, request.body),
  );

  app.put<{ Params: { id: string }; Body: Right[] }>(
    '/accounts/:id/entitlements',
    {
      config: { scope: 'unit-admin' },
      preValidation: app.requireAccount,
      schema: {
        tags: ['accounts'],
        security: [{ bearer: [] }],
        params: uuidParam('id'),
        description: "Sets the account's active rights to exactly this list: new ones granted, missing ones revoked. Audited.",
        response: { 200: answer({ id: uuid, entitlements: { type: 'array', items: rightView } }), 404: problem('There is no such account.') },
        body: {
          type: 'array',
          maxItems: 100,
          items: {
            type: 'object',
            required: ['system', 'role', 'unitCode'],
            additionalProperties: false,
            properties: { system: systemCode, role: { type: 'string', minLength: 1, maxLength: 64 }, unitCode },
          },
        },
      },
    },
    async (request) => setEntitlements(app.deps, request.account!, request.params.id, request.body),
  );
}
