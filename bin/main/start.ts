// Everything in one process on embedded defaults: the API, a worker, and (unless TEMPORAL_ADDRESS
// is set) a Temporal dev server persisted in DATA_DIR. `npm start`.
import '../thread-pool.ts';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { embeddedDatabaseDir } from '../../db/client.ts';
import { loadConfigOrExit } from '../../lib/config.ts';
import type { DevServer } from '../../lib/temporal.ts';
import { startTracing } from '../../lib/tracing.ts';
import { describeLoad, loadThailandOfficesIfEmpty } from '../../services/thailand-offices.ts';
import {
  closeResources,
  connectClient,
  createApi,
  createServiceWorker,
  openResources,
  prepareSystem,
  startEmbeddedTemporal,
  startHousekeeping,
} from '../system.ts';

// All in one on embedded defaults: without a real ThaiD, its local stand-in.
const config = loadConfigOrExit({ THAIID_STANDIN: 'true', ...process.env });
// A fresh embedded database is made in a child process, beside the dev server's start (bin/main/prepare-embedded.ts).
const prepared = config.databaseUrl ? undefined : prepareEmbeddedDatabase();
const tracing = await startTracing(config, 'sso-lifecycle');
let devServer: DevServer | undefined;
if (!config.temporalAddress) devServer = await startEmbeddedTemporal(config);
const temporalAddress = config.temporalAddress ?? devServer!.address;
const preparedOffices = await prepared;
const resources = await openResources(config);
const offices = await loadThailandOfficesIfEmpty(resources.database); // a real country to start from (a database not made by the child: PostgreSQL, an older DATA_DIR)
const client = await connectClient(temporalAddress, config.temporalNamespace, tracing);
const { worker, connection } = await createServiceWorker(resources, config, temporalAddress, tracing);
const app = await createApi(resources, config, client);
await app.listen({ port: config.port, host: config.host });
const workerRun = worker.run();
const stopHousekeeping = startHousekeeping(resources, (error) => app.log.warn({ err: error }, 'back-channel logout sweep failed'));
const { bootstrap } = await prepareSystem(resources, config, client, app.log);

const lines = [
  `sso-lifecycle is up`,
  `  API            ${config.publicUrl}/api/v1`,
  `  API docs       ${config.publicUrl}/docs   (OpenAPI: ${config.publicUrl}/openapi.json)`,
  `  Temporal       ${temporalAddress} (${config.temporalNamespace})${devServer ? `   UI: ${devServer.uiUrl}` : ''}`,
  `  Database       ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${embeddedDatabaseDir(config.dataDir)}`}`,
  `  Portal         ${config.publicUrl}/   (sign-in with a password or ThaiID)`,
  `  Single sign-on ${config.publicUrl}/.well-known/openid-configuration`,
  `  ThaiID         ${config.thaiid.issuer ?? `${config.publicUrl}/thaid-standin   (a local STAND-IN for ThaiD: it verifies nothing; set THAIID_ISSUER for the real one)`}`,
  `  Mail           ${config.smtpUrl ? `SMTP ${new URL(config.smtpUrl).host}` : `.eml files in ${join(config.dataDir, 'outbox')}`}`,
  ...(preparedOffices ? [`  Offices        ${preparedOffices}`] : offices ? [`  Offices        ${describeLoad(offices)}`] : []),
];
if (bootstrap.created) {
  lines.push(
    bootstrap.password
      ? `  First admin    username "admin", password ${bootstrap.password}   (${resources.database.embedded ? `kept in ${join(config.dataDir, 'admin-password')}` : 'shown once'}; set BOOTSTRAP_ADMIN_PASSWORD to choose it)`
      : `  First admin    username "admin", password from BOOTSTRAP_ADMIN_PASSWORD`,
  );
}
console.log(lines.join('\n'));

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'stopping: draining HTTP, then the worker');
  await app.close();
  stopHousekeeping();
  worker.shutdown();
  await workerRun.catch(() => {});
  await connection.close();
  await client.connection.close();
  await closeResources(resources);
  await devServer?.stop();
  await tracing?.shutdown();
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));

/**
 * Creates the embedded database on a fresh DATA_DIR in a child process: what it loaded of DLA's
 * offices, if anything. A marker beside it stands while it is being made, so that a first start
 * interrupted (Ctrl-C during initdb) is made again from nothing rather than opened half-made.
 */
async function prepareEmbeddedDatabase(): Promise<string | undefined> {
  const dir = embeddedDatabaseDir(config.dataDir);
  const creating = `${dir}.creating`;
  if (existsSync(creating)) rmSync(dir, { recursive: true, force: true });
  else if (existsSync(dir)) return undefined;
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(creating, 'the embedded database is being created; if this file stays, the next start creates it again\n');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'prepare-embedded.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let loaded = '';
  child.stdout.on('data', (chunk) => (loaded += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) {
    console.error(`could not create the embedded database in ${dir} (exit ${code})`);
    process.exit(1);
  }
  rmSync(creating);
  return loaded.trim();
}
