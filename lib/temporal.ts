// Temporal for every process: the embedded dev server (when TEMPORAL_ADDRESS is unset), the client the
// API uses to message workflows, and the worker that runs them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setFlagsFromString } from 'node:v8';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributeType } from '@temporalio/common';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type LogEntry,
  type LogLevel,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { Config } from './config.ts';
import { createLogger, type Log } from './log.ts';
import type { Tracing } from './tracing.ts';

const root = join(import.meta.dirname, '..');

export interface DevServer {
  address: string;
  pid: number;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  namespace: string;
  /** SQLite file that keeps workflows across restarts; null for a server that forgets on exit (tests). */
  dbFile: string | null;
  port: number;
  /** Port of the Temporal UI; null for none. */
  uiPort: number | null;
  /** Keep the server's own error output out of the console (tests, benchmarks). */
  quiet?: boolean;
  /** Search attributes the workflows set, declared at start. */
  searchAttributes: readonly { name: string; type: SearchAttributeType }[];
  /** The `temporal` CLI; by default the pinned one in tools/bin. */
  binary?: string | undefined;
}

/** Starts `temporal server start-dev` from the pinned binary, with our search attributes declared. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  const existing = options.dbFile !== null && existsSync(options.dbFile);
  if (existing) await useWriteAheadLog(options.dbFile!);
  const binary = options.binary ?? join(root, 'tools', 'bin', 'temporal');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    options.namespace,
    '--log-level',
    'error',
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...options.searchAttributes.flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]),
  ];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', options.quiet ? 'ignore' : 'inherit'] });
  let exited = false;
  // It never outlives the process that started it: a start that fails half way (or any crash) would
  // otherwise leave it holding its port and its file, and the next start would fail on them.
  const stopWithUs = () => child.kill('SIGTERM');
  process.once('exit', stopWithUs);
  child.once('exit', () => {
    exited = true;
    process.off('exit', stopWithUs);
  });
  const address = `127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the Temporal dev server (${binary}) exited at start; is port ${options.port} taken?`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: options.namespace });
      await connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw error;
      }
      await delay(250);
    }
  }
  if (options.dbFile && !existing) await useWriteAheadLog(options.dbFile);
  return {
    address,
    pid: child.pid!,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : null,
    async stop() {
      if (exited) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([done, delay(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/**
 * The dev server's SQLite file in WAL mode (kept in the file): readers then never block its writes, so
 * `npm run backup` copies it while it runs. In the default rollback-journal mode a reader's lock fails
 * the server's writes at once with SQLITE_BUSY (it sets no busy timeout). An existing file is switched
 * before the server opens it; a new one, which the server must create itself, once it is up — while it
 * writes, so the switch is tried again until it gets the file to itself (a busy server refused it at
 * once: SQLite does not wait when waiting could deadlock). Not switched by then, the file stays as it is
 * until the next start, which switches it before the server opens it: the service runs either way.
 */
export async function useWriteAheadLog(dbFile: string, withinMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const db = new DatabaseSync(dbFile, { timeout: 200 });
    try {
      db.exec('PRAGMA journal_mode=WAL');
      return true;
    } catch (error) {
      if ((error as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() > deadline) {
        process.emitWarning(`the Temporal dev server's ${dbFile} stays in rollback-journal mode until the next start: ${(error as Error).message}`);
        return false;
      }
    } finally {
      db.close();
    }
    await delay(100);
  }
}
const SQLITE_BUSY = 5;

export async function connectClient(address: string, namespace: string, tracing?: Tracing | null): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, ...(tracing ? { interceptors: tracing.clientInterceptors } : {}) });
}

const bundles = new Map<string, Promise<WorkflowBundle>>();
/**
 * The workflow code (`workflowsPath`, an index of every workflow), bundled once per process; with
 * tracing, the tracing interceptors are part of the bundle. Bundled in a child process
 * (lib/bundle-workflows.ts), so that webpack's memory is not kept by this one.
 */
export function workflowBundle(workflowsPath: string, workflowInterceptorModules: string[] = []): Promise<WorkflowBundle> {
  const key = [workflowsPath, ...workflowInterceptorModules].join('\n');
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleInChild([workflowsPath, ...workflowInterceptorModules]);
    bundle.catch(() => bundles.delete(key)); // a failed bundle is tried again by the next caller
    bundles.set(key, bundle);
  }
  return bundle;
}

function bundleInChild(args: string[]): Promise<WorkflowBundle> {
  return new Promise((resolve, reject) => {
    // Its warnings and errors (stderr) are the bundler's own, shown as they come.
    const child = spawn(process.execPath, [join(import.meta.dirname, 'bundle-workflows.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve({ code: Buffer.concat(chunks).toString('utf8') });
      else reject(new Error(`bundling the workflow code failed (${signal ?? `exit code ${code}`}); see the bundler's output above`));
    });
  });
}

export const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

let runtimeInstalled = false;
/**
 * Our processes stop their workers themselves (after draining HTTP), so the SDK must not act on
 * SIGTERM on its own; its chatty INFO logs are kept to warnings unless LOG_LEVEL asks for more.
 */
export function installTemporalRuntime(logLevel: string, options: { sdkMetricsAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level: LogLevel = logLevel === 'debug' || logLevel === 'trace' ? 'INFO' : 'WARN';
  const log = createLogger(logLevel, 'temporal');
  try {
    Runtime.install({
      shutdownSignals: [],
      // The SDK's and its core's logs (forwarded below) as JSON lines of our own, redacted the same way.
      logger: new DefaultLogger(level, (entry) => forwardToPino(log, entry)),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level === 'INFO' ? 'INFO' : 'ERROR' }), forward: {} },
        // The SDK's worker metrics (task slots, poll latencies, sticky cache…), on a loopback port the worker's /metrics reads.
        ...(options.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress, useSecondsForDurations: true } } } : {}),
      },
    });
  } catch {
    // Already installed by the host (tests install their own).
  }
}

const PINO_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
function forwardToPino(log: Log, entry: LogEntry): void {
  log[PINO_LEVELS[entry.level]]({ ...entry.meta }, entry.message);
}

/** A worker of the task queue, running these activities and the workflows of `workflowsPath`. */
export async function createWorker(
  address: string,
  config: Config,
  workflowsPath: string,
  activities: object,
  tracing?: Tracing | null,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installTemporalRuntime(config.logLevel);
  boundWorkerHeaps(config);
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowBundle: await workflowBundle(workflowsPath, tracing?.workflowInterceptorModules),
    activities,
    ...(tracing ? { interceptors: tracing.workerInterceptors, sinks: tracing.workerSinks } : {}),
    // Thousands of people's workflows may wait at once; keep a bounded number in memory.
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
    maxConcurrentLocalActivityExecutions: config.workerMaxConcurrentActivities,
    // The SDK allows no more tasks at once than cached workflows (and warns otherwise).
    maxConcurrentWorkflowTaskExecutions: Math.max(2, Math.min(100, config.workerMaxCachedWorkflows)),
  });
  return { worker, connection };
}

/**
 * V8 sizes its heaps for a machine's whole memory: under a burst the worker's heaps grew to ~890 MB
 * RSS, mostly garbage and young generations of 128 MB each (bench:leavers). Set at run time, before
 * Worker.create starts the workflow thread: heap growth is read at every collection (every isolate of
 * the process), the semi-space size when an isolate is created (only the workflow thread's; the main
 * thread's is fixed at launch, `node --max-semi-space-size`).
 */
function boundWorkerHeaps(config: Config): void {
  setFlagsFromString(`--heap-growing-percent=${config.workerHeapGrowingPercent}`);
  setFlagsFromString(`--max-semi-space-size=${config.workerWorkflowSemiSpaceMb}`);
}
