// Production entry point: the HTTP API alone (scale it apart from the worker).
// Needs DATABASE_URL, TEMPORAL_ADDRESS and ENCRYPTION_KEY.
import '../thread-pool.ts';
import { loadConfigOrExit } from '../../lib/config.ts';
import { startTracing } from '../../lib/tracing.ts';
import { closeResources, connectClient, createApi, openResources, prepareSystem } from '../system.ts';

const config = loadConfigOrExit();
if (!config.databaseUrl || !config.temporalAddress) {
  console.error('bin/api.ts runs against shared services: set DATABASE_URL and TEMPORAL_ADDRESS (or use `npm start`).');
  process.exit(2);
}
const tracing = await startTracing(config, 'sso-lifecycle-api');
const resources = await openResources(config);
const client = await connectClient(config.temporalAddress, config.temporalNamespace, tracing);
const app = await createApi(resources, config, client);
await app.listen({ port: config.port, host: config.host });
const { bootstrap } = await prepareSystem(resources, config, client, app.log);
if (bootstrap.password) console.log(`First admin: username "admin", password ${bootstrap.password} (shown once)`);

async function stop() {
  await app.close(); // drains requests in flight
  await client.connection.close();
  await closeResources(resources);
  await tracing?.shutdown();
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
