// The OpenAPI document tells the truth. Every operation declares its answers (the common problems are
// added to every route by api/responses.ts), and fuzzing the live document finds no 5xx and no
// status, media type or body it does not declare: thousands of requests drawn by fast-check from
// each operation's schemas, valid-shaped and broken, as DLA central, as a staff member, anonymously
// and with a forged token. FUZZ_RUNS (default 1500; `npm run fuzz:api` sends 10000) and FUZZ_SEED
// (fixed by default, so a run can be repeated) choose the requests.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc, { type Arbitrary } from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PDF } from '../../scripts/support/fixtures.ts';
import { anyJson, invalidOf, validOf, type Pools, type Schema } from '../support/schema-arbitrary.ts';
import { startHarness, type Harness, type TestAccount, type Tree } from '../support/harness.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const IN_FLIGHT = 4;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
/** Operations that end the caller's sign-in: sent with a token of their own, not DLA central's. */
const ENDS_SIGN_IN = new Set(['POST /api/v1/auth/logout', 'POST /api/v1/me/password']);

interface Operation {
  method: string;
  path: string;
  op: Schema;
}

let h: Harness;
let tree: Tree;
let staff: TestAccount;
let doc: Schema;
let operations: Operation[];
let pools: Pools;
let trackingCode: string;

beforeAll(async () => {
  h = await startHarness({ HR_FEED_SECRET: 'fuzz-feed-secret' });
  await h.putInfoSystem();
  tree = await h.seedTree();
  staff = await h.createAccount(tree.laoA);
  const unitAdmin = await h.createAccount(tree.districtA);
  await h.designateAdmins(tree.districtA, [unitAdmin]);
  const registration = await h.submitRegistration({ unitCode: tree.laoA });
  expect(registration.status).toBe(202);
  trackingCode = registration.body.trackingCode;
  // Something to find behind each kind of id: a right under review, a campaign, an appointment, a personnel event.
  const central = h.central.token;
  const right = await h.request('PUT', `/api/v1/accounts/${staff.id}/entitlements`, {
    token: central,
    json: [{ system: 'INFO', role: 'viewer', unitCode: tree.laoA }],
  });
  expect(right.status).toBe(200);
  const campaign = await h.request('POST', '/api/v1/access-reviews', {
    token: central,
    json: { name: 'fuzz', scopeUnitCode: tree.province, durationDays: 30, onNoDecision: 'keep' },
  });
  expect(campaign.status).toBe(202);
  const letter = new FormData();
  letter.append('data', JSON.stringify({ accountId: staff.id }));
  letter.append('letter', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'letter.pdf');
  const appointment = await h.request('POST', `/api/v1/org-units/${tree.laoA}/admin-appointments`, { token: staff.token, body: letter });
  expect(appointment.status).toBe(202);
  const eventId = `fuzz-${registration.body.id}`;
  const event = await h.request('POST', '/api/v1/personnel-events', {
    token: central,
    json: { events: [{ eventId, type: 'role_change', citizenId: staff.citizenId, effectiveDate: '2040-01-01', newPosition: 'นักวิเคราะห์' }] },
  });
  expect(event.status).toBe(202);
  const units = Object.values(tree);
  // Fields of these names are drawn from the run's own data (three times in four), so that lookups find
  // something and answer with their success bodies, not only 404.
  pools = {
    id: [registration.body.id, staff.id, unitAdmin.id, campaign.body.id, appointment.body.id],
    eventId: [eventId],
    accountId: [staff.id, unitAdmin.id],
    code: units,
    unitCode: units,
    under: units,
    scopeUnitCode: units,
    parentCode: [...units, null],
    system: ['INFO'],
    username: [staff.username, unitAdmin.username],
  };
  const res = await h.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  operations = Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path, op: item[m] as Schema })),
  );
});

afterAll(async () => {
  await h?.stop();
});

const isApi = (o: Operation) => o.path.startsWith('/api/');
const takesBody = (o: Operation) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(o.method);
const statusesOf = (o: Operation) => Object.keys(o.op.responses ?? {});
const paramsOf = (o: Operation, where: string): Schema[] => (o.op.parameters ?? []).filter((p: Schema) => p.in === where);

describe('the OpenAPI document', () => {
  it('declares every answer of every operation: its successes, and each problem with its body', () => {
    const missing: string[] = [];
    for (const o of operations) {
      const declared = statusesOf(o);
      const want = (status: string, why: string) => {
        if (!declared.includes(status)) missing.push(`${o.method} ${o.path}: ${status} (${why})`);
      };
      if (!declared.some((s) => /^[23]/.test(s))) missing.push(`${o.method} ${o.path}: no success`);
      if (isApi(o)) {
        want('401', 'the bearer-token hook');
        want('503', 'a dependency down');
      }
      if (takesBody(o)) {
        want('413', 'body too large');
        want('415', 'body of another media type');
      }
      if (takesBody(o) || (o.op.parameters ?? []).length > 0) want('400', 'validation');
      for (const [status, answer] of Object.entries(o.op.responses as Record<string, Schema>)) {
        if (!/^[45]/.test(status)) continue;
        // The API's refusals are problems; the browser's routes (ThaiID sign-in) answer with pages.
        const body = isApi(o) ? answer.content?.['application/problem+json']?.schema : Object.values(answer.content ?? {})[0];
        if (!body) missing.push(`${o.method} ${o.path}: ${status} without its ${isApi(o) ? 'problem+json ' : ''}body`);
      }
    }
    expect(operations.length).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });

  it('refuses a NUL character (which PostgreSQL cannot store) in a text field with 400, not 500 (found by the fuzz)', async () => {
    for (const [path, json] of [
      ['/api/v1/auth/mfa/totp', { username: '\u0000', password: 'x' }],
      ['/api/v1/auth/login', { username: 'a\u0000b', password: 'x' }],
      ['/api/v1/auth/password-reset', { username: '\u0000' }],
    ] as const) {
      const res = await h.request('POST', path, { json });
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 400, 'application/problem+json; charset=utf-8']);
    }
  });

  it(
    'holds under fuzzing: no 5xx, and every status, media type and body as declared',
    async () => {
      const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
      addFormats(ajv);
      // Objects are closed for the check: a field an answer carries must be in the document.
      ajv.addSchema(closeObjects(structuredClone(doc)), 'doc');

      const requests = fc.sample(requestArbitrary(), { numRuns: RUNS, seed: SEED });
      const statuses = new Map<number, number>();
      const findings = new Map<string, { count: number; example: string }>();
      const find = (key: string, example: string) => {
        const seen = findings.get(key);
        if (seen) seen.count++;
        else findings.set(key, { count: 1, example });
      };
      const started = Date.now();
      let next = 0;
      const worker = async () => {
        while (next < requests.length) {
          const request = requests[next++]!;
          const { status, contentType, text, retryAfter } = await send(request);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const o = request.operation;
          const name = `${o.method} ${o.path}`;
          const example = `${request.method} ${request.url} (${request.who}) ${request.bodyText?.slice(0, 300) ?? ''} → ${status} ${text.slice(0, 400)}`;
          // 503 is the answer while a dependency is down (here: the harness's ThaiD stand-in, never reachable), with Retry-After.
          if (status >= 500 && !(status === 503 && retryAfter)) {
            find(`${name}: ${status}`, example);
            continue;
          }
          const answer = (o.op.responses as Record<string, Schema>)[String(status)] ?? o.op.responses[`${String(status)[0]}XX`] ?? o.op.responses.default;
          if (!answer) {
            find(`${name}: ${status} not declared`, example);
            continue;
          }
          if (!answer.content) {
            if (text.length > 0) find(`${name}: ${status} has a body the document does not declare`, example);
            continue;
          }
          const mediaType = Object.keys(answer.content).find((m) => m === contentType || (m.endsWith('/*') && contentType.startsWith(m.slice(0, -1))));
          if (!mediaType) {
            find(`${name}: ${status} as ${contentType}, declared ${Object.keys(answer.content).join(', ')}`, example);
            continue;
          }
          if (!/json$/.test(mediaType) || !answer.content[mediaType].schema) continue;
          const pointer = ['paths', o.path, o.method.toLowerCase(), 'responses', String(status), 'content', mediaType, 'schema']
            .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'))
            .join('/');
          const validate = ajv.getSchema(`doc#/${pointer}`)!;
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            find(`${name}: ${status} is not JSON`, example);
            continue;
          }
          if (!validate(body)) find(`${name}: ${status} body ${ajv.errorsText(validate.errors)}`, example);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const seen = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
      console.log(`fuzzed ${operations.length} operations with ${requests.length} requests in ${seconds} s (seed ${SEED}); statuses ${seen.join(' ')}`);
      const report = [...findings].map(([key, { count, example }]) => `${key} [${count}×] e.g. ${example}`);
      expect(report).toEqual([]);
    },
    60_000 + RUNS * 60,
  );
});

/** Every object schema that lists its properties and says nothing of others gets `additionalProperties: false`. */
function closeObjects(node: unknown): any {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, closeObjects(v)]));
  if (copy.properties && typeof copy.properties === 'object' && !('additionalProperties' in copy) && !copy.patternProperties) copy.additionalProperties = false;
  return copy;
}

type Who = 'central' | 'staff' | 'anonymous' | 'forged';
interface FuzzRequest {
  operation: Operation;
  who: Who;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | FormData | undefined;
  bodyText?: string | undefined;
}

const encode = (v: unknown) => encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v));
/** A path parameter as sent: `.` and `..` escaped, else fetch resolves them away (and asks for another path). */
const encodeSegment = (v: unknown) => encode(v).replace(/^\.{1,2}$/, (dots) => '%2E'.repeat(dots.length));

/** One request to one operation: its path, query and body valid-shaped (two in three) or broken. */
function requestArbitrary(): Arbitrary<FuzzRequest> {
  return fc.constantFrom(...operations).chain((o) => {
    const pathParams = paramsOf(o, 'path');
    const queryParams = paramsOf(o, 'query');
    const content: Record<string, Schema> = o.op.requestBody?.content ?? {};
    const mediaTypes = Object.keys(content);
    const valid = (s: Schema | undefined, name?: string) => validOf(s ?? {}, doc, pools, name);
    const value = (s: Schema | undefined, name?: string) => fc.oneof({ weight: 3, arbitrary: valid(s, name) }, { weight: 1, arbitrary: anyJson });
    const path = fc.tuple(...pathParams.map((p) => value(p.schema, p.name).map((v) => [p.name, v] as const)));
    const query = fc.tuple(
      ...queryParams.map((p) =>
        fc.option(
          value(p.schema, p.name).map((v) => [p.name, v] as const),
          { freq: 2 },
        ),
      ),
      fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })), { freq: 6 }),
    );
    const body: Arbitrary<{ body?: string | FormData; type?: string; text?: string }> = !takesBody(o)
      ? fc.constant({})
      : fc.oneof(
          ...mediaTypes.map((type) => {
            const schema = content[type]!.schema as Schema | undefined;
            if (type === 'multipart/form-data') return multipart();
            if (type.includes('json')) {
              return fc.oneof({ weight: 3, arbitrary: valid(schema) }, { weight: 2, arbitrary: invalidOf(schema ?? {}, doc, pools) }).map((v) => {
                const text = JSON.stringify(v) ?? 'null';
                return { body: text, type, text };
              });
            }
            return fc.string({ maxLength: 200 }).map((text) => ({ body: text, type, text }));
          }),
          ...(mediaTypes.includes('multipart/form-data') ? [] : o.op.requestBody ? [] : [multipart()]),
          fc.constantFrom<{ body?: string; type?: string; text?: string }>(
            {},
            { body: '{"unterminated": ', type: 'application/json', text: '{"unterminated": ' },
            { body: '', type: 'application/json', text: '' },
            { body: '<xml/>', type: 'application/xml', text: '<xml/>' },
            { body: 'a=1', type: 'application/x-www-form-urlencoded', text: 'a=1' },
          ),
        );
    const who = fc.constantFrom<Who>('central', 'central', 'central', 'staff', 'anonymous', 'forged');
    const extraHeaders = fc.record(
      {
        'x-tracking-code': fc.oneof(fc.constant(trackingCode), fc.string({ minLength: 1, maxLength: 40 })),
        'x-hr-timestamp': fc.nat().map(String),
        'x-hr-signature': fc.string({ maxLength: 70 }),
      },
      { requiredKeys: [] },
    );
    return fc.record({ who, path, query, body, extraHeaders }).map(({ who, path, query, body, extraHeaders }) => {
      let url = o.path;
      for (const [name, v] of path) url = url.replace(`{${name}}`, encodeSegment(v));
      const search = query
        .filter((q): q is readonly [string, unknown] => q !== null)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encode(v)}`)
        .join('&');
      if (search) url += `?${search}`;
      const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
      if (body.type) headers['content-type'] = body.type;
      if (who === 'forged') headers.authorization = 'Bearer not-a-token-this-service-issued';
      return { operation: o, who, method: o.method, url, headers, body: body.body, bodyText: body.text };
    });
  });
}

/** An upload: the `data` part valid JSON of some shape or not, and files of the right kind or not. */
function multipart(): Arbitrary<{ body: FormData; text: string }> {
  return fc
    .record({
      data: fc.option(
        fc.oneof(
          anyJson.map((v) => JSON.stringify(v) ?? ''),
          fc.string({ maxLength: 50 }),
        ),
        { freq: 5 },
      ),
      files: fc.array(fc.record({ field: fc.constantFrom('documents', 'letter', 'file', 'other'), pdf: fc.boolean() }), { maxLength: 3 }),
    })
    .map(({ data, files }) => {
      const form = new FormData();
      if (data !== null) form.append('data', data);
      for (const f of files)
        form.append(f.field, new Blob([new Uint8Array(f.pdf ? PDF : Buffer.from('not a document'))], { type: 'application/pdf' }), 'x.pdf');
      return { body: form, text: `multipart data=${data?.slice(0, 200)} files=${files.map((f) => `${f.field}:${f.pdf ? 'pdf' : 'junk'}`).join(',')}` };
    });
}

let ownToken: Promise<string> | undefined;
async function tokenOf(request: FuzzRequest): Promise<string | undefined> {
  if (request.who === 'anonymous' || request.who === 'forged') return undefined;
  const name = `${request.method} ${request.operation.path}`;
  // A sign-out or a password change would end the session the rest of the run uses: a throwaway account's.
  if (ENDS_SIGN_IN.has(name)) {
    ownToken ??= h.createAccount(tree.laoB).then((a) => a.token);
    const account = await ownToken;
    ownToken = undefined;
    return account;
  }
  return request.who === 'central' ? h.central.token : staff.token;
}

async function send(request: FuzzRequest): Promise<{ status: number; contentType: string; text: string; retryAfter: string | null }> {
  const token = await tokenOf(request);
  const headers = { ...request.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(h.baseUrl + request.url, { method: request.method, headers, body: request.body, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, contentType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(), text, retryAfter: res.headers.get('retry-after') };
}
