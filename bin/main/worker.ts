// Production entry point: a Temporal worker alone (run as many as the load needs).
// Needs DATABASE_URL, TEMPORAL_ADDRESS and ENCRYPTION_KEY; answers health and metrics on WORKER_HTTP_PORT.
import '../thread-pool.ts';
import { loadConfigOrExit } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { startTracing } from '../../lib/tracing.ts';
import { closeResources, createServiceWorker, openResources, startHousekeeping, startWorkerHttp } from '../system.ts';

const config = loadConfigOrExit();
if (!config.databaseUrl || !config.temporalAddress) {
  console.error('bin/worker.ts runs against shared services: set DATABASE_URL and TEMPORAL_ADDRESS (or use `npm start`).');
  process.exit(2);
}
const log = createLogger(config.logLevel, 'worker');
const tracing = await startTracing(config, 'sso-lifecycle-worker');
const http = await startWorkerHttp(config);
const resources = await openResources(config);
const { worker, connection } = await createServiceWorker(resources, config, config.temporalAddress, tracing);
const httpPort = await http.serve(worker);
const stopHousekeeping = startHousekeeping(resources, (error) => log.warn({ err: error }, 'back-channel logout sweep failed'));
function stop(signal: string) {
  log.info({ signal }, 'stopping: running tasks finish first');
  worker.shutdown();
}
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
log.info({ taskQueue: config.taskQueue, temporalAddress: config.temporalAddress, httpPort }, 'worker polling its task queue');
await worker.run(); // returns once shutdown has let running tasks finish
stopHousekeeping();
await http.close();
await connection.close();
await closeResources(resources);
await tracing?.shutdown();
log.info('worker stopped');
