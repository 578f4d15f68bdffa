// Tracing as an operator switches it on: `npm start` with OTEL_EXPORTER_OTLP_ENDPOINT set sends its
// spans by OTLP/HTTP to a collector (here, a receiver in the test). An admin's decision on a
// registration is one trace: the HTTP request, the Temporal Update, the workflow's handler, the
// activity and its SQL; the mails' SMTP sends are spans of the workflow's own trace.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { freePort } from '../../lib/net.ts';
import { startMailCatcher, type MailCatcher } from '../../scripts/support/mail-catcher.ts';
import { callService, startService, type ServiceProcess } from '../support/service-process.ts';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
}
const SERVER = 2;

let dataDir: string;
let mail: MailCatcher;
let collector: Server;
let service: ServiceProcess | undefined;
let baseUrl: string;
let databaseName: string;
const adminUrl = new URL(inject('databaseUrl'));
adminUrl.pathname = '/postgres';
const spans: Span[] = [];
const exports: { contentType: string | undefined }[] = [];

const attribute = (span: Span, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;

const call = (method: string, path: string, options?: Parameters<typeof callService>[3]) => callService(baseUrl, method, path, options);

beforeAll(async () => {
  // A collector: OTLP/HTTP with JSON bodies, what the exporter sends by default.
  collector = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      exports.push({ contentType: request.headers['content-type'] });
      const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
      for (const resource of parsed.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const collectorPort = await freePort();
  await new Promise<void>((resolve) => collector.listen(collectorPort, '127.0.0.1', resolve));

  // A database of its own: the service's start-up chores must not touch the other files' rows.
  databaseName = `sso_tracing_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${databaseName}`);
  await admin.end();
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${databaseName}`;

  dataDir = mkdtempSync(join(tmpdir(), 'sso-tracing-'));
  mail = await startMailCatcher();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl.toString(),
    PUBLIC_URL: baseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    SMTP_URL: mail.url,
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password-1',
    ADMIN_MFA: 'off',
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_DEV_UI_PORT: String(await freePort()),
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    OTEL_SERVICE_NAME: 'sso-lifecycle-test',
    LOG_LEVEL: 'warn',
  };
  service = await startService(env, { unset: ['TEMPORAL_ADDRESS'], timeoutMs: 120_000 });
}, 150_000);

afterAll(async () => {
  await service?.stop();
  await mail?.close();
  await new Promise((resolve) => collector?.close(resolve));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (databaseName) {
    const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
    await admin.end();
  }
});

it("shows an admin's decision on a registration as one trace, from the HTTP request to the SQL", async () => {
  const admin = (await call('POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'bootstrap-password-1' } })).body.token as string;
  const units = [
    { code: 'DLA', parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
    { code: 'P41', parentCode: 'DLA', kind: 'province_office', nameTh: 'สถจ.อุดรธานี' },
  ];
  expect((await call('PUT', '/api/v1/org-units', { token: admin, json: units })).status).toBe(200);
  const username = uniqueName('applicant');
  const citizenId = randomCitizenId();
  const form = new FormData();
  form.append(
    'data',
    JSON.stringify({
      citizenId,
      firstNameTh: 'สมหญิง',
      lastNameTh: 'รักงาน',
      email: `${username}@lao.test`,
      position: 'นักวิชาการ',
      unitCode: 'P41',
      username,
      password: 'applicant-password-1',
      requestedAccess: [],
    }),
  );
  form.append('documents', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'evidence.pdf');
  const submitted = await call('POST', '/api/v1/registrations', { body: form });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id as string;
  const decided = await call('POST', `/api/v1/registrations/${id}/decision`, { token: admin, json: { decision: 'approve' } });
  expect(decided).toEqual({ status: 200, body: { status: 'approved' } });
  await mail.waitFor((m) => m.to === `${username}@lao.test` && m.subject.includes('approved'));

  // The request's server span is named by its route, and starts the trace.
  const decisionRoute = 'POST /api/v1/registrations/:id/decision';
  await expect.poll(() => spans.some((s) => s.name === decisionRoute), { timeout: 20_000 }).toBe(true);
  const request = spans.find((s) => s.name === decisionRoute)!;
  expect(request.kind).toBe(SERVER);
  expect(request.parentSpanId ?? '').toBe('');
  const names = () => spans.filter((s) => s.traceId === request.traceId).map((s) => s.name);
  const expected = [
    'StartWorkflowUpdate:decideRegistration',
    'HandleUpdate:decideRegistration',
    'StartActivity:approveRegistration',
    'RunActivity:approveRegistration',
  ];
  await expect.poll(() => expected.filter((name) => !names().includes(name)), { timeout: 20_000 }).toEqual([]);
  const trace = spans.filter((s) => s.traceId === request.traceId);
  // One tree: every span's parent is in the same trace, back to the request.
  const ids = new Set(trace.map((s) => s.spanId));
  for (const span of trace) if (span !== request) expect(ids, span.name).toContain(span.parentSpanId);
  // The activity's statements are its children, with their SQL and none of their parameters.
  const activity = trace.find((s) => s.name === 'RunActivity:approveRegistration')!;
  const statements = trace.filter((s) => s.parentSpanId === activity.spanId && attribute(s, 'db.system') === 'postgresql');
  expect(statements.length).toBeGreaterThan(0);
  expect(statements.map((s) => attribute(s, 'db.statement')).join('\n')).toMatch(/update "registrations"/i);

  // The mail to the applicant went out as a span of its own, inside the activity that sent it.
  await expect.poll(() => spans.some((s) => s.name === 'smtp send' && (attribute(s, 'mail.key') ?? '').includes(id)), { timeout: 20_000 }).toBe(true);
  const smtp = spans.find((s) => s.name === 'smtp send' && (attribute(s, 'mail.key') ?? '').includes(id))!;
  const sender = spans.find((s) => s.spanId === smtp.parentSpanId);
  expect(sender?.name).toMatch(/^RunActivity:/);

  // Query strings (sign-in codes, reset tokens) are cut from the request's span.
  await fetch(`${baseUrl}/password/reset?token=reset-token-in-a-query`);
  await expect.poll(() => spans.some((s) => s.kind === SERVER && attribute(s, 'http.target') === '/password/reset'), { timeout: 20_000 }).toBe(true);

  // Nothing personal left the process: no citizen ID, e-mail address or password in any span.
  const everything = JSON.stringify(spans);
  expect(everything).not.toContain(citizenId);
  expect(everything).not.toContain(`${username}@lao.test`);
  expect(everything).not.toContain('applicant-password-1');
  expect(everything).not.toContain('bootstrap-password-1');
  expect(everything).not.toContain('reset-token-in-a-query');
  expect(exports[0]?.contentType).toMatch(/json/);
}, 120_000);
