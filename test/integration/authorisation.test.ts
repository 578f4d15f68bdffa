// The authorisation matrix (issue 13), generated from the app's route table: every route declares who
// may call it (`config: { scope }`, the rules named in api/scope.ts), and every operation is sent by seven
// callers about a subject in a seeded tree — anonymous, the person themselves, an SSO admin of the
// subject's unit, of the unit above it, of a unit below it, of a sibling unit, and DLA central — and
// must be let through or refused as its scope says. A route without a scope, or without a request
// here, fails the first test with its name. Actions that change something get a subject of their own
// for each caller, so the matrix runs in any order.
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/client.ts';
import { accounts } from '../../db/schema.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { SCOPES, type Scope } from '../../api/scope.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const HR_SECRET = 'authorisation-matrix-secret';
const ACTORS = ['anonymous', 'self', 'own', 'parent', 'child', 'sibling', 'central'] as const;
type ActorKind = (typeof ACTORS)[number];
const ADMINS = ['own', 'parent', 'child', 'sibling', 'central'] as const;

/**
 * What each scope means for the seven callers, the subject being in unit D (a district office):
 * own = D's admin, parent = its province office's, child = an LAO's under D, sibling = the other district's.
 */
const ALLOWED: Record<Scope, readonly ActorKind[]> = {
  public: ACTORS,
  credentials: ACTORS,
  operator: ACTORS, // the test calls from loopback
  'signed-in': ['self', ...ADMINS],
  applicant: ['self'],
  'applicant-or-unit-admin': ['self', 'own', 'parent', 'central'],
  'self-or-unit-admin': ['self', 'own', 'parent', 'central'],
  'unit-member-or-admin-above': ['self', 'own', 'parent', 'central'],
  'unit-admin': ['own', 'parent', 'central'],
  admin: ADMINS,
  approver: ['parent', 'central'],
  'campaign-runner': ['parent', 'central'],
  central: ['central'],
  'hr-feed': ['own', 'parent', 'central'],
};

/**
 * Routes the matrix leaves out, and why: libraries own them and no rule of ours applies.
 * The OpenID Connect provider (oidc-provider) answers /oidc/* and its discovery document by the OAuth
 * rules (client authentication, PKCE, its own sessions), tested in sso.test.ts; the ThaiD stand-in is a
 * second provider of the same kind standing for DOPA's; /docs is @fastify/swagger-ui's copy of /openapi.json.
 */
const EXCLUDED = [/^\/oidc\/\*$/, /^\/\.well-known\/openid-configuration$/, /^\/thaid-standin\/\*$/, /^\/docs(\/|$)/];

let h: Harness;
let D: string; // the subject's unit
let tree: Awaited<ReturnType<Harness['seedTree']>>;

interface Person {
  id: string;
  username: string;
  password: string;
  citizenId: string;
  token?: string;
}

/** A browser: cookies, and the CSRF token of a page for its forms. */
class Browser {
  jar = new Map<string, string>();
  cookie = () => [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }
  async get(path: string) {
    const res = await fetch(h.baseUrl + path, { headers: { cookie: this.cookie() }, redirect: 'manual' });
    this.keep(res);
    return res;
  }
  async csrf(from = '/login') {
    const html = await (await this.get(from)).text();
    return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  }
  async send(path: string, method: string, form: Record<string, string | Blob>, multipart: boolean) {
    const fields: Record<string, string | Blob> = { _csrf: await this.csrf(), ...form };
    let body: FormData | URLSearchParams;
    if (multipart) {
      body = new FormData();
      for (const [k, v] of Object.entries(fields))
        if (v instanceof Blob) body.append(k, v, `${k}.${v.type === 'text/csv' ? 'csv' : 'pdf'}`);
        else body.append(k, v);
    } else body = new URLSearchParams(fields as Record<string, string>);
    const res = await fetch(h.baseUrl + path, { method, redirect: 'manual', headers: { cookie: this.cookie() }, body });
    this.keep(res);
    return res;
  }
  static async signedIn(person: { username: string; password: string }) {
    const b = new Browser();
    const res = await b.send('/login', 'POST', { username: person.username, password: person.password }, false);
    if (res.status !== 303) throw new Error(`sign-in of ${person.username}: ${res.status}`);
    return b;
  }
}

/** One caller: its token for the API, its browser for the pages. */
interface Caller {
  kind: ActorKind;
  token?: string;
  browser: Browser;
  person?: Person;
  /** The applicant's tracking code, when the caller is the applicant. */
  trackingCode?: string;
}

/** What to send: JSON, a multipart upload or a page's form (with the browser's CSRF token and cookies). */
interface Call {
  method: string;
  path: string;
  json?: unknown;
  body?: string | FormData;
  headers?: Record<string, string>;
  /** A page: sent by the caller's browser. */
  form?: Record<string, string | Blob>;
  multipart?: boolean;
}

interface Operation<S = any> {
  /** The subject, made fresh for each caller when the action changes it. */
  subject?: (kind: ActorKind) => Promise<S>;
  /** Who "the person themselves" is for this subject (default: a staff member of D). */
  self?: (s: S) => Promise<Partial<Caller>>;
  call: (s: S, who: Caller) => Call | Promise<Call>;
  /** An answer that is a refusal although its status is not (a batch's rejected rows). */
  refusedWhen?: (status: number, body: any) => boolean;
  /** Statuses that say the caller got through to the state of things (a second survey answer: 409). */
  through?: number[];
  /** For a list: whether the answer shows the subject; it must for the admins over the subject's unit only. */
  shows?: (body: any) => boolean;
  /** An answer that shows the caller got through although its status says no (a wrong code from a signed-in caller). */
  allowedWhen?: (status: number, body: any) => boolean;
}

const api = (method: string, path: string, rest: Omit<Call, 'method' | 'path'> = {}): Call => ({ method, path: `/api/v1${path}`, ...rest });
const page = (method: string, path: string, form?: Record<string, string | Blob>, multipart = false): Call => ({
  method,
  path,
  ...(method === 'GET' ? {} : { form: form ?? {}, multipart }),
});

// ——— subjects ———
const central = () => h.central.token;
let passwordHash: string; // one hash for every account made here (hashing is the slow part of making one)
const PASSWORD = 'matrix-password-1';
/** A staff member of the unit, written directly (POST /accounts is itself in the matrix). */
async function person(unitCode = D): Promise<Person> {
  const p = { id: randomUUID(), username: uniqueName('mx'), password: PASSWORD, citizenId: randomCitizenId() };
  await h.resources.database.db.insert(accounts).values({
    id: p.id,
    username: p.username,
    passwordHash,
    citizenIdEnc: h.resources.cipher.encrypt(p.citizenId),
    citizenIdHash: h.resources.cipher.lookupHash(p.citizenId),
    firstNameTh: 'ทดสอบ',
    lastNameTh: 'สิทธิ์',
    email: `${p.username}@lao.test`,
    unitCode,
  });
  return p;
}
async function withToken(p: Person): Promise<Person> {
  p.token ??= await h.login(p.username, p.password);
  return p;
}
async function ok(res: Promise<{ status: number; body: any }>, what: string, statuses = [200, 201, 202, 204]) {
  const r = await res;
  if (!statuses.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
const pdf = () => new Blob([new Uint8Array(PDF)], { type: 'application/pdf' });
const csv = (text: string) => new Blob([text], { type: 'text/csv' });

async function registration(state: 'pending' | 'info_requested' = 'pending') {
  const r = await h.submitRegistration({ unitCode: D });
  if (r.status !== 202) throw new Error(`registration: ${r.status} ${JSON.stringify(r.body)}`);
  const view = await ok(h.request('GET', `/api/v1/registrations/${r.body.id}`, { token: central() }), 'registration view');
  if (state === 'info_requested') {
    await ok(
      h.request('POST', `/api/v1/registrations/${r.body.id}/decision`, { token: central(), json: { decision: 'request_info', reason: 'matrix' } }),
      'request info',
    );
  }
  return { id: r.body.id as string, trackingCode: r.body.trackingCode as string, documentId: view.documents[0].id as string, username: r.username };
}
const applicant = (r: { trackingCode: string }) => Promise.resolve({ trackingCode: r.trackingCode });

/** An appointment of a staff member of D as its admin, submitted by D's admin: it awaits the province office. */
async function appointment(approved = false) {
  const appointee = await person();
  const form = new FormData();
  form.append('data', JSON.stringify({ accountId: appointee.id }));
  form.append('letter', pdf(), 'letter.pdf');
  const res = await ok(h.request('POST', `/api/v1/org-units/${D}/admin-appointments`, { token: callers.own.token, body: form }), 'appointment');
  if (approved) {
    await ok(
      h.request('POST', `/api/v1/admin-appointments/${res.id}/decision`, { token: callers.parent.token, json: { decision: 'approve' } }),
      'approve appointment',
    );
  }
  return { id: res.id as string, appointee };
}
const appointee = async (a: { appointee: Person }) => ({ person: await withToken(a.appointee), token: a.appointee.token });

/** A campaign over D started by the province office's admin, with `rights` staff of D holding INFO viewer there. */
async function campaign(rights = 0) {
  const holders = await Promise.all(Array.from({ length: rights }, () => person()));
  await Promise.all(
    holders.map((p) =>
      ok(h.request('PUT', `/api/v1/accounts/${p.id}/entitlements`, { token: central(), json: [{ system: 'INFO', role: 'viewer', unitCode: D }] }), 'right'),
    ),
  );
  const res = await ok(
    h.request('POST', '/api/v1/access-reviews', {
      token: callers.parent.token,
      json: { name: uniqueName('mx'), scopeUnitCode: D, durationDays: 7, onNoDecision: 'keep' },
    }),
    'campaign',
  );
  return { id: res.id as string, holders };
}
/** The items of a campaign (once its workflow has listed them), by account. */
async function itemsOf(campaignId: string, accounts: string[]): Promise<Map<string, string>> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const rows = rowsOf<{ id: string; account: string }>(
      await h.resources.database.db.execute(
        sql`select id, account_id as account from access_review_items where review_id = ${campaignId} and account_id in ${accounts}`,
      ),
    );
    if (rows.length === accounts.length) return new Map(rows.map((r) => [r.account, r.id]));
  }
  throw new Error(`campaign ${campaignId} listed no items`);
}
async function schedule() {
  const name = uniqueName('mx');
  await ok(
    h.request('PUT', `/api/v1/access-review-schedules/${name}`, {
      token: callers.parent.token,
      json: { cron: '0 9 1 1 *', scopeUnitCode: D, durationDays: 7, onNoDecision: 'keep' },
    }),
    'schedule',
  );
  return name;
}
const inDays = (n: number) => new Date(Date.now() + 7 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);
function hrSigned(payload: string) {
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'x-hr-timestamp': ts, 'x-hr-signature': `sha256=${createHmac('sha256', HR_SECRET).update(`${ts}.${payload}`).digest('hex')}` };
}
/** A person review of a right of a staff member of D, opened by a change of duties. */
async function personReview() {
  const p = await person();
  await ok(h.request('PUT', `/api/v1/accounts/${p.id}/entitlements`, { token: central(), json: [{ system: 'INFO', role: 'viewer', unitCode: D }] }), 'right');
  const body = JSON.stringify({
    events: [{ eventId: `mx-${randomUUID()}`, type: 'role_change', citizenId: p.citizenId, effectiveDate: inDays(0), newPosition: 'นักทดสอบ' }],
  });
  await ok(h.request('POST', '/api/v1/personnel-events', { body, headers: { 'content-type': 'application/json', ...hrSigned(body) } }), 'role change');
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const [row] = rowsOf<{ id: string; item: string }>(
      await h.resources.database.db.execute(sql`select r.id, i.id as item
      from access_reviews r join access_review_items i on i.review_id = r.id where r.subject_account_id = ${p.id}`),
    );
    if (row) return { ...row, person: p };
  }
  throw new Error('the change of duties opened no person review');
}

// ——— the callers ———
const callers = {} as Record<ActorKind, Caller>;
let staff: Person; // "the person themselves" where the subject is not a person
/** Spare admins (and staff) for the actions that end the caller's own sign-ins: one per such operation. */
const spares = {} as Record<ActorKind, Person[]>;
const SPARES = 3;
async function spareCaller(kind: ActorKind): Promise<Caller> {
  if (kind === 'anonymous') return { kind, browser: new Browser() };
  const p = await withToken(spares[kind].pop()!);
  return { kind, person: p, token: p.token, browser: await Browser.signedIn(p) };
}
/** A second sign-in of the caller (a sign-out ends only that one). */
async function secondSignIn(c: Caller): Promise<Caller> {
  if (!c.person) return { kind: c.kind, browser: new Browser() };
  return { ...c, token: await h.login(c.person.username, c.person.password), browser: await Browser.signedIn(c.person) };
}

// ——— every operation, by route ———
const OPERATIONS: Record<string, Operation> = {
  // health, documents, assets
  'GET /health/live': { call: () => page('GET', '/health/live') },
  'GET /health/ready': { call: () => page('GET', '/health/ready') },
  'GET /metrics': { call: () => page('GET', '/metrics') },
  'GET /openapi.json': { call: () => page('GET', '/openapi.json') },
  'GET /assets/:name': { call: () => page('GET', '/assets/site.css') },

  // sign-in and passwords (API)
  'POST /api/v1/auth/login': { subject: () => person(), call: (p) => api('POST', '/auth/login', { json: { username: p.username, password: p.password } }) },
  'POST /api/v1/auth/mfa/totp': {
    subject: () => person(),
    call: (p) => api('POST', '/auth/mfa/totp', { json: { username: p.username, password: p.password } }),
  },
  'POST /api/v1/auth/mfa/totp/confirm': {
    subject: () => person(),
    call: (p) => api('POST', '/auth/mfa/totp/confirm', { json: { username: p.username, password: p.password, otp: '000000' } }),
  },
  'POST /api/v1/auth/mfa/confirm': {
    call: () => api('POST', '/auth/mfa/confirm', { json: { otp: '000000' } }),
    allowedWhen: (status, body) => status === 401 && body.mfa === 'required', // the code's answer, not the caller's
  },
  'POST /api/v1/auth/logout': { subject: async () => undefined, call: () => api('POST', '/auth/logout') },
  'POST /api/v1/me/password': {
    call: (_s, who) => api('POST', '/me/password', { json: { currentPassword: who.person?.password ?? 'x', newPassword: `Matrix-${randomUUID()}` } }),
  },
  'POST /api/v1/auth/password-reset': { call: () => api('POST', '/auth/password-reset', { json: { username: staff.username } }) },
  'POST /api/v1/auth/password-reset/confirm': {
    call: () => api('POST', '/auth/password-reset/confirm', { json: { token: 'not-a-token', newPassword: `Matrix-${randomUUID()}` } }),
  },
  'POST /api/v1/accounts/:id/password-reset': {
    subject: () => person(),
    call: (p) => api('POST', `/accounts/${p.id}/password-reset`, { json: { reason: 'matrix' } }),
  },
  'POST /api/v1/accounts/:id/mfa-reset': {
    subject: () => person(),
    self: async (p) => ({ person: await withToken(p), token: p.token }),
    call: (p) => api('POST', `/accounts/${p.id}/mfa-reset`, { json: { reason: 'matrix' } }),
  },
  'POST /api/v1/accounts/:id/unlock': { subject: () => person(), call: (p) => api('POST', `/accounts/${p.id}/unlock`, { json: { reason: 'matrix' } }) },

  // the tree and the catalogue
  'PUT /api/v1/org-units': {
    call: () => api('PUT', '/org-units', { json: [{ code: uniqueName('MX').toUpperCase(), parentCode: D, kind: 'sao', nameTh: 'อบต.ทดสอบ' }] }),
  },
  'GET /api/v1/org-units/:code': { call: () => api('GET', `/org-units/${D}`) },
  'PUT /api/v1/org-units/:code/admins': {
    // A unit of its own (the call replaces the unit's admins).
    subject: async () => {
      const code = uniqueName('MX').toUpperCase();
      await ok(h.request('PUT', '/api/v1/org-units', { token: central(), json: [{ code, parentCode: D, kind: 'sao', nameTh: 'อบต.ทดสอบ' }] }), 'unit');
      return { code, admin: await person(code) };
    },
    call: (u) => api('PUT', `/org-units/${u.code}/admins`, { json: [{ accountId: u.admin.id }] }),
  },
  'PUT /api/v1/systems/:code': {
    call: () => api('PUT', `/systems/${uniqueName('MX').toUpperCase()}`, { json: { nameTh: 'ระบบทดสอบ', url: 'https://mx.example', roles: ['viewer'] } }),
  },
  'GET /api/v1/systems': { call: () => api('GET', '/systems') },

  // accounts
  'POST /api/v1/accounts': {
    call: () => {
      const username = uniqueName('mx');
      return api('POST', '/accounts', {
        json: {
          username,
          password: 'matrix-password-1',
          citizenId: randomCitizenId(),
          firstNameTh: 'ทดสอบ',
          lastNameTh: 'สิทธิ์',
          email: `${username}@lao.test`,
          unitCode: D,
        },
      });
    },
  },
  'GET /api/v1/accounts': { call: () => api('GET', `/accounts?citizenId=${staff.citizenId}`), shows: (body) => body.items.length > 0 },
  'GET /api/v1/accounts/:id': {
    subject: () => person(),
    self: async (p) => ({ person: await withToken(p), token: p.token }),
    call: (p) => api('GET', `/accounts/${p.id}`),
  },
  'POST /api/v1/accounts/:id/suspend': {
    subject: () => person(),
    self: async (p) => ({ person: await withToken(p), token: p.token }),
    call: (p) => api('POST', `/accounts/${p.id}/suspend`, { json: { reason: 'matrix' } }),
  },
  'POST /api/v1/accounts/:id/reactivate': {
    subject: async () => {
      const p = await person();
      await ok(h.request('POST', `/api/v1/accounts/${p.id}/suspend`, { token: central(), json: { reason: 'matrix' } }), 'suspend');
      return p;
    },
    call: (p) => api('POST', `/accounts/${p.id}/reactivate`, { json: { reason: 'matrix' } }),
  },
  'PUT /api/v1/accounts/:id/entitlements': {
    subject: () => person(),
    self: async (p) => ({ person: await withToken(p), token: p.token }),
    call: (p) => api('PUT', `/accounts/${p.id}/entitlements`, { json: [{ system: 'INFO', role: 'viewer', unitCode: D }] }),
  },

  // registrations
  'POST /api/v1/registrations': {
    call: () => {
      const username = uniqueName('mx');
      const form = new FormData();
      form.append(
        'data',
        JSON.stringify({
          citizenId: randomCitizenId(),
          firstNameTh: 'สมหญิง',
          lastNameTh: 'รักงาน',
          email: `${username}@lao.test`,
          position: 'นักวิชาการ',
          unitCode: D,
          username,
          password: 'applicant-password-1',
          requestedAccess: [],
        }),
      );
      form.append('documents', pdf(), 'appointment.pdf');
      return api('POST', '/registrations', { body: form });
    },
  },
  'GET /api/v1/registrations/:id': {
    subject: () => registration(),
    self: applicant,
    call: (r, who) => api('GET', `/registrations/${r.id}`, { headers: who.trackingCode ? { 'x-tracking-code': who.trackingCode } : {} }),
  },
  'GET /api/v1/registrations/:id/documents/:documentId': {
    subject: () => registration(),
    self: applicant,
    call: (r, who) =>
      api('GET', `/registrations/${r.id}/documents/${r.documentId}`, { headers: who.trackingCode ? { 'x-tracking-code': who.trackingCode } : {} }),
  },
  'GET /api/v1/registrations': {
    subject: () => shared.registration,
    call: (r) => api('GET', `/registrations?search=${r.username}`),
    shows: (body) => body.items.length > 0,
  },
  'POST /api/v1/registrations/:id/decision': {
    subject: () => registration(),
    self: applicant,
    call: (r) => api('POST', `/registrations/${r.id}/decision`, { json: { decision: 'reject', reason: 'matrix' } }),
  },
  'POST /api/v1/registrations/:id/info': {
    subject: () => registration('info_requested'),
    self: applicant,
    call: (r, who) => {
      const form = new FormData();
      form.append('data', JSON.stringify({ position: 'นักวิชาการชำนาญการ' }));
      return api('POST', `/registrations/${r.id}/info`, { body: form, headers: who.trackingCode ? { 'x-tracking-code': who.trackingCode } : {} });
    },
  },
  'POST /api/v1/registrations/:id/withdraw': {
    subject: () => registration(),
    self: applicant,
    call: (r, who) => api('POST', `/registrations/${r.id}/withdraw`, { headers: who.trackingCode ? { 'x-tracking-code': who.trackingCode } : {} }),
  },

  // audit, compliance
  'GET /api/v1/audit': { call: () => api('GET', '/audit') },
  'GET /api/v1/compliance/units-without-admin': { call: () => api('GET', '/compliance/units-without-admin') },

  // appointments
  'POST /api/v1/org-units/:code/admin-appointments': {
    subject: () => person(),
    self: async (p) => ({ person: await withToken(p), token: p.token }),
    call: (p) => {
      const form = new FormData();
      form.append('data', JSON.stringify({ accountId: p.id }));
      form.append('letter', pdf(), 'letter.pdf');
      return api('POST', `/org-units/${D}/admin-appointments`, { body: form });
    },
  },
  'GET /api/v1/admin-appointments': { call: () => api('GET', '/admin-appointments') },
  'GET /api/v1/admin-appointments/:id': { subject: () => appointment(), self: appointee, call: (a) => api('GET', `/admin-appointments/${a.id}`) },
  'GET /api/v1/admin-appointments/:id/letter': { subject: () => appointment(), self: appointee, call: (a) => api('GET', `/admin-appointments/${a.id}/letter`) },
  'POST /api/v1/admin-appointments/:id/decision': {
    subject: () => appointment(),
    self: appointee,
    call: (a) => api('POST', `/admin-appointments/${a.id}/decision`, { json: { decision: 'reject', reason: 'matrix' } }),
  },
  'POST /api/v1/admin-appointments/:id/revoke': {
    subject: () => appointment(true),
    self: appointee,
    call: (a) => api('POST', `/admin-appointments/${a.id}/revoke`, { json: { reason: 'matrix' } }),
  },

  // personnel changes
  'POST /api/v1/personnel-events': {
    subject: () => person(),
    call: (p) =>
      api('POST', '/personnel-events', {
        json: { events: [{ eventId: `mx-${randomUUID()}`, type: 'role_change', citizenId: p.citizenId, effectiveDate: inDays(60), newPosition: 'นักทดสอบ' }] },
      }),
    refusedWhen: (status, body) => status === 202 && body.rejected.length > 0,
  },
  'POST /api/v1/personnel-events/csv': {
    subject: () => person(),
    call: (p) =>
      api('POST', '/personnel-events/csv', {
        body: `eventId,type,citizenId,effectiveDate,toUnitCode,newPosition,note\nmx-${randomUUID()},role_change,${p.citizenId},${inDays(60)},,นักทดสอบ,\n`,
        headers: { 'content-type': 'text/csv' },
      }),
    refusedWhen: (status, body) => status === 202 && body.rejected.length > 0,
  },
  'GET /api/v1/personnel-events': { call: () => api('GET', '/personnel-events') },
  'GET /api/v1/personnel-events/:eventId': {
    subject: async () => {
      const p = await person();
      const eventId = `mx-${randomUUID()}`;
      const body = JSON.stringify({ events: [{ eventId, type: 'role_change', citizenId: p.citizenId, effectiveDate: inDays(60), newPosition: 'นักทดสอบ' }] });
      await ok(h.request('POST', '/api/v1/personnel-events', { body, headers: { 'content-type': 'application/json', ...hrSigned(body) } }), 'event');
      return eventId;
    },
    call: (eventId) => api('GET', `/personnel-events/${eventId}`),
  },

  // access reviews
  'POST /api/v1/access-reviews': {
    call: () => api('POST', '/access-reviews', { json: { name: uniqueName('mx'), scopeUnitCode: D, durationDays: 7, onNoDecision: 'keep' } }),
  },
  'GET /api/v1/access-reviews/:id': { subject: () => shared.campaign, call: (c) => api('GET', `/access-reviews/${c.id}`) },
  'GET /api/v1/access-reviews/:id/items': { subject: () => shared.campaign, call: (c) => api('GET', `/access-reviews/${c.id}/items`) },
  'GET /api/v1/access-reviews/:id/report': { subject: () => shared.campaign, call: (c) => api('GET', `/access-reviews/${c.id}/report`) },
  'POST /api/v1/access-reviews/:id/decisions': {
    subject: async (kind) => {
      const c = await shared.decisions;
      return { id: c.id, item: c.items.get(c.holders[ACTORS.indexOf(kind)]!.id)! };
    },
    call: (c) => api('POST', `/access-reviews/${c.id}/decisions`, { json: { decisions: [{ itemId: c.item, decision: 'keep' }] } }),
    refusedWhen: (status, body) => status === 200 && body.rejected.length > 0,
  },
  'POST /api/v1/access-reviews/:id/cancel': {
    subject: () => campaign(),
    call: (c) => api('POST', `/access-reviews/${c.id}/cancel`),
    // A cancellation waits for the campaign to finish listing its items: on a loaded machine the first try answers 503,
    // and the retry 409 (one is under way). Both come after the scope check.
    through: [409],
  },
  'PUT /api/v1/access-review-schedules/:name': {
    call: () =>
      api('PUT', `/access-review-schedules/${uniqueName('mx')}`, { json: { cron: '0 9 1 1 *', scopeUnitCode: D, durationDays: 7, onNoDecision: 'keep' } }),
  },
  'GET /api/v1/access-review-schedules': { call: () => api('GET', '/access-review-schedules') },
  'DELETE /api/v1/access-review-schedules/:name': { subject: () => schedule(), call: (name) => api('DELETE', `/access-review-schedules/${name}`) },

  // portal and survey
  'GET /api/v1/me/systems': { call: () => api('GET', '/me/systems') },
  'GET /api/v1/survey': { call: () => api('GET', '/survey') },
  'POST /api/v1/survey-responses': {
    call: async () => {
      const survey = await ok(h.request('GET', '/api/v1/survey'), 'survey');
      return api('POST', '/survey-responses', { json: { scores: Object.fromEntries(survey.questions.map((q: { id: string }) => [q.id, 4])) } });
    },
    through: [409],
  },
  'GET /api/v1/survey-results': { call: () => api('GET', '/survey-results') },

  // pages: sign-in, passwords, ThaiID, the provider's interaction pages
  'GET /': { call: () => page('GET', '/') },
  'GET /login': { call: () => page('GET', '/login') },
  'POST /login': { call: () => page('POST', '/login', { username: staff.username, password: staff.password }) },
  'GET /login/second-factor': { call: () => page('GET', '/login/second-factor') },
  'POST /login/second-factor': { call: () => page('POST', '/login/second-factor', { otp: '000000' }) },
  'POST /login/second-factor/enrol': { call: () => page('POST', '/login/second-factor/enrol', { otp: '000000' }) },
  'GET /login/confirm': { call: () => page('GET', '/login/confirm') },
  'POST /login/confirm': {
    call: () => page('POST', '/login/confirm', { otp: '000000' }),
    allowedWhen: (status, body) => status === 401 && String(body).includes('Confirm it is you'), // the code's answer, not the caller's
  },
  'POST /logout': { subject: async () => undefined, call: () => page('POST', '/logout') },
  'GET /survey': { call: () => page('GET', '/survey') },
  'POST /survey': {
    call: async () => {
      const survey = await ok(h.request('GET', '/api/v1/survey'), 'survey');
      return page('POST', '/survey', Object.fromEntries(survey.questions.map((q: { id: string }) => [q.id, '4'])));
    },
    through: [409],
  },
  'GET /register': { call: () => page('GET', '/register') },
  'POST /register': {
    call: () => {
      const username = uniqueName('mx');
      const fields = { citizenId: randomCitizenId(), firstNameTh: 'สมหญิง', lastNameTh: 'รักงาน', email: `${username}@lao.test`, position: 'นักวิชาการ' };
      return page('POST', '/register', { ...fields, unitCode: D, username, password: 'applicant-password-1', documents: pdf() }, true);
    },
  },
  'GET /password/forgot': { call: () => page('GET', '/password/forgot') },
  'POST /password/forgot': { call: () => page('POST', '/password/forgot', { login: staff.username }) },
  'GET /password/reset': { call: () => page('GET', '/password/reset?token=not-a-token') },
  'POST /password/reset': { call: () => page('POST', '/password/reset', { token: 'not-a-token', newPassword: 'x', confirmPassword: 'x' }) },
  'GET /password/change': { call: () => page('GET', '/password/change') },
  'POST /password/change': {
    call: (_s, who) => {
      const next = `Matrix-${randomUUID()}`;
      return page('POST', '/password/change', { currentPassword: who.person?.password ?? 'x', newPassword: next, confirmPassword: next });
    },
  },
  'GET /second-factor': { call: () => page('GET', '/second-factor') },
  'POST /second-factor/recovery-codes': { call: () => page('POST', '/second-factor/recovery-codes'), through: [409] }, // 409: no authenticator yet
  'POST /second-factor/authenticator': { call: () => page('POST', '/second-factor/authenticator') },
  'POST /second-factor/authenticator/confirm': {
    call: () => page('POST', '/second-factor/authenticator/confirm', { otp: '000000' }),
    allowedWhen: (status) => status === 401, // the wrong code's answer to a signed-in person (the anonymous are sent to sign in)
  },
  'GET /auth/thaiid': { call: () => page('GET', '/auth/thaiid') },
  'GET /auth/thaiid/callback': { call: () => page('GET', '/auth/thaiid/callback?state=x&code=y') },
  'GET /interaction/:uid': { call: () => page('GET', '/interaction/not-an-interaction') },
  'POST /interaction/:uid/login': { call: () => page('POST', '/interaction/not-an-interaction/login', { username: staff.username, password: staff.password }) },
  'GET /thaid-standin/interaction/:uid': { call: () => page('GET', '/thaid-standin/interaction/not-an-interaction') },
  'POST /thaid-standin/interaction/:uid': { call: () => page('POST', '/thaid-standin/interaction/not-an-interaction', { pid: randomCitizenId() }) },

  // the applicant's pages
  'GET /track/:id': { subject: () => shared.registration, call: (r) => page('GET', `/track/${r.id}`) },
  'POST /track/:id': {
    subject: () => shared.registration,
    self: applicant,
    call: (r, who) => page('POST', `/track/${r.id}`, { trackingCode: who.trackingCode ?? 'WRONG-CODE' }),
  },
  'POST /track/:id/info': {
    subject: () => registration('info_requested'),
    self: applicant,
    call: (r, who) => page('POST', `/track/${r.id}/info`, { trackingCode: who.trackingCode ?? 'WRONG-CODE', position: 'นักวิชาการชำนาญการ' }, true),
  },
  'POST /track/:id/withdraw': {
    subject: () => registration(),
    self: applicant,
    call: (r, who) => page('POST', `/track/${r.id}/withdraw`, { trackingCode: who.trackingCode ?? 'WRONG-CODE', confirm: 'yes' }),
  },

  // the manual
  'GET /manual': { call: () => page('GET', '/manual') },
  'GET /manual/staff': { call: () => page('GET', '/manual/staff') },
  'GET /manual/admin': { call: () => page('GET', '/manual/admin') },
  'GET /manual/sheet': { call: () => page('GET', `/manual/sheet?unit=${D}`) },
  'GET /manual/sheet/:unitCode': { call: () => page('GET', `/manual/sheet/${D}`) },
  // the console (/admin): the same services, as pages and forms; anyone who administers nothing gets its 403 page
  'GET /admin': { call: () => page('GET', '/admin') },
  'GET /admin/registrations': { call: () => page('GET', '/admin/registrations') },
  'GET /admin/registrations/:id': { subject: () => shared.registration, call: (r) => page('GET', `/admin/registrations/${r.id}`) },
  'GET /admin/registrations/:id/documents/:documentId': {
    subject: () => shared.registration,
    call: (r) => page('GET', `/admin/registrations/${r.id}/documents/${r.documentId}`),
  },
  'POST /admin/registrations/:id/decision': {
    subject: () => registration(),
    call: (r) => page('POST', `/admin/registrations/${r.id}/decision`, { decision: 'reject', reason: 'matrix' }),
  },
  'GET /admin/appointments': { call: () => page('GET', '/admin/appointments') },
  'GET /admin/appointments/:id': { subject: () => shared.appointment, call: (a) => page('GET', `/admin/appointments/${a.id}`) },
  'GET /admin/appointments/:id/letter': { subject: () => shared.appointment, call: (a) => page('GET', `/admin/appointments/${a.id}/letter`) },
  'POST /admin/appointments/:id/decision': {
    subject: () => appointment(),
    call: (a) => page('POST', `/admin/appointments/${a.id}/decision`, { decision: 'reject', reason: 'matrix' }),
  },
  'POST /admin/appointments/:id/revoke': {
    subject: () => appointment(true),
    call: (a) => page('POST', `/admin/appointments/${a.id}/revoke`, { reason: 'matrix', confirm: 'yes' }),
  },
  'GET /admin/units': { call: () => page('GET', '/admin/units') },
  'GET /admin/units/:code': { call: () => page('GET', `/admin/units/${D}`) },
  'POST /admin/units/:code/appointments': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/units/${D}/appointments`, { accountId: p.id, letter: pdf() }, true),
  },
  'GET /admin/compliance': { call: () => page('GET', '/admin/compliance') },
  'GET /admin/compliance.csv': { call: () => page('GET', '/admin/compliance.csv') },
  'GET /admin/tree/import': { call: () => page('GET', '/admin/tree/import') },
  'POST /admin/tree/import': {
    call: () => page('POST', '/admin/tree/import', { file: csv(`code,parentCode,kind,nameTh\n${uniqueName('MX').toUpperCase()},${D},sao,อบต.ทดสอบ\n`) }, true),
  },
  'POST /admin/tree/import/confirm': {
    call: () =>
      page('POST', '/admin/tree/import/confirm', {
        units: JSON.stringify([{ code: uniqueName('MX').toUpperCase(), parentCode: D, kind: 'sao', nameTh: 'อบต.ทดสอบ' }]),
      }),
  },
  'GET /admin/accounts': { call: () => page('GET', '/admin/accounts') },
  'GET /admin/accounts/:id': { subject: () => person(), call: (p) => page('GET', `/admin/accounts/${p.id}`) },
  'POST /admin/accounts/:id/suspend': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/accounts/${p.id}/suspend`, { reason: 'matrix', confirm: 'yes' }),
  },
  'POST /admin/accounts/:id/reactivate': {
    subject: async () => {
      const p = await person();
      await ok(h.request('POST', `/api/v1/accounts/${p.id}/suspend`, { token: central(), json: { reason: 'matrix' } }), 'suspend');
      return p;
    },
    call: (p) => page('POST', `/admin/accounts/${p.id}/reactivate`, { reason: 'matrix' }),
  },
  'POST /admin/accounts/:id/rights/review': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/accounts/${p.id}/rights/review`, { right: 'INFO:viewer', unitCode: D, change: 'grant', reason: 'matrix' }),
  },
  'POST /admin/accounts/:id/rights': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/accounts/${p.id}/rights`, { right: 'INFO:viewer', unitCode: D, change: 'grant', reason: 'matrix' }),
  },
  'POST /admin/accounts/:id/details': {
    subject: () => person(),
    call: (p) =>
      page('POST', `/admin/accounts/${p.id}/details`, { firstNameTh: 'แก้ไข', lastNameTh: 'ชื่อ', email: `${p.username}@fixed.test`, reason: 'matrix' }),
  },
  'POST /admin/accounts/:id/password-reset': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/accounts/${p.id}/password-reset`, { reason: 'matrix' }),
  },
  'POST /admin/accounts/:id/mfa-reset': {
    subject: () => person(),
    call: (p) => page('POST', `/admin/accounts/${p.id}/mfa-reset`, { reason: 'matrix', confirm: 'yes' }),
  },
  'POST /admin/accounts/:id/unlock': { subject: () => person(), call: (p) => page('POST', `/admin/accounts/${p.id}/unlock`, { reason: 'matrix' }) },
  'GET /admin/reviews': { call: () => page('GET', '/admin/reviews') },
  'GET /admin/reviews/:id': { subject: () => shared.personReview, call: (r) => page('GET', `/admin/reviews/${r.id}`) },
  'POST /admin/reviews/:id/items/:itemId': {
    subject: () => personReview(),
    call: (r) => page('POST', `/admin/reviews/${r.id}/items/${r.item}`, { decision: 'keep', justification: 'matrix' }),
  },
  'GET /admin/campaigns': { call: () => page('GET', '/admin/campaigns') },
  'GET /admin/campaigns/new': { call: () => page('GET', '/admin/campaigns/new') },
  'POST /admin/campaigns/preview': {
    call: () => page('POST', '/admin/campaigns/preview', { name: uniqueName('mx'), scopeUnitCode: D, durationDays: '7', onNoDecision: 'keep' }),
  },
  'POST /admin/campaigns': {
    call: () => page('POST', '/admin/campaigns', { name: uniqueName('mx'), scopeUnitCode: D, durationDays: '7', onNoDecision: 'keep' }),
  },
  'GET /admin/campaigns/schedules': { call: () => page('GET', '/admin/campaigns/schedules') },
  'POST /admin/campaigns/schedules': {
    call: () =>
      page('POST', '/admin/campaigns/schedules', { name: uniqueName('mx'), cron: '0 9 1 1 *', scopeUnitCode: D, durationDays: '7', onNoDecision: 'keep' }),
  },
  'POST /admin/campaigns/schedules/delete': {
    subject: () => schedule(),
    call: (name) => page('POST', '/admin/campaigns/schedules/delete', { name, confirm: 'yes' }),
  },
  'GET /admin/campaigns/:id': { subject: () => shared.campaign, call: (c) => page('GET', `/admin/campaigns/${c.id}`) },
  'POST /admin/campaigns/:id/cancel': {
    subject: () => campaign(),
    call: (c) => page('POST', `/admin/campaigns/${c.id}/cancel`, { confirm: 'yes' }),
    through: [409], // as the API's
  },
  'GET /admin/campaigns/:id/items': { subject: () => shared.campaign, call: (c) => page('GET', `/admin/campaigns/${c.id}/items`) },
  'POST /admin/campaigns/:id/items': {
    subject: async (kind) => {
      const c = await shared.consoleDecisions;
      return { id: c.id, item: c.items.get(c.holders[ACTORS.indexOf(kind)]!.id)! };
    },
    call: (c) => page('POST', `/admin/campaigns/${c.id}/items`, { items: c.item, [`d_${c.item}`]: 'keep' }),
  },
  'GET /admin/campaigns/:id/report': { subject: () => shared.campaign, call: (c) => page('GET', `/admin/campaigns/${c.id}/report`) },
  'GET /admin/campaigns/:id/report.csv': { subject: () => shared.campaign, call: (c) => page('GET', `/admin/campaigns/${c.id}/report.csv`) },
  'GET /admin/personnel': { call: () => page('GET', '/admin/personnel') },
  'GET /admin/personnel/report': { call: () => page('GET', '/admin/personnel/report') },
  'POST /admin/personnel/report': {
    subject: () => person(),
    call: (p) =>
      page('POST', '/admin/personnel/report', {
        eventId: `mx-${randomUUID()}`,
        type: 'role_change',
        citizenId: p.citizenId,
        effectiveDate: inDays(60),
        newPosition: 'นักทดสอบ',
      }),
    refusedWhen: (status) => status === 400, // the event is refused for a person outside the admin's units
  },
  'GET /admin/personnel/upload': { call: () => page('GET', '/admin/personnel/upload') },
  'POST /admin/personnel/upload': {
    subject: () => person(),
    call: (p) =>
      page(
        'POST',
        '/admin/personnel/upload',
        {
          file: csv(
            `eventId,type,citizenId,effectiveDate,toUnitCode,newPosition,note\nmx-${randomUUID()},role_change,${p.citizenId},${inDays(60)},,นักทดสอบ,\n`,
          ),
        },
        true,
      ),
    refusedWhen: (status) => status === 400, // the preview refuses the row of a person outside the admin's units
  },
  'POST /admin/personnel/upload/confirm': {
    subject: () => person(),
    call: (p) =>
      page('POST', '/admin/personnel/upload/confirm', {
        events: JSON.stringify([
          { eventId: `mx-${randomUUID()}`, type: 'role_change', citizenId: p.citizenId, effectiveDate: inDays(60), newPosition: 'นักทดสอบ' },
        ]),
        confirm: 'yes',
      }),
    refusedWhen: (status) => status === 400,
  },
  'GET /admin/audit': { call: () => page('GET', '/admin/audit') },
  'GET /admin/audit/download': { call: () => page('GET', '/admin/audit/download') },
  'GET /admin/audit/verification': { call: () => page('GET', '/admin/audit/verification') },
  'POST /admin/audit/verification': { call: () => page('POST', '/admin/audit/verification') },
  'GET /admin/survey': { call: () => page('GET', '/admin/survey') },
  'GET /admin/survey.csv': { call: () => page('GET', '/admin/survey.csv') },
  'GET /admin/dashboard': { call: () => page('GET', '/admin/dashboard') },
};

/** Operations that end or replace the caller's sign-in (the API's token; the browser's): each caller sends it from a sign-in of its own. */
const ENDS_SIGN_IN = new Set(['POST /api/v1/auth/logout', 'POST /login']);
/** Operations that end every sign-in of the caller (a new password, the portal's sign-out): each caller is a spare of its kind. */
const ENDS_EVERY_SIGN_IN = new Set(['POST /api/v1/me/password', 'POST /password/change', 'POST /logout']);

/** Subjects shared by read-only operations. */
type Decisions = Promise<{ id: string; holders: Person[]; items: Map<string, string> }>;
const shared = {} as {
  campaign: Promise<{ id: string }>;
  registration: Promise<{ id: string; trackingCode: string; documentId: string; username: string }>;
  appointment: Promise<{ id: string }>;
  personReview: Promise<{ id: string }>;
  decisions: Decisions;
  consoleDecisions: Decisions;
};

beforeAll(async () => {
  // reachable: ThaiID sign-in reads the stand-in's discovery document at PUBLIC_URL.
  h = await startHarness(
    { HR_FEED_SECRET: HR_SECRET, PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS: '1000', LOGIN_RATE_LIMIT_PER_USERNAME: '1000' },
    { reachable: true },
  );
  tree = await h.seedTree();
  passwordHash = await hashPassword(PASSWORD);
  D = tree.districtA;
  await h.putInfoSystem();
  const unitOf: Record<Exclude<ActorKind, 'anonymous'>, string> = {
    self: D,
    own: D,
    parent: tree.province,
    child: tree.laoA,
    sibling: tree.districtB,
    central: tree.root, // an admin of the root unit is DLA central
  };
  await Promise.all(
    (Object.entries(unitOf) as [Exclude<ActorKind, 'anonymous'>, string][]).map(async ([kind, unit]) => {
      const people = await Promise.all(Array.from({ length: 1 + SPARES }, () => person(unit)));
      if (kind !== 'self')
        await ok(h.request('PUT', `/api/v1/org-units/${unit}/admins`, { token: central(), json: people.map((p) => ({ accountId: p.id })) }), 'admins');
      const main = await withToken(people[0]!);
      callers[kind] = { kind, person: main, token: main.token, browser: await Browser.signedIn(main) };
      spares[kind] = people.slice(1);
    }),
  );
  callers.anonymous = { kind: 'anonymous', browser: new Browser() };
  staff = callers.self.person!;
  shared.campaign = campaign();
  shared.registration = registration();
  const decisions = () =>
    campaign(ACTORS.length).then(async (c) => ({
      ...c,
      items: await itemsOf(
        c.id,
        c.holders.map((p) => p.id),
      ),
    }));
  shared.decisions = decisions();
  shared.consoleDecisions = decisions();
  shared.appointment = appointment();
  shared.personReview = personReview();
  await Promise.all(Object.values(shared));
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
const routes = () => h.app.routeTable.filter((r) => r.method !== 'OPTIONS' && !EXCLUDED.some((x) => x.test(r.url)));

type Outcome = 'allowed' | 'refused' | `unexpected ${number}`;
async function send(call: Call, who: Caller, retries = 2): Promise<{ status: number; body: any; location: string | null }> {
  let res: Response;
  if (call.form !== undefined) res = await who.browser.send(call.path, call.method, call.form, call.multipart ?? false);
  else if (!call.path.startsWith('/api/')) res = await who.browser.get(call.path);
  else {
    const headers: Record<string, string> = { ...call.headers };
    if (who.token) headers.authorization = `Bearer ${who.token}`;
    let body = call.body;
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.json);
    }
    res = await fetch(h.baseUrl + call.path, { method: call.method, headers, body, redirect: 'manual' });
  }
  if (res.status === 503 && retries > 0) {
    // A busy workflow service answers 503 with Retry-After (the contract); the matrix asks again.
    await new Promise((r) => setTimeout(r, 1000 * Math.min(3, Number(res.headers.get('retry-after') ?? 1))));
    return send(call, who, retries - 1);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* a page */
  }
  return { status: res.status, body, location: res.headers.get('location') };
}
function outcome(op: Operation, r: { status: number; body: any; location: string | null }): Outcome {
  if (op.allowedWhen?.(r.status, r.body)) return 'allowed';
  if ([401, 403, 404].includes(r.status)) return 'refused';
  if ((r.status === 302 || r.status === 303) && r.location?.startsWith('/login')) return 'refused'; // a page's way of asking to sign in
  if (op.refusedWhen?.(r.status, r.body)) return 'refused';
  if (r.status < 400 || op.through?.includes(r.status)) return 'allowed';
  return `unexpected ${r.status}`;
}

/** Runs `tasks` at most `width` at a time. */
async function pooled<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

describe('authorisation matrix', () => {
  it('has a scope and a request for every route', () => {
    const all = routes();
    const undeclared = all.filter((r) => r.scope === undefined || !(r.scope in SCOPES)).map(key);
    expect(undeclared, `routes without config.scope (api/scope.ts names the rules): ${undeclared.join(', ')}`).toEqual([]);
    const untested = all.map(key).filter((k) => !(k in OPERATIONS));
    expect(untested, `routes without a request in test/integration/authorisation.test.ts: ${untested.join(', ')}`).toEqual([]);
    const gone = Object.keys(OPERATIONS).filter((k) => !all.some((r) => key(r) === k));
    expect(gone, 'requests for routes that no longer exist').toEqual([]);
  });

  it('lets through exactly the callers each route’s scope names', async () => {
    const table = routes().filter((r) => r.scope && OPERATIONS[key(r)]);
    const cells = table.flatMap((r) => ACTORS.map((kind) => ({ r, kind })));
    const failures: string[] = [];
    const seen = new Map<string, Map<ActorKind, number>>();
    await pooled(
      cells.map(({ r, kind }) => async () => {
        const op = OPERATIONS[key(r)]!;
        const name = key(r);
        try {
          const subject = op.subject ? await op.subject(kind) : undefined;
          let who = callers[kind];
          if (ENDS_EVERY_SIGN_IN.has(name)) who = await spareCaller(kind);
          else if (ENDS_SIGN_IN.has(name)) who = await secondSignIn(who);
          if (kind === 'self' && op.self) who = { kind, browser: who.browser, ...(await op.self(subject)) };
          if (kind === 'self' && op.self && !who.browser.jar.size && who.person) who.browser = await Browser.signedIn(who.person);
          const res = await send(await op.call(subject, who), who);
          const got = outcome(op, res);
          if (!seen.has(name)) seen.set(name, new Map());
          seen.get(name)!.set(kind, res.status);
          const want = ALLOWED[r.scope!].includes(kind) ? 'allowed' : 'refused';
          if (got === 'allowed' && op.shows && op.shows(res.body) !== ALLOWED['unit-admin'].includes(kind)) {
            failures.push(`${name} [${r.scope}] ${kind}: the list ${op.shows(res.body) ? 'shows' : 'hides'} the subject of unit D`);
          }
          // With credentials in the request, what they are decides (checked below: the same answer for every caller).
          if (got !== want && r.scope !== 'credentials')
            failures.push(`${name} [${r.scope}] ${kind}: ${got} (${res.status}), expected ${want}: ${JSON.stringify(res.body).slice(0, 200)}`);
        } catch (error) {
          failures.push(`${name} ${kind}: ${(error as Error).message}`);
        }
      }),
      16,
    );
    // Where who calls does not matter, everyone gets the same answer.
    for (const r of table.filter((x) => x.scope === 'public' || x.scope === 'credentials')) {
      const statuses = new Set(seen.get(key(r))?.values());
      if (statuses.size > 1) failures.push(`${key(r)} [${r.scope}]: answers differ by caller: ${JSON.stringify(Object.fromEntries(seen.get(key(r))!))}`);
    }
    console.log(`authorisation matrix: ${table.length} operations × ${ACTORS.length} callers = ${cells.length} requests`);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 300_000);
});
