// The composition root: how the parts are wired into a running system. Every entry point uses it
// (bin/start.ts all in one, bin/api.ts, bin/worker.ts, the tests and the benchmarks), so the API,
// the worker and the start-up chores are built the same way everywhere.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createActivities } from '../activities/index.ts';
import { buildApp } from '../api/app.ts';
import { openDatabase, type Database } from '../db/client.ts';
import type { Config } from '../lib/config.ts';
import { createCipher, deriveSecret, loadMasterKey, type PersonalDataCipher } from '../lib/crypto.ts';
import { createDocumentStore, type DocumentStore } from '../lib/document-store.ts';
import { createMailTransport, type MailTransport } from '../lib/mail.ts';
import { startSsoHousekeeping } from '../lib/sso/backchannel-logout.ts';
import { loadSigningKeys, type SsoSecrets } from '../lib/sso/keys.ts';
import { connectClient, createWorker, startDevServer, type DevServer } from '../lib/temporal.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { prepare, resumeFlows } from '../services/startup.ts';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';

export const WORKFLOWS_PATH = join(import.meta.dirname, '..', 'workflows', 'index.ts');

/** What every process opens at start. */
export interface Resources {
  database: Database;
  cipher: PersonalDataCipher;
  documentStore: DocumentStore;
  mail: MailTransport;
  sso: SsoSecrets;
}

export async function openResources(config: Config): Promise<Resources> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const masterKey = loadMasterKey(config.encryptionKey, config.dataDir, database.embedded);
  const signingKeys = await loadSigningKeys(config.sso.signingKeys, config.dataDir, database.embedded);
  return {
    database, cipher: createCipher(masterKey), documentStore: createDocumentStore(config.dataDir), mail: createMailTransport(config),
    sso: { signingKeys, cookieKeys: [deriveSecret(masterKey, 'sso-lifecycle/sso/cookies')], logoutSigner: { issuer: config.publicUrl, keys: signingKeys } },
  };
}

export async function closeResources(resources: Resources): Promise<void> {
  await resources.database.close();
  resources.mail.close();
}

/** The embedded Temporal dev server, persisted in DATA_DIR (or forgetful: `dbFile` null), with our search attributes. */
export function startEmbeddedTemporal(config: Config, options: { dbFile?: string | null; port?: number; uiPort?: number | null; quiet?: boolean } = {}): Promise<DevServer> {
  return startDevServer({
    namespace: config.temporalNamespace, searchAttributes: SEARCH_ATTRIBUTES, binary: config.temporalDev.cliPath,
    dbFile: options.dbFile === undefined ? join(config.dataDir, 'temporal', 'temporal.db') : options.dbFile,
    port: options.port ?? config.temporalDev.port, uiPort: options.uiPort === undefined ? config.temporalDev.uiPort : options.uiPort, quiet: options.quiet ?? false,
  });
}

export function serviceDeps(resources: Resources, config: Config, client: Client): ServiceDeps {
  return {
    db: resources.database.db, config, cipher: resources.cipher, documentStore: resources.documentStore, workflows: { client, config },
  };
}

/** The HTTP API (and pages) over the services. */
export function createApi(resources: Resources, config: Config, client: Client, options: { logStream?: DestinationStream } = {}): Promise<FastifyInstance> {
  return buildApp({ ...serviceDeps(resources, config, client), temporal: client, sso: resources.sso }, options);
}

/** A worker running every workflow and activity on the configured task queue. */
export function createServiceWorker(resources: Resources, config: Config, temporalAddress: string): Promise<{ worker: Worker; connection: NativeConnection }> {
  return createWorker(temporalAddress, config, WORKFLOWS_PATH, createActivities({
    db: resources.database.db, config, mail: resources.mail, documentStore: resources.documentStore, logoutSigner: resources.sso.logoutSigner,
  }));
}

/** Back-channel logouts that could not be delivered at once (a system was down) are sent again. */
export function startHousekeeping(resources: Resources, onError?: (error: unknown) => void): () => void {
  return startSsoHousekeeping(resources.database.db, resources.sso.logoutSigner, 5000, onError);
}

/** Start-up's chores: the first admin and the schedules now, the re-hand-over of stuck flows in the background. */
export async function prepareSystem(resources: Resources, config: Config, client: Client, log: { error(o: object, m: string): void }) {
  const workflows = { client, config };
  const bootstrap = await prepare(resources.database.db, workflows);
  // Embedded mode keeps a generated first password beside encryption.key, for `npm run demo` (and whoever missed the start-up lines).
  if (bootstrap.password && resources.database.embedded) writeFileSync(join(config.dataDir, 'admin-password'), `${bootstrap.password}\n`, { mode: 0o600 });
  // In the background: there may be thousands of events dated ahead.
  const resumed = resumeFlows(resources.database.db, workflows).catch((error: unknown) => {
    log.error({ err: error }, 'cannot resume flows saved without their workflow');
    return null;
  });
  return { bootstrap, resumed };
}

export { connectClient };
