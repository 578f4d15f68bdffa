// npm run bench:idle — the memory of `npm start` at rest, as a user first meets it: bin/start.ts on
// a fresh, empty DATA_DIR with everything embedded (its own Temporal dev server, PGlite, mail to
// files), launched as `npm start` launches it. Waits until it is up (the Thailand offices loaded),
// lets it settle for BENCH_SETTLE_SECONDS (60), then prints the resident memory of the
// sso-lifecycle process (and any Node child of it; not the Temporal dev server, printed apart) and
// its peak while starting. Stops it with SIGTERM and removes the DATA_DIR.
// Extra arguments are Node options for the service process, to try one:
// `npm run bench:idle -- --liftoff-only`.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../lib/net.ts';
import { descendantsOf, machine, rssMb, startServiceProcess } from './bench-support.ts';

const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 60);
const nodeArgs = process.argv.slice(2);

console.log(
  `bench:idle — resident memory of \`npm start\` (bin/start.ts${nodeArgs.length ? ` with ${nodeArgs.join(' ')}` : ''}) on an empty DATA_DIR, ` +
    `${SETTLE_SECONDS} s after it is up, the Temporal dev server apart; ${machine()}`,
);
const dataDir = mkdtempSync(join(tmpdir(), 'sso-bench-'));
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const port = await freePort();
const env = {
  DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_URL: `http://127.0.0.1:${port}`,
  TEMPORAL_DEV_PORT: String(await freePort()),
  TEMPORAL_DEV_UI_PORT: String(await freePort()),
  LOG_LEVEL: 'warn',
  // Everything embedded, whatever this shell has set (an empty setting counts as unset).
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  SMTP_URL: '',
};
const started = performance.now();
// The first start compiles PGlite, applies the migrations and loads the Thailand offices before it listens.
const service = await startServiceProcess('start', env, `http://127.0.0.1:${port}/health/live`, { nodeArgs, readyWithin: 300_000 });
try {
  for (const until = Date.now() + 60_000; !service.output().includes('sso-lifecycle is up'); await delay(200)) {
    if (Date.now() > until) throw new Error('bin/start.ts answered but did not print "sso-lifecycle is up" within 60 s');
  }
  const upAfter = (performance.now() - started) / 1000;
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  await delay(SETTLE_SECONDS * 1000);

  const ours = [service.pid, ...descendantsOf(service.pid).filter((pid) => comm(pid).startsWith('node'))];
  const temporal = descendantsOf(service.pid).filter((pid) => comm(pid) === 'temporal');
  const now = ours.map(rssMb);
  const sum = (key: 'rss' | 'anonymous') => now.reduce((total, m) => total + m[key], 0);
  console.log(`  up after            ${upAfter.toFixed(0)} s (offices loaded: ${/Offices\s+(.*)/.exec(service.output())?.[1] ?? 'no'})`);
  console.log(
    `  idle RSS            ${sum('rss')} MB in ${ours.length} process${ours.length === 1 ? '' : 'es'} (anonymous ${sum('anonymous')} MB, ` +
      `the rest files and Node's code); peak while starting ${service.peakRssMb()} MB ` +
      `(the service process; not the short-lived child that creates a fresh embedded database)`,
  );
  console.log(`  Temporal dev server ${temporal.map((pid) => rssMb(pid).rss).join(' + ') || '—'} MB (not counted)`);
} finally {
  // SIGTERM: it stops its Temporal dev server too.
  await service.stop();
}
