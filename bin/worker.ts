// Production entry point: a Temporal worker alone (run as many as the load needs).
// Needs DATABASE_URL, TEMPORAL_ADDRESS and ENCRYPTION_KEY.
import { loadConfigOrExit } from '../lib/config.ts';
import { closeResources, createServiceWorker, openResources, startHousekeeping } from './system.ts';

const config = loadConfigOrExit();
if (!config.databaseUrl || !config.temporalAddress) {
  console.error('bin/worker.ts runs against shared services: set DATABASE_URL and TEMPORAL_ADDRESS (or use `npm start`).');
  process.exit(2);
}
const resources = await openResources(config);
const { worker, connection } = await createServiceWorker(resources, config, config.temporalAddress);
const stopHousekeeping = startHousekeeping(resources);
process.once('SIGTERM', () => worker.shutdown());
process.once('SIGINT', () => worker.shutdown());
console.log(`worker polling ${config.taskQueue} on ${config.temporalAddress}`);
await worker.run(); // returns once shutdown has let running tasks finish
stopHousekeeping();
await connection.close();
await closeResources(resources);
