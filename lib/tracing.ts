// OpenTelemetry traces across HTTP → Temporal client → workflow → activities → database and SMTP,
// exported by OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces-only variant) is set.
// Off, nothing of the SDK is loaded and `traced` costs one no-op call.
//
// What spans carry: routes, workflow and activity names, ids and SQL text — never bound
// parameters, addresses or bodies (citizen IDs and secrets stay out, as in the logs).
import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { Config } from './config.ts';

const tracer = trace.getTracer('sso-lifecycle');

/** Runs `work` in a span of its own: a client call to a dependency (SMTP, a connected system…). */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

export interface Tracing {
  /** For the Temporal client: starts, signals and Updates carry the caller's trace. */
  clientInterceptors: ClientInterceptors;
  /** For the worker: activity spans, and the workflows' spans exported through a sink. */
  workerInterceptors: WorkerInterceptors;
  workerSinks: InjectedSinks<OpenTelemetrySinks>;
  /** Bundled into the workflow code (a bundle with these differs from one without). */
  workflowInterceptorModules: string[];
  /** Sends what is buffered; call last at shutdown. */
  shutdown(): Promise<void>;
}

/** Starts tracing for this process when the configuration names an OTLP endpoint; null otherwise. */
export async function startTracing(config: Pick<Config, 'tracing'>, serviceName: string): Promise<Tracing | null> {
  if (!config.tracing.endpoint) return null;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { Resource }, { registerInstrumentations }, { HttpInstrumentation }, otel] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/instrumentation'),
      import('@opentelemetry/instrumentation-http'),
      import('@temporalio/interceptors-opentelemetry'),
    ]);
  const resource = new Resource({ 'service.name': config.tracing.serviceName ?? serviceName });
  // The exporter reads the endpoint, headers and timeouts from the standard OTEL_EXPORTER_OTLP_* variables.
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes every few seconds would drown the traces people look for.
        ignoreIncomingRequestHook: (request) => /^\/(health|metrics)/.test(request.url ?? ''),
        // Query strings may carry sign-in codes and reset tokens: spans keep the path only.
        requestHook: (span, request) => {
          if (!('url' in request) || typeof request.url !== 'string' || !request.url.includes('?')) return;
          const path = request.url.slice(0, request.url.indexOf('?'));
          span.setAttribute('http.target', path);
          span.setAttribute('http.url', path);
        },
      }),
    ],
  });
  // Fastify loaded node:http before tracing started; requiring it again applies the patch to that same module.
  createRequire(import.meta.url)('node:http');
  await traceDatabaseQueries();
  return {
    clientInterceptors: { workflow: [new otel.OpenTelemetryWorkflowClientInterceptor()] },
    workerInterceptors: {
      activity: [
        (ctx) => ({ inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx), outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx) }),
      ],
    },
    workerSinks: { exporter: otel.makeWorkflowExporter(spanProcessor, resource) },
    workflowInterceptorModules: [createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    shutdown: () => provider.shutdown(),
  };
}

/**
 * A span per statement sent to PostgreSQL, with its SQL text and no parameters. No maintained
 * instrumentation exists for the `postgres` driver, and drizzle's own hooks are compiled out, so
 * this wraps drizzle's one execution point for that driver (PGlite, embedded mode, is not traced).
 */
async function traceDatabaseQueries() {
  const { PostgresJsPreparedQuery } = await import('drizzle-orm/postgres-js/session');
  const proto = PostgresJsPreparedQuery.prototype as unknown as { execute(...args: unknown[]): Promise<unknown>; queryString: string };
  const execute = proto.execute;
  proto.execute = function (this: typeof proto, ...args: unknown[]) {
    const statement = this.queryString;
    return traced(`db ${statement.slice(0, statement.indexOf(' ')).toUpperCase()}`, { 'db.system': 'postgresql', 'db.statement': statement }, () =>
      execute.apply(this, args),
    );
  };
}

/** Names the request's server span by its route (`POST /api/v1/registrations/:id/decision`), not by its path. */
export function nameServerSpan(method: string, route: string | undefined): void {
  if (!route) return;
  const span = trace.getActiveSpan();
  span?.updateName(`${method} ${route}`);
  span?.setAttribute('http.route', route);
}
