// npm run restore -- <folder> — puts a backup of `npm run backup` into fresh places, with the
// service stopped: DATABASE_URL (an empty database), DATA_DIR (no Temporal state, documents or
// PGlite yet) and, for a Temporal on PostgreSQL, --temporal-database-url and
// --temporal-visibility-database-url (empty databases). Nothing is overwritten: a target that
// holds something is refused before anything is written. The keys come from the environment or
// --keys-from <folder> (the one `backup --keys-to` wrote); a key that is not the backup's is refused.
import { copyFile, cp, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { embeddedDatabaseDir } from '../db/client.ts';
import { loadConfigOrExit } from '../lib/config.ts';
import { loadMasterKey } from '../lib/crypto.ts';
import { FILES, MANIFEST, copyDocuments, isEmptyOrAbsent, keyFingerprint, runPgTool, sha256File, type Manifest } from './support/backup-archive.ts';

const USAGE = 'usage: npm run restore -- <folder> [--temporal-database-url URL --temporal-visibility-database-url URL] [--keys-from <folder>]';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'temporal-database-url': { type: 'string' },
    'temporal-visibility-database-url': { type: 'string' },
    'keys-from': { type: 'string' },
  },
});
const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};
if (positionals.length !== 1) fail(USAGE);
const from = resolve(positionals[0]!);
const config = loadConfigOrExit(process.env, { serving: false });
const temporalUrl = options['temporal-database-url'];
const visibilityUrl = options['temporal-visibility-database-url'];
const keysFrom = options['keys-from'] ? resolve(options['keys-from']) : undefined;

// Everything is checked before anything is written.
const manifest = JSON.parse(
  await readFile(join(from, MANIFEST), 'utf8').catch(() => fail(`${join(from, MANIFEST)} is missing: not a backup folder`)),
) as Manifest;
if (manifest.format !== 1) fail(`unknown backup format ${String(manifest.format)}`);
for (const [name, expected] of Object.entries(manifest.files)) {
  if (!existsSync(join(from, name))) fail(`${name} is missing from the backup`);
  if ((await sha256File(join(from, name))) !== expected.sha256) fail(`${name} does not match its SHA-256 in the manifest: the backup is damaged`);
}

if (manifest.app === 'postgres' && !config.databaseUrl)
  fail('the backup holds a PostgreSQL database: set DATABASE_URL to an empty database to restore it into');
if (manifest.app === 'pglite' && config.databaseUrl) fail('the backup holds the embedded PGlite database: unset DATABASE_URL (it is restored into DATA_DIR)');
if (manifest.temporal === 'postgres' && !(temporalUrl && visibilityUrl)) {
  fail(`the backup holds Temporal's PostgreSQL databases: give --temporal-database-url and --temporal-visibility-database-url (empty databases)\n${USAGE}`);
}
if (manifest.temporal === 'sqlite' && config.temporalAddress)
  fail("the backup holds the embedded Temporal dev server's state: unset TEMPORAL_ADDRESS (it is restored into DATA_DIR)");

/** Refuses a database that already has tables: a restore never merges into live data. */
async function assertEmptyDatabase(url: string, what: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`;
    if (row!.n > 0) fail(`${what} (${new URL(url).pathname.slice(1)}) already has ${row!.n} tables: restore into a new, empty database`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
if (config.databaseUrl) await assertEmptyDatabase(config.databaseUrl, 'DATABASE_URL');
if (manifest.temporal === 'postgres') {
  await assertEmptyDatabase(temporalUrl!, "Temporal's database");
  await assertEmptyDatabase(visibilityUrl!, "Temporal's visibility database");
}
const temporalFile = join(config.dataDir, 'temporal', 'temporal.db');
if (manifest.temporal === 'sqlite' && existsSync(temporalFile)) fail(`${temporalFile} exists: restore into a fresh DATA_DIR`);
if (!(await isEmptyOrAbsent(join(config.dataDir, 'documents')))) fail(`${join(config.dataDir, 'documents')} is not empty: restore into a fresh DATA_DIR`);
if (manifest.app === 'pglite' && !(await isEmptyOrAbsent(embeddedDatabaseDir(config.dataDir))))
  fail(`${embeddedDatabaseDir(config.dataDir)} is not empty: restore into a fresh DATA_DIR`);

// The key: the environment's, the one beside the backup (--keys-from), or one already in DATA_DIR.
const keyFile = [keysFrom && join(keysFrom, 'encryption.key'), join(config.dataDir, 'encryption.key')].find((f) => f && existsSync(f));
const keyText = config.encryptionKey ?? (keyFile ? (await readFile(keyFile, 'utf8')).trim() : undefined);
if (keyText && manifest.encryptionKeyFingerprint) {
  if (keyFingerprint(loadMasterKey(keyText, config.dataDir, true)) !== manifest.encryptionKeyFingerprint) {
    fail(`ENCRYPTION_KEY${keyFile && !config.encryptionKey ? ` (${keyFile})` : ''} is not the key this backup was written with: its data could not be read`);
  }
}

try {
  // Restore.
  if (manifest.app === 'postgres') {
    // Objects belong to whoever restores (the service's own role), as they did to whoever migrated.
    await runPgTool('pg_restore', config.databaseUrl!, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', join(from, FILES.app)]);
  } else {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await cp(join(from, FILES.pglite), embeddedDatabaseDir(config.dataDir), { recursive: true });
  }
  if (manifest.temporal === 'postgres') {
    for (const [url, file] of [
      [temporalUrl!, FILES.temporal],
      [visibilityUrl!, FILES.temporalVisibility],
    ] as const) {
      await runPgTool('pg_restore', url, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', join(from, file)]);
    }
  } else {
    // The copy in the backup is no live database: a file copy is fine here.
    await mkdir(join(config.dataDir, 'temporal'), { recursive: true, mode: 0o700 });
    await copyFile(join(from, FILES.temporalSqlite), temporalFile);
  }
  const documents = await copyDocuments(join(from, FILES.documents), join(config.dataDir, 'documents'));
  if (documents.count !== manifest.documents.count) fail(`restored ${documents.count} documents, but the backup lists ${manifest.documents.count}`);

  const keysRestored: string[] = [];
  if (keysFrom) {
    for (const name of ['encryption.key', 'sso-signing-keys.json']) {
      if (existsSync(join(keysFrom, name)) && !existsSync(join(config.dataDir, name))) {
        await copyFile(join(keysFrom, name), join(config.dataDir, name));
        keysRestored.push(name);
      }
    }
  }

  console.log(
    [
      `restored ${from} (taken ${manifest.createdAt})`,
      `  application        ${manifest.app === 'postgres' ? `PostgreSQL ${new URL(config.databaseUrl!).pathname.slice(1)}` : embeddedDatabaseDir(config.dataDir)}`,
      `  Temporal           ${manifest.temporal === 'postgres' ? 'PostgreSQL (temporal, temporal_visibility)' : temporalFile}`,
      `  documents          ${documents.count} in ${join(config.dataDir, 'documents')}`,
      ...(keysRestored.length ? [`  keys               ${keysRestored.join(', ')} into ${config.dataDir}`] : []),
      ...(!keyText && manifest.encryptionKeyFingerprint ? ['  ENCRYPTION_KEY     not given: start the service with the key the backup was written with'] : []),
      'Start the service: it migrates the database if the backup is older than the code, hands over the',
      'rows saved without their workflow, and the timers that came due meanwhile fire. Then: npm run audit:verify',
    ].join('\n'),
  );
} catch (error) {
  console.error(
    `restore failed: ${(error as Error).message}\nWhat was written stays: drop and recreate the target databases and empty DATA_DIR before trying again.`,
  );
  process.exit(1);
}
