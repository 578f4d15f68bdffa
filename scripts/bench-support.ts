// What every benchmark stands on: a throw-away PostgreSQL database, a Temporal dev server and an
// SMTP server, all on this machine; and the small measures the figures need.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startDevServer } from '../lib/temporal.ts';
import { freePort } from '../test/support/global-setup.ts';
import { startMailCatcher, type MailCatcher } from '../test/support/smtp.ts';


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
  const temporal = await startDevServer({ namespace: 'default', dbFile: null, port: await freePort(), uiPort: null, quiet: true });
  const mail = await startMailCatcher();
  return {
    databaseUrl, temporalAddress: temporal.address, temporalPid: temporal.pid, mail,
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
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(line?.replace(/\D/g, '') ?? 0) / 1024);
};

export async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}
