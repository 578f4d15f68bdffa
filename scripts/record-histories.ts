// npm run histories:record — records the workflow histories of the current release into
// test/histories/ (commit them with the release): each kind of workflow runs on the real services
// (PostgreSQL, the Temporal dev server) through the API, as test/workflows/replay.test.ts does when
// RECORD_HISTORIES is set; CI then replays them against every later change.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const result = spawnSync('npm', ['test', '--', 'test/workflows/replay.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, RECORD_HISTORIES: '1' },
});
process.exit(result.status ?? 1);
