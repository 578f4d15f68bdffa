// npm run backup -- <folder> — one consistent copy of what the service keeps: Temporal's state, the
// application's database and the evidence documents, captured in that order (README, Operations).
//
//   Temporal       the embedded dev server's SQLite file (DATA_DIR/temporal/temporal.db) by SQLite's
//                  online backup, or, with TEMPORAL_ADDRESS set, pg_dump of --temporal-database-url
//                  and --temporal-visibility-database-url
//   application    pg_dump of DATABASE_URL, or (--stopped only) the embedded PGlite folder
//   documents      DATA_DIR/documents
//   keys           never in the folder: printed where they are; --keys-to <folder> copies the embedded
//                  ones (DATA_DIR/encryption.key, DATA_DIR/sso-signing-keys.json) to a place of their own
//
// Why this order: the service saves a row before it starts the row's workflow, and writes a
// document before the row naming it. Temporal captured first can only be older than the database:
// a row may lack its workflow (start-up hands such rows over again), never a workflow its row.
// Documents captured last hold every document the database names.
import { cp, copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseSync, backup as sqliteBackup } from 'node:sqlite';
import { embeddedDatabaseDir } from '../db/client.ts';
import { loadConfigOrExit } from '../lib/config.ts';
import { loadMasterKey } from '../lib/crypto.ts';
import {
  FILES,
  MANIFEST,
  copyDocuments,
  holdSnapshot,
  isEmptyOrAbsent,
  keyFingerprint,
  runPgTool,
  sha256File,
  type Manifest,
} from './support/backup-archive.ts';

const USAGE = 'usage: npm run backup -- <folder> [--temporal-database-url URL --temporal-visibility-database-url URL] [--keys-to <folder>] [--stopped]';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'temporal-database-url': { type: 'string' },
    'temporal-visibility-database-url': { type: 'string' },
    'keys-to': { type: 'string' },
    stopped: { type: 'boolean', default: false },
  },
});
const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};
if (positionals.length !== 1) fail(USAGE);
const out = resolve(positionals[0]!);
const config = loadConfigOrExit(process.env, { serving: false });
const temporalUrl = options['temporal-database-url'];
const visibilityUrl = options['temporal-visibility-database-url'];

if (!(await isEmptyOrAbsent(out))) fail(`${out} is not empty: a backup goes into a folder of its own`);
if (config.temporalAddress && !(temporalUrl && visibilityUrl)) {
  fail(
    `TEMPORAL_ADDRESS is set (Temporal runs elsewhere): give --temporal-database-url and --temporal-visibility-database-url ` +
      `(compose: the \`temporal\` and \`temporal_visibility\` databases) so its state is captured with the rest.\n${USAGE}`,
  );
}
if (!config.temporalAddress && (temporalUrl || visibilityUrl))
  fail('Temporal database URLs given, but TEMPORAL_ADDRESS is unset: the embedded dev server keeps its state in DATA_DIR');
if (!config.databaseUrl && !options.stopped) {
  fail(
    `The embedded database (PGlite in ${embeddedDatabaseDir(config.dataDir)}) is open only in the running service's process: ` +
      `stop the service, then run the backup with --stopped.`,
  );
}
const keysTo = options['keys-to'] ? resolve(options['keys-to']) : undefined;
if (keysTo && !relative(out, keysTo).startsWith('..')) fail('--keys-to must be outside the backup folder: the keys are kept apart from the data');

try {
  await mkdir(out, { recursive: true, mode: 0o700 });
  const captured: Manifest['captured'] = [];
  const step = (part: string, at = new Date().toISOString()) => captured.push({ part, at });

  // 1. Temporal, then 2. the application's database. On PostgreSQL each is fixed by a snapshot held
  // open (its moment is when it is taken, however long its dump then runs), so the two moments are
  // milliseconds apart in the right order even when Temporal's dump takes minutes.
  const snapshots: { url: string; file: string; snapshot: Awaited<ReturnType<typeof holdSnapshot>> }[] = [];
  try {
    if (config.temporalAddress) {
      snapshots.push({ url: temporalUrl!, file: FILES.temporal, snapshot: await holdSnapshot(temporalUrl!) });
      step('temporal', snapshots.at(-1)!.snapshot.at);
      snapshots.push({ url: visibilityUrl!, file: FILES.temporalVisibility, snapshot: await holdSnapshot(visibilityUrl!) });
      step('temporal_visibility', snapshots.at(-1)!.snapshot.at);
    } else {
      const source = join(config.dataDir, 'temporal', 'temporal.db');
      if (!existsSync(source)) throw new Error(`${source} does not exist: is DATA_DIR the running service's?`);
      // SQLite's online backup API, all pages in one step: one read transaction, so the copy is the
      // database as of one commit even while the dev server writes (never a byte copy of a live file).
      const db = new DatabaseSync(source, { readOnly: true, timeout: 30_000 });
      try {
        await sqliteBackup(db, join(out, FILES.temporalSqlite), { rate: 2 ** 31 - 1 });
      } finally {
        db.close();
      }
      step('temporal');
      const copy = new DatabaseSync(join(out, FILES.temporalSqlite), { readOnly: true });
      const check = copy.prepare('pragma integrity_check').get() as { integrity_check: string };
      copy.close();
      if (check.integrity_check !== 'ok') throw new Error(`the copy of ${source} failed SQLite's integrity check: ${check.integrity_check}`);
    }
    if (config.databaseUrl) {
      snapshots.push({ url: config.databaseUrl, file: FILES.app, snapshot: await holdSnapshot(config.databaseUrl) });
      step('app', snapshots.at(-1)!.snapshot.at);
    } else {
      await cp(embeddedDatabaseDir(config.dataDir), join(out, FILES.pglite), { recursive: true });
      step('app');
    }
    await Promise.all(
      snapshots.map(({ url, file, snapshot }) => runPgTool('pg_dump', url, ['--format=custom', `--snapshot=${snapshot.id}`, `--file=${join(out, file)}`])),
    );
  } finally {
    for (const { snapshot } of snapshots) await snapshot.release();
  }

  // 3. The documents.
  const documents = await copyDocuments(join(config.dataDir, 'documents'), join(out, FILES.documents));
  step('documents');

  // The keys: elsewhere. A backup that carried its own key would hand the citizen IDs and the
  // evidence to whoever holds a copy of it.
  const keyFiles = ['encryption.key', 'sso-signing-keys.json'].filter((name) => existsSync(join(config.dataDir, name)));
  const masterKey = config.encryptionKey || keyFiles.includes('encryption.key') ? loadMasterKey(config.encryptionKey, config.dataDir, true) : undefined;
  if (keysTo) {
    await mkdir(keysTo, { recursive: true, mode: 0o700 });
    for (const name of keyFiles) await copyFile(join(config.dataDir, name), join(keysTo, name));
  }

  const files: Manifest['files'] = {};
  for (const name of (await readdir(out)).sort()) {
    const info = await stat(join(out, name));
    if (info.isFile()) files[name] = { bytes: info.size, sha256: await sha256File(join(out, name)) };
  }
  const manifest: Manifest = {
    format: 1,
    createdAt: captured[0]!.at,
    captured,
    app: config.databaseUrl ? 'postgres' : 'pglite',
    temporal: config.temporalAddress ? 'postgres' : 'sqlite',
    files,
    documents,
    encryptionKeyFingerprint: masterKey ? keyFingerprint(masterKey) : null,
  };
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });

  const keyNotes = [
    config.encryptionKey
      ? '  ENCRYPTION_KEY     from the environment: keep it in your secret store, apart from this backup'
      : keyFiles.includes('encryption.key')
        ? `  ENCRYPTION_KEY     ${join(config.dataDir, 'encryption.key')}${keysTo ? ` → copied to ${keysTo}` : ': NOT in this backup; copy it somewhere else (or use --keys-to)'}`
        : '  ENCRYPTION_KEY     none found: the data can only be read with the key it was written with',
    process.env.SSO_SIGNING_KEYS
      ? '  SSO_SIGNING_KEYS   from the environment: keep it in your secret store'
      : keyFiles.includes('sso-signing-keys.json')
        ? `  SSO_SIGNING_KEYS   ${join(config.dataDir, 'sso-signing-keys.json')}${keysTo ? ` → copied to ${keysTo}` : ': NOT in this backup (or use --keys-to)'}`
        : '  SSO_SIGNING_KEYS   none found',
  ];
  console.log(
    [
      `backup written to ${out}`,
      ...captured.map((c) => `  ${c.part.padEnd(21)}${c.at}${c.part === 'documents' ? `   ${documents.count} files, ${documents.bytes} bytes` : ''}`),
      `keys (not in the backup; the documents and citizen IDs cannot be read without ENCRYPTION_KEY):`,
      ...keyNotes,
      ...(manifest.encryptionKeyFingerprint ? [`  key fingerprint    ${manifest.encryptionKeyFingerprint} (in the manifest; restore checks it)`] : []),
    ].join('\n'),
  );
} catch (error) {
  // Nothing half-written is left to be taken for a backup.
  await rm(out, { recursive: true, force: true });
  console.error(`backup failed, nothing kept: ${(error as Error).message}`);
  process.exit(1);
}
