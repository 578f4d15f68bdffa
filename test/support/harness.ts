// The service as it runs in production, in-process: real PostgreSQL (the run's database), the run's
// real Temporal dev server, a real SMTP server on loopback, and the API listening on a real port.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { accounts } from '../../db/schema.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { closeResources, connectClient, createApi, createServiceWorker, openResources, type Resources } from '../../bin/system.ts';
import { freePort } from '../../lib/net.ts';
import { generateSigningKey } from '../../lib/sso/keys.ts';
import { PDF, randomCitizenId, uniqueName } from '../../scripts/support/fixtures.ts';
import { startMailCatcher, type MailCatcher } from '../../scripts/support/mail-catcher.ts';
import { freshTotpCode } from '../../scripts/support/totp.ts';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

/** One signing key per test process, as a deployment configures it (every process the same). */
let testSigningKeys: string | undefined;
async function signingKeysForTests(): Promise<string> {
  testSigningKeys ??= JSON.stringify({ keys: [await generateSigningKey()] });
  return testSigningKeys;
}

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestAccount {
  id: string;
  username: string;
  password: string;
  citizenId: string;
  email: string;
  token: string;
  /** With ADMIN_MFA=required: the TOTP secret harness enrolled (the central admin's). */
  totpSecret?: string;
}

export interface Tree {
  root: string;
  province: string;
  districtA: string;
  districtB: string;
  laoA: string;
  laoA2: string;
  laoB: string;
}

export interface Harness {
  baseUrl: string;
  /** The API in this process (its route table, for the authorisation matrices). */
  app: FastifyInstance;
  config: Config;
  resources: Resources;
  client: Client;
  mail: MailCatcher;
  /** The API's log lines (JSON). */
  logs: string[];
  central: TestAccount;
  request<T = any>(
    method: string,
    path: string,
    options?: { token?: string; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> },
  ): Promise<Response<T>>;
  login(username: string, password: string): Promise<string>;
  /** DLA root → province → districts A (with an admin) and B (none) → LAOs. */
  seedTree(): Promise<Tree>;
  createAccount(unitCode: string, extra?: Partial<{ citizenId: string }>): Promise<TestAccount>;
  /** Enrols the account's TOTP through the API (with ADMIN_MFA=required): its secret and recovery codes. */
  enrolTotp(account: { username: string; password: string }): Promise<{ secret: string; recoveryCodes: string[] }>;
  /** A TOTP code for the secret that this run has not used yet (the next step's when the current one was). */
  totpCode(secret: string): Promise<string>;
  designateAdmins(unitCode: string, accounts: TestAccount[]): Promise<void>;
  /**
   * Puts the connected system INFO (roles viewer and editor). Every test file shares it in one
   * database: one definition, so no file sees another's name or address.
   */
  putInfoSystem(): Promise<void>;
  submitRegistration(
    overrides?: Record<string, unknown>,
    files?: { name: string; type: string; content: Buffer }[],
  ): Promise<Response & { citizenId: string; email: string; username: string; password: string }>;
  stop(): Promise<void>;
}

/**
 * `reachable`: PUBLIC_URL is the server's real address, for flows where browsers and other
 * servers follow the links it gives (single sign-on, ThaiID).
 */
export async function startHarness(env: Record<string, string> = {}, options: { worker?: boolean; reachable?: boolean } = {}): Promise<Harness> {
  const mail = await startMailCatcher();
  const port = options.reachable ? await freePort() : 0;
  if (options.reachable) env = { PUBLIC_URL: `http://127.0.0.1:${port}`, ...env };
  const dataDir = mkdtempSync(join(tmpdir(), 'sso-test-'));
  const config = loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    SMTP_URL: mail.url,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    SSO_SIGNING_KEYS: await signingKeysForTests(),
    THAIID_STANDIN: 'true',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    PUBLIC_URL: 'http://sso.test',
    LOGIN_RATE_LIMIT_PER_ADDRESS: '1000',
    // Admins sign in with a password alone here; test/integration/mfa.test.ts runs with the second factor required.
    ADMIN_MFA: 'off',
    REGISTRATION_RATE_LIMIT_PER_ADDRESS: '1000',
    ...env,
  });
  const resources = await openResources(config);
  const client = await connectClient(config.temporalAddress!, config.temporalNamespace);
  // Without an in-process worker, a test runs its own (bin/worker.ts) as a process it can kill.
  const inProcess: { worker: Worker; connection: NativeConnection } | undefined =
    options.worker === false ? undefined : await createServiceWorker(resources, config, config.temporalAddress!);
  const workerRun = inProcess?.worker.run();
  // Every log line the API writes, kept for the tests to read (and out of the test output).
  const logs: string[] = [];
  const logStream = {
    write: (line: string) => {
      logs.push(line);
    },
  };
  const app: FastifyInstance = await createApi(resources, config, client, { logStream });
  await app.listen({ port, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  async function request<T = any>(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async function login(username: string, password: string) {
    const res = await request('POST', '/api/v1/auth/login', { json: { username, password } });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token as string;
  }

  // This file's own DLA central admin (the run's database is shared by every test file).
  const central = {
    id: randomUUID(),
    username: uniqueName('central'),
    password: 'central-password-1',
    citizenId: randomCitizenId(),
    email: `${randomUUID()}@central.test`,
    token: '',
  };
  await resources.database.db.insert(accounts).values({
    id: central.id,
    username: central.username,
    passwordHash: await hashPassword(central.password),
    firstNameTh: 'ส่วนกลาง',
    lastNameTh: 'ทดสอบ',
    email: central.email,
    centralAdmin: true,
    citizenIdHash: resources.cipher.lookupHash(central.citizenId),
    citizenIdEnc: resources.cipher.encrypt(central.citizenId),
  });
  const totpCode = freshTotpCode;
  async function enrolTotp(account: { username: string; password: string }) {
    const started = await request('POST', '/api/v1/auth/mfa/totp', { json: { username: account.username, password: account.password } });
    if (started.status !== 200) throw new Error(`enrol ${account.username}: ${started.status} ${JSON.stringify(started.body)}`);
    const secret = started.body.secret as string;
    const confirmed = await request('POST', '/api/v1/auth/mfa/totp/confirm', {
      json: { username: account.username, password: account.password, otp: await totpCode(secret) },
    });
    if (confirmed.status !== 200) throw new Error(`confirm ${account.username}: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
    return { secret, recoveryCodes: confirmed.body.recoveryCodes as string[] };
  }
  if (config.adminMfa.mode === 'required') {
    // The file's central admin signs in with a code, like every admin (the secret kept on the account).
    const { secret } = await enrolTotp(central);
    Object.assign(central, { totpSecret: secret });
    const res = await request('POST', '/api/v1/auth/login', { json: { username: central.username, password: central.password, otp: await totpCode(secret) } });
    if (res.status !== 200) throw new Error(`login ${central.username}: ${res.status} ${JSON.stringify(res.body)}`);
    central.token = res.body.token as string;
  } else {
    central.token = await login(central.username, central.password);
  }

  const harness: Harness = {
    baseUrl,
    app,
    config,
    resources,
    client,
    mail,
    central,
    request,
    login,
    logs,
    enrolTotp,
    totpCode,
    async seedTree() {
      const p = uniqueName('u').toUpperCase();
      const tree: Tree = {
        root: `${p}-DLA`,
        province: `${p}-P41`,
        districtA: `${p}-D01`,
        districtB: `${p}-D02`,
        laoA: `${p}-S01`,
        laoA2: `${p}-S03`,
        laoB: `${p}-S02`,
      };
      const res = await request('PUT', '/api/v1/org-units', {
        token: central.token,
        json: [
          { code: tree.root, parentCode: null, kind: 'dla', nameTh: 'กรมส่งเสริมการปกครองท้องถิ่น' },
          { code: tree.province, parentCode: tree.root, kind: 'province_office', nameTh: 'สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดอุดรธานี' },
          { code: tree.districtA, parentCode: tree.province, kind: 'district_office', nameTh: 'สถอ.เมืองอุดรธานี' },
          { code: tree.districtB, parentCode: tree.province, kind: 'district_office', nameTh: 'สถอ.กุมภวาปี' },
          { code: tree.laoA, parentCode: tree.districtA, kind: 'sao', nameTh: 'อบต.หนองนาคำ' },
          { code: tree.laoA2, parentCode: tree.districtA, kind: 'municipality', nameTh: 'เทศบาลตำบลนาข่า' },
          { code: tree.laoB, parentCode: tree.districtB, kind: 'sao', nameTh: 'อบต.ห้วยเกิ้ง' },
        ],
      });
      if (res.status !== 200) throw new Error(`seed tree: ${res.status} ${JSON.stringify(res.body)}`);
      return tree;
    },
    async createAccount(unitCode, extra = {}) {
      const username = uniqueName('staff');
      const password = 'staff-password-1';
      const citizenId = extra.citizenId ?? randomCitizenId();
      const email = `${username}@lao.test`;
      const res = await request('POST', '/api/v1/accounts', {
        token: central.token,
        json: {
          username,
          password,
          citizenId,
          firstNameTh: 'สมชาย',
          lastNameTh: 'ใจดี',
          email,
          unitCode,
        },
      });
      if (res.status !== 201) throw new Error(`create account: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, username, password, citizenId, email, token: await login(username, password) };
    },
    async designateAdmins(unitCode, admins) {
      const res = await request('PUT', `/api/v1/org-units/${unitCode}/admins`, { token: central.token, json: admins.map((a) => ({ accountId: a.id })) });
      if (res.status !== 200) throw new Error(`designate: ${res.status} ${JSON.stringify(res.body)}`);
      // Their tokens now carry admin rights (scope is read per request).
    },
    async putInfoSystem() {
      const res = await request('PUT', '/api/v1/systems/INFO', {
        token: central.token,
        json: { nameTh: 'ระบบฐานข้อมูลกลางองค์กรปกครองส่วนท้องถิ่น', nameEn: 'INFO', url: 'https://info.dla.go.th', roles: ['viewer', 'editor'] },
      });
      if (res.status !== 200 && res.status !== 201) throw new Error(`put INFO: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async submitRegistration(overrides = {}, files = [{ name: 'appointment.pdf', type: 'application/pdf', content: PDF }]) {
      const username = uniqueName('applicant');
      const data = {
        citizenId: randomCitizenId(),
        firstNameTh: 'สมหญิง',
        lastNameTh: 'รักงาน',
        email: `${username}@lao.test`,
        position: 'นักวิชาการคอมพิวเตอร์',
        unitCode: 'missing',
        username,
        password: 'applicant-password-1',
        requestedAccess: [],
        ...overrides,
      };
      const form = new FormData();
      form.append('data', JSON.stringify(data));
      for (const f of files) form.append('documents', new Blob([new Uint8Array(f.content)], { type: f.type }), f.name);
      const res = await request('POST', '/api/v1/registrations', { body: form });
      return { ...res, citizenId: data.citizenId, email: data.email, username: data.username, password: data.password };
    },
    async stop() {
      await app.close();
      inProcess?.worker.shutdown();
      await workerRun;
      await inProcess?.connection.close();
      await client.connection.close();
      await closeResources(resources);
      await mail.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
