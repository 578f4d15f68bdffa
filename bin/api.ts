// Production entry point: the HTTP API alone (scale it apart from the worker).
// Needs DATABASE_URL, TEMPORAL_ADDRESS and ENCRYPTION_KEY.
import { buildApp } from '../api/app.ts';
import { loadConfig } from '../lib/config.ts';
import { ensureSchedules } from '../lib/schedules.ts';
import { appDepsOf, ensureBootstrapAdmin, openResources, resumeScheduledPersonnelEvents, resumeUnstartedRegistrations } from '../lib/runtime.ts';
import { connectClient } from '../lib/temporal.ts';

const config = loadConfig();
if (!config.databaseUrl || !config.temporalAddress) {
  console.error('bin/api.ts runs against shared services: set DATABASE_URL and TEMPORAL_ADDRESS (or use `npm start`).');
  process.exit(2);
}
const resources = await openResources(config);
const bootstrap = await ensureBootstrapAdmin(resources, config);
if (bootstrap.password) console.log(`First admin: username "admin", password ${bootstrap.password} (shown once)`);
const client = await connectClient(config.temporalAddress, config.temporalNamespace);
const app = await buildApp(appDepsOf(resources, config, client));
await app.listen({ port: config.port, host: config.host });
await resumeUnstartedRegistrations(resources, client, config);
await ensureSchedules(client, config);
// In the background: there may be thousands of events dated ahead.
void resumeScheduledPersonnelEvents(resources, client, config).catch((error: unknown) => app.log.error({ err: error }, 'cannot resume personnel events'));

async function stop() {
  await app.close(); // drains requests in flight
  await client.connection.close();
  await resources.database.close();
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
