// What every benchmark stands on: a throw-away PostgreSQL database, a Temporal dev server and an
// SMTP server, all on this machine; and the small measures the figures need.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
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

/** `keepMail: false`: the SMTP server counts mails instead of parsing and keeping them (for benches that send thousands). */
export async function startBenchServices(options: { keepMail?: boolean } = {}): Promise<BenchServices> {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `sso_bench_${randomBytes(4).toString('hex')}`;
  const pgAdmin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  // What failed benches left (their database stays: dropping it needs a round trip they no longer had). A
  // bench running beside this one is connected to its own, and PostgreSQL refuses to drop that one.
  for (const { datname } of await pgAdmin<{ datname: string }[]>`select datname from pg_database where datname like 'sso\_bench\_%'`) {
    await pgAdmin.unsafe(`drop database if exists ${datname}`).catch(() => {});
  }
  await pgAdmin.unsafe(`create database ${dbName}`);
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const temporal = await startEmbeddedTemporal(loadConfig({}), { dbFile: null, port: await freePort(), uiPort: null, quiet: true });
  const mail = await startMailCatcher({ keep: options.keepMail ?? true });
  // A bench that fails half way leaves no server running (startDevServer sees to it; its database, the next bench drops).
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

/** The machine a figure was measured on, for the first line a benchmark prints. */
export const machine = () => {
  const all = cpus();
  return `${all.length} cores, ${all[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
};

/**
 * CPU time a process has spent so far (user + system, all its threads), in ms, from
 * /proc/<pid>/stat (Linux). The difference over a phase is the work the process did, whatever
 * else the machine was running meanwhile.
 */
export const cpuMsOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses: utime is the 14th, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
};
// USER_HZ: 100 on every Linux Node runs on (getconf CLK_TCK).
const CLOCK_TICKS = 100;

/** CPU time so far of every process of this command name (`postgres`: the server and its backends), in ms (Linux). */
export const cpuMsOfCommand = (name: string) => {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) total += cpuMsOf(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
};

/** Resident set size of a process now, in MB, and its anonymous (heap) part (Linux). */
export const rssMb = (pid: number) => {
  const fields = Object.fromEntries(
    readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      .split('\n')
      .map((l) => /^(\w+):\s+(\d+) kB/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, Number(m[2]) / 1024]),
  );
  return { rss: Math.round(fields.Rss ?? 0), anonymous: Math.round(fields.Anonymous ?? 0) };
};

/** A process's descendants, by pid (Linux). */
export const descendantsOf = (pid: number): number[] => {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    children = []; // gone meanwhile
  }
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
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
 * One of the service's production entry points (bin/api.ts, bin/worker.ts, bin/start.ts) as a
 * process of its own, so that its CPU time and memory are its own. BENCH_PROFILE_DIR: it writes a
 * V8 CPU profile there when it stops (open it in Chrome's DevTools).
 */
export async function startServiceProcess(
  entry: 'api' | 'worker' | 'start',
  env: Record<string, string>,
  ready: string,
  options: { nodeArgs?: string[]; readyWithin?: number } = {},
) {
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ...(options.nodeArgs ?? []), join(import.meta.dirname, '..', 'bin', `${entry}.ts`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The service never outlives its bench, even one that fails half way.
  process.once('exit', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const readyWithin = options.readyWithin ?? 120_000;
  const deadline = Date.now() + readyWithin;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bin/${entry}.ts exited with ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`bin/${entry}.ts was not ready at ${ready} within ${readyWithin / 1000} s`);
    }
    const ok = await fetch(ready).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    await delay(200);
  }
  return {
    pid: child.pid!,
    output: () => stdout,
    cpuMs: () => cpuMsOf(child.pid!),
    peakRssMb: () => peakRssMb(child.pid!),
    /** SIGKILL, as a crash would; resolves once the process is gone. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    /** SIGTERM, then SIGKILL after 15 s; resolves once the process is gone. */
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
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
    // The benches' admins sign in with a password alone (a closed test).
    ADMIN_MFA: 'off',
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
