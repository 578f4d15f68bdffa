// npm run migrations:release -- <release name> — records the migrations of the release being cut in
// test/releases/previous.json: the schema the next release's code must upgrade from. The upgrade test
// (test/integration/upgrade.test.ts) builds a database with exactly these migrations, fills it and
// applies the newer ones; the migrations test refuses an edit to any of them. Run it once per release.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../lib/crypto.ts';

const root = join(import.meta.dirname, '..');
const release = process.argv[2];
if (!release) {
  console.error('usage: npm run migrations:release -- <release name, e.g. 1.2.0>');
  process.exit(2);
}
const journal = JSON.parse(readFileSync(join(root, 'db', 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
const migrations = Object.fromEntries(journal.entries.map(({ tag }) => [`${tag}.sql`, sha256Hex(readFileSync(join(root, 'db', 'migrations', `${tag}.sql`)))]));
const file = join(root, 'test', 'releases', 'previous.json');
writeFileSync(file, `${JSON.stringify({ release, recordedAt: new Date().toISOString().slice(0, 10), migrations }, null, 2)}\n`);
console.log(`${file}: release ${release}, ${Object.keys(migrations).length} migrations`);
