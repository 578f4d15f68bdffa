// npm run deps:audit — known vulnerabilities in what production installs (`npm audit --omit=dev`),
// failing on high or critical ones. Where the registry's advisory service does not answer (a
// mirror or proxy without it, as on the CI machines of this project), it says so and passes: a
// check that cannot run is reported as not run, never as clean.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
let report: { statusCode?: number; message?: string; metadata?: { vulnerabilities?: Record<string, number> } } = {};
try {
  report = JSON.parse(run.stdout || '{}');
} catch {
  // not JSON: reported below as unreachable
}
const counts = report.metadata?.vulnerabilities;
if (!counts) {
  const why = report.message ?? (run.error ? String(run.error) : run.stderr.trim().split('\n').pop()) ?? 'no answer';
  console.log(`deps:audit NOT RUN: the registry's advisory service did not answer (${why}); no claim is made about known vulnerabilities`);
  process.exit(0);
}
const summary = Object.entries(counts)
  .filter(([, n]) => n > 0)
  .map(([level, n]) => `${n} ${level}`)
  .join(', ');
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`deps:audit: ${summary || 'no known vulnerabilities'} in the production dependencies`);
process.exit(serious > 0 ? 1 : 0);
