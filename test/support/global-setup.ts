// Once per test run: a fresh PostgreSQL database (dropped at the end) and one real Temporal dev
// server shared by every file (per-file servers have caused connection resets).
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../db/client.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { temporalBinary } from './temporal-binaries.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `sso_test_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const migrated = await openDatabase({ databaseUrl, dataDir: '/tmp' });
  await migrated.close();

  const port = await freePort();
  const temporal = spawn(temporalBinary('temporal'), [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]),
  ], { stdio: 'ignore' });
  const temporalAddress = `127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const connection = await Connection.connect({ address: temporalAddress, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      break;
    } catch (error) {
      if (attempt > 120) throw error;
      await delay(250);
    }
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', temporalAddress);

  return async () => {
    temporal.kill('SIGTERM');
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}
