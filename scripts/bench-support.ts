// What every benchmark stands on: a throw-away PostgreSQL database, a Temporal dev server and an
// SMTP server, all on this machine; and the small measures the figures need.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { loadConfig } from '../lib/config.ts';
import { generateSigningKey } from '../lib/sso/keys.ts';
import { connectClient, createApi, openResources, startEmbeddedTemporal } from '../bin/system.ts';
import { freePort } from '../lib/net.ts';
import { startMailCatcher, type MailCatcher } from './support/mail-catcher.ts';

export interface BenchServices {
  databaseUrl: string;
  temporalAddress: string;
  temporalPid: number;
  mail: MailCatcher;
  stop(): Promise<void>;
}

export async function startBenchServices(): Promise<BenchServices> {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `sso_bench_${randomBytes(4).toString('hex')}`;
  const pgAdmin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await pgAdmin.unsafe(`create database ${dbName}`);
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const temporal = await startEmbeddedTemporal(loadConfig({}), { dbFile: null, port: await freePort(), uiPort: null, quiet: true });
  const mail = await startMailCatcher();
  return {
    databaseUrl,
    temporalAddress: temporal.address,
    temporalPid: temporal.pid,
    mail,
    async stop() {
      await mail.close();
      await temporal.stop();
      await pgAdmin.unsafe(`drop database if exists ${dbName} with (force)`);
      await pgAdmin.end();
    },
  };
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

/** Peak resident set size of a process, in MB (Linux). */
export const peakRssMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(line?.replace(/\D/g, '') ?? 0) / 1024);
};

export async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * The service as production runs it, on these services: the API in this process, the worker in a
 * process of its own (bin/worker.ts) so that its memory is measured alone. This process installs
 * no Temporal runtime (the API's client needs none): an installed runtime forwards its logs from a
 * native thread that keeps the process alive until a native connection closes, and a bench that
 * opens none would never exit.
 */
export async function startBenchService(services: BenchServices, extraEnv: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sso-bench-'));
  const env = {
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
    SMTP_URL: services.mail.url,
    DATA_DIR: dataDir,
    // One signing key for the API and the worker, as a deployment configures it.
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SSO_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    LOG_LEVEL: 'warn',
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1',
    WORKER_HTTP_PORT: '0',
    ...extraEnv,
  };
  const config = loadConfig(env);
  const resources = await openResources(config);
  const client = await connectClient(config.temporalAddress!, config.temporalNamespace);
  const app = await createApi(resources, config, client);
  await app.listen({ port: 0, host: '127.0.0.1' });
  // BENCH_PROFILE_DIR: the worker writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const worker = spawn(process.execPath, [...profile, join(import.meta.dirname, '..', 'bin', 'worker.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    config,
    resources,
    db: resources.database.db,
    client,
    worker,
    base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1`,
    async stop() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      await Promise.race([exited, delay(15_000)]);
      await app.close();
      await client.connection.close();
      await resources.database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
