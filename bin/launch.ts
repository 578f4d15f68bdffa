// Run first by every entry point (bin/start.ts, bin/api.ts, bin/worker.ts), before the rest is even
// loaded: memory settings that a process reads only when it starts, so that `node bin/start.ts`,
// `npm start`, the image's command and the benchmarks all run the same way.
//  - glibc's malloc: by default, once a large block has been freed it raises its mmap threshold to
//    that size and keeps what is freed later in its heap instead of giving it back. Compiling
//    PGlite's WebAssembly frees hundreds of MB, of which an idle `npm start` then held ~170 MB.
//    A fixed threshold (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072) returns big blocks at once.
//  - V8's young generation of the main thread (`--max-semi-space-size`, MB a semi-space): by default
//    it grows to tens of MB on a large host, filled with garbage between scavenges.
// When a setting is missing, the process replaces itself once with it (process.execve: the same
// pid, stdio and arguments). Your own `--max-semi-space-size` (on the command line or in
// NODE_OPTIONS) or GLIBC_TUNABLES (any value) wins; on a platform without execve the process just goes on.
import process from 'node:process';
import { workerSemiSpaceMb } from '../lib/config.ts';

export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=131072';

/**
 * `runsWorker`: the main thread's young generation as small as the workflow thread's
 * (WORKER_WORKFLOW_SEMI_SPACE_MB; 0 keeps V8's own).
 */
export function relaunchWithMemorySettings(options: { runsWorker: boolean }): void {
  const ownSemiSpace = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith('--max-semi-space-size'));
  const semiSpaceMb = options.runsWorker && !ownSemiSpace ? workerSemiSpaceMb() : 0;
  const flags = semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`] : [];
  // Empty counts as unset (docker compose passes an unset setting as empty).
  const tunables = process.platform === 'linux' && !process.env.GLIBC_TUNABLES ? MALLOC_TUNABLES : undefined;
  // A debugger attached to this process would lose it.
  const debugging = process.execArgv.some((arg) => arg.startsWith('--inspect'));
  if ((flags.length === 0 && !tunables) || typeof process.execve !== 'function' || debugging) return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    ...(tunables ? { GLIBC_TUNABLES: tunables } : {}),
  });
}
