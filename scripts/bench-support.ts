// What every benchmark stands on: a throw-away PostgreSQL database, a Temporal dev server and an
// SMTP server, all on this machine; and the small measures the figures need.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import postgres from 'postgres';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { freePort } from '../test/support/global-setup.ts';
import { startMailCatcher, type MailCatcher } from '../test/support/smtp.ts';

const root = join(import.meta.dirname, '..');

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
  const port = await freePort();
  const temporal = spawn(join(root, 'tools', 'bin', 'temporal'), [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]),
  ], { stdio: 'ignore' });
  const temporalAddress = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await Connection.connect({ address: temporalAddress, connectTimeout: 1000 });
      await c.workflowService.describeNamespace({ namespace: 'default' });
      await c.close();
      break;
    } catch (error) {
      if (i > 120) throw error;
      await delay(250);
    }
  }
  const mail = await startMailCatcher();
  return {
    databaseUrl, temporalAddress, temporalPid: temporal.pid!, mail,
    async stop() {
      await mail.close();
      temporal.kill('SIGTERM');
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
