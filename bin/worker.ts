// Production entry point: a Temporal worker alone (run as many as the load needs).
// Needs DATABASE_URL, TEMPORAL_ADDRESS and ENCRYPTION_KEY.
import { loadConfig } from '../lib/config.ts';
import { activityDepsOf, openResources } from '../lib/runtime.ts';
import { startSsoHousekeeping } from '../lib/sso/backchannel-logout.ts';
import { createWorker } from '../lib/temporal.ts';

const config = loadConfig();
if (!config.databaseUrl || !config.temporalAddress) {
  console.error('bin/worker.ts runs against shared services: set DATABASE_URL and TEMPORAL_ADDRESS (or use `npm start`).');
  process.exit(2);
}
const resources = await openResources(config);
const { worker, connection } = await createWorker(config.temporalAddress, config, activityDepsOf(resources, config));
// Back-channel logouts that could not be delivered at once (a system was down) are sent again.
const stopSweeper = startSsoHousekeeping(resources.database.db, resources.sso.logoutSigner);
process.once('SIGTERM', () => worker.shutdown());
process.once('SIGINT', () => worker.shutdown());
console.log(`worker polling ${config.taskQueue} on ${config.temporalAddress}`);
await worker.run(); // returns once shutdown has let running tasks finish
stopSweeper();
await connection.close();
await resources.database.close();
resources.mail.close();
