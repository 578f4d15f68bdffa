// `npm start` (bin/start.ts) as a process of its own, for the tests of what an operator does to the
// whole service: stop and start it, back it up and restore it, trace it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const START = join(import.meta.dirname, '..', '..', 'bin', 'start.ts');

export interface ServiceProcess {
  /** What it has printed so far, standard output and error together. */
  output(): string;
  /** SIGTERM (it drains HTTP, stops its worker and its dev server), then its exit code. */
  stop(): Promise<number | null>;
  /** Still running? */
  running(): boolean;
}

/**
 * Launches bin/start.ts with `env` over this process's environment, less the variables in `unset`
 * (a test's own DATABASE_URL or TEMPORAL_ADDRESS would send it elsewhere). `group`: in a process
 * group of its own, as a terminal runs it, so that `interrupt` reaches it and its children as Ctrl-C does.
 */
export function launchService(
  env: Record<string, string>,
  options: { unset?: string[]; group?: boolean } = {},
): ServiceProcess & { interrupt(): void; kill(): void; exited: Promise<number | null> } {
  const inherited = { ...process.env };
  for (const key of options.unset ?? []) delete inherited[key];
  const child = spawn(process.execPath, [START], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const service = {
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (service.running()) child.kill('SIGTERM');
      return exited;
    },
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
    kill: () => child.kill('SIGKILL'),
    /** Its exit code, once it exits by itself (or is stopped). */
    exited,
  };
  return service;
}

/**
 * Starts bin/start.ts (as `launchService`); resolves once it prints that it is up, and throws with its
 * output if it exits or takes longer than `timeoutMs`.
 */
export async function startService(env: Record<string, string>, options: { unset?: string[]; timeoutMs?: number } = {}): Promise<ServiceProcess> {
  const service = launchService(env, options);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!service.output().includes('sso-lifecycle is up')) {
    if (!service.running()) throw new Error(`the service exited: ${service.output()}`);
    if (Date.now() > deadline) {
      service.kill();
      throw new Error(`the service did not come up: ${service.output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return service;
}

/** A JSON call to the service as its clients make it: the status, and the body when it is JSON. */
export async function callService(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: FormData; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, body: options.json !== undefined ? JSON.stringify(options.json) : options.body });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}
