// Temporal's runtime logs every worker state change at INFO: tests keep warnings and errors only,
// and stop their workers themselves.
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

Runtime.install({
  shutdownSignals: [],
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
});
