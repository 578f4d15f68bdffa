// Once per test run: a fresh PostgreSQL database (dropped at the end) and one real Temporal dev
// server shared by every file (per-file servers have caused connection resets).
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../db/client.ts';
import { startEmbeddedTemporal } from '../../bin/system.ts';
import { loadConfig } from '../../lib/config.ts';
import { freePort } from '../../lib/net.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
  }
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

  const temporal = await startEmbeddedTemporal(loadConfig({}), { dbFile: null, port: await freePort(), uiPort: null, quiet: true });
  const temporalAddress = temporal.address;
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', temporalAddress);

  return async () => {
    await temporal.stop();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}
