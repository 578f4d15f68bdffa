// Everything in one process on embedded defaults: the API, a worker, and (unless TEMPORAL_ADDRESS
// is set) a Temporal dev server persisted in DATA_DIR. `npm start`.
import { join } from 'node:path';
import { buildApp } from '../api/app.ts';
import { loadConfig } from '../lib/config.ts';
import { ensureSchedules } from '../lib/schedules.ts';
import { activityDepsOf, appDepsOf, ensureBootstrapAdmin, openResources, resumeScheduledPersonnelEvents, resumeUnstartedRegistrations } from '../lib/runtime.ts';
import { startSsoHousekeeping } from '../lib/sso/backchannel-logout.ts';
import { connectClient, createWorker, startDevServer, type DevServer } from '../lib/temporal.ts';

// All in one on embedded defaults: without a real ThaiD, its local stand-in.
const config = loadConfig({ THAIID_STANDIN: 'true', ...process.env });
let devServer: DevServer | undefined;
if (!config.temporalAddress) {
  devServer = await startDevServer({
    namespace: config.temporalNamespace, dbFile: join(config.dataDir, 'temporal', 'temporal.db'),
    port: Number(process.env.TEMPORAL_DEV_PORT ?? 7233), uiPort: Number(process.env.TEMPORAL_DEV_UI_PORT ?? 8233),
  });
}
const temporalAddress = config.temporalAddress ?? devServer!.address;
const resources = await openResources(config);
const bootstrap = await ensureBootstrapAdmin(resources, config);
const client = await connectClient(temporalAddress, config.temporalNamespace);
const { worker, connection } = await createWorker(temporalAddress, config, activityDepsOf(resources, config));
const app = await buildApp(appDepsOf(resources, config, client));
await app.listen({ port: config.port, host: config.host });
const workerRun = worker.run();
const stopSweeper = startSsoHousekeeping(resources.database.db, resources.sso.logoutSigner, 5000, (error) => app.log.warn({ err: error }, 'back-channel logout sweep failed'));
await resumeUnstartedRegistrations(resources, client, config);
await ensureSchedules(client, config);
// In the background: there may be thousands of events dated ahead.
void resumeScheduledPersonnelEvents(resources, client, config).catch((error: unknown) => app.log.error({ err: error }, 'cannot resume personnel events'));

const lines = [
  `sso-lifecycle is up`,
  `  API            ${config.publicUrl}/api/v1`,
  `  API docs       ${config.publicUrl}/docs   (OpenAPI: ${config.publicUrl}/openapi.json)`,
  `  Temporal       ${temporalAddress} (${config.temporalNamespace})${devServer ? `   UI: ${devServer.uiUrl}` : ''}`,
  `  Database       ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${join(config.dataDir, 'pglite')}`}`,
  `  Portal         ${config.publicUrl}/   (sign-in with a password or ThaiID)`,
  `  Single sign-on ${config.publicUrl}/.well-known/openid-configuration`,
  `  ThaiID         ${config.thaiid.issuer ?? `${config.publicUrl}/thaid-standin   (a local STAND-IN for ThaiD: it verifies nothing; set THAIID_ISSUER for the real one)`}`,
  `  Mail           ${config.smtpUrl ? `SMTP ${new URL(config.smtpUrl).host}` : `.eml files in ${join(config.dataDir, 'outbox')}`}`,
];
if (bootstrap.created) {
  lines.push(bootstrap.password
    ? `  First admin    username "admin", password ${bootstrap.password}   (shown once; set BOOTSTRAP_ADMIN_PASSWORD to choose it)`
    : `  First admin    username "admin", password from BOOTSTRAP_ADMIN_PASSWORD`);
}
console.log(lines.join('\n'));

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'stopping: draining HTTP, then the worker');
  await app.close();
  stopSweeper();
  worker.shutdown();
  await workerRun.catch(() => {});
  await connection.close();
  await client.connection.close();
  await resources.database.close();
  resources.mail.close();
  await devServer?.stop();
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
