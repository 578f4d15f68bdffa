// The composition root: how the parts are wired into a running system. Every entry point uses it
// (bin/start.ts all in one, bin/api.ts, bin/worker.ts, the tests and the benchmarks), so the API,
// the worker and the start-up chores are built the same way everywhere.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
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
import { assertKeyFitsDatabase } from '../lib/key-check.ts';
import { createDocumentStore, type DocumentStore } from '../lib/document-store.ts';
import { createMailTransport, type MailTransport } from '../lib/mail.ts';
import { METRICS_CONTENT_TYPE, createWorkerMetrics } from '../lib/metrics.ts';
import { freePort } from '../lib/net.ts';
import { startSsoHousekeeping } from '../lib/sso/backchannel-logout.ts';
import { loadSigningKeys, type SsoSecrets } from '../lib/sso/keys.ts';
import type { Tracing } from '../lib/tracing.ts';
import { connectClient, createWorker, installTemporalRuntime, startDevServer, type DevServer } from '../lib/temporal.ts';
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
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedBuffers: config.embeddedDatabaseBuffers });
  const masterKey = loadMasterKey(config.encryptionKey, config.dataDir, database.embedded);
  const signingKeys = await loadSigningKeys(config.sso.signingKeys, config.dataDir, database.embedded);
  const cipher = createCipher(masterKey);
  await assertKeyFitsDatabase(database.db, cipher);
  return {
    database,
    cipher,
    documentStore: createDocumentStore(config.dataDir, masterKey),
    mail: createMailTransport(config),
    sso: { signingKeys, cookieKeys: [deriveSecret(masterKey, 'sso-lifecycle/sso/cookies')], logoutSigner: { issuer: config.publicUrl, keys: signingKeys } },
  };
}

export async function closeResources(resources: Resources): Promise<void> {
  await resources.database.close();
  resources.mail.close();
}

/** The embedded Temporal dev server, persisted in DATA_DIR (or forgetful: `dbFile` null), with our search attributes. */
export function startEmbeddedTemporal(
  config: Config,
  options: { dbFile?: string | null; port?: number; uiPort?: number | null; quiet?: boolean } = {},
): Promise<DevServer> {
  return startDevServer({
    namespace: config.temporalNamespace,
    searchAttributes: SEARCH_ATTRIBUTES,
    binary: config.temporalDev.cliPath,
    dbFile: options.dbFile === undefined ? join(config.dataDir, 'temporal', 'temporal.db') : options.dbFile,
    port: options.port ?? config.temporalDev.port,
    uiPort: options.uiPort === undefined ? config.temporalDev.uiPort : options.uiPort,
    quiet: options.quiet ?? false,
  });
}

export function serviceDeps(resources: Resources, config: Config, client: Client): ServiceDeps {
  return {
    db: resources.database.db,
    config,
    cipher: resources.cipher,
    documentStore: resources.documentStore,
    workflows: { client, config },
  };
}

/** The HTTP API (and pages) over the services. */
export function createApi(resources: Resources, config: Config, client: Client, options: { logStream?: DestinationStream } = {}): Promise<FastifyInstance> {
  return buildApp({ ...serviceDeps(resources, config, client), temporal: client, sso: resources.sso }, options);
}

/** A worker running every workflow and activity on the configured task queue. */
export function createServiceWorker(
  resources: Resources,
  config: Config,
  temporalAddress: string,
  tracing?: Tracing | null,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  return createWorker(
    temporalAddress,
    config,
    WORKFLOWS_PATH,
    createActivities({
      db: resources.database.db,
      config,
      mail: resources.mail,
      documentStore: resources.documentStore,
      logoutSigner: resources.sso.logoutSigner,
    }),
    tracing,
  );
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

/**
 * The worker process's own HTTP port (WORKER_HTTP_PORT): live while the process runs, ready while
 * its worker runs and polls the task queue, and its metrics with the Temporal SDK's own (exported
 * by the SDK on a loopback port of their own, read at each scrape). Call before the worker is created.
 */
export async function startWorkerHttp(config: Config): Promise<{ serve(worker: Worker): Promise<number>; close(): Promise<void> }> {
  const sdkMetricsAddress = `127.0.0.1:${await freePort()}`;
  installTemporalRuntime(config.logLevel, { sdkMetricsAddress });
  const server = createServer();
  return {
    async serve(worker) {
      const metrics = createWorkerMetrics(() => worker.getState(), `http://${sdkMetricsAddress}/metrics`);
      server.on('request', (request, response) => {
        const answer = (status: number, body: string, type = 'application/json') => response.writeHead(status, { 'content-type': type }).end(body);
        const path = (request.url ?? '/').split('?')[0];
        if (request.method !== 'GET') return answer(405, JSON.stringify({ status: 'method not allowed' }));
        if (path === '/health/live') return answer(200, JSON.stringify({ status: 'up' }));
        if (path === '/health/ready') {
          const { runState, workflowPollerState, activityPollerState } = worker.getStatus();
          const ready = runState === 'RUNNING' && workflowPollerState === 'POLLING' && activityPollerState === 'POLLING';
          return answer(
            ready ? 200 : 503,
            JSON.stringify({
              status: ready ? 'ready' : 'not ready',
              worker: runState,
              workflowPoller: workflowPollerState,
              activityPoller: activityPollerState,
            }),
          );
        }
        if (path === '/metrics') {
          return void metrics.render().then(
            (text) => answer(200, text, METRICS_CONTENT_TYPE),
            () => answer(500, JSON.stringify({ status: 'metrics failed' })),
          );
        }
        return answer(404, JSON.stringify({ status: 'not found' }));
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.workerHttpPort, config.host, () => resolve()));
      return (server.address() as { port: number }).port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's kept-alive connection would hold the close
      }),
  };
}

export { connectClient };
