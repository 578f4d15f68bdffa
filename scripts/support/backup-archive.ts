// What `npm run backup` writes and `npm run restore` reads: a folder with a manifest, the dumps and
// the evidence documents. The keys are never in it (see README, Operations: backup and restore).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { deriveSecret } from '../../lib/crypto.ts';

export const MANIFEST = 'manifest.json';
export const FILES = {
  /** pg_dump -Fc of the application's database. */
  app: 'app.dump',
  /** The embedded PGlite folder, copied while the service was stopped. */
  pglite: 'pglite',
  /** The embedded Temporal dev server's SQLite file, by SQLite's online backup. */
  temporalSqlite: 'temporal.db',
  /** pg_dump -Fc of Temporal's databases (compose, or any Temporal on PostgreSQL). */
  temporal: 'temporal.dump',
  temporalVisibility: 'temporal_visibility.dump',
  documents: 'documents',
} as const;

export interface Manifest {
  format: 1;
  createdAt: string;
  /** The order the parts were captured in: Temporal before the application's database, documents last. */
  captured: { part: string; at: string }[];
  app: 'postgres' | 'pglite';
  temporal: 'sqlite' | 'postgres';
  /** SHA-256 and size of each dump file, checked before anything is restored. */
  files: Record<string, { bytes: number; sha256: string }>;
  documents: { count: number; bytes: number };
  /** Identifies ENCRYPTION_KEY without revealing it (an HKDF output of its own); null when no key was at hand. */
  encryptionKeyFingerprint: string | null;
}

/** Names a key without revealing it: a derived value no other part of the system uses. */
export function keyFingerprint(masterKey: Buffer): string {
  return deriveSecret(masterKey, 'sso-lifecycle/backup/key-fingerprint').slice(0, 22);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Runs pg_dump or pg_restore against a connection URL; the password travels in PGPASSWORD, not on
 * the command line where `ps` would show it.
 */
export async function runPgTool(tool: 'pg_dump' | 'pg_restore', url: string, args: string[]): Promise<void> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  try {
    // PG_BIN: the client tools of another version (they must be the server's major version or newer).
    await promisify(execFile)(process.env.PG_BIN ? join(process.env.PG_BIN, tool) : tool, [`--dbname=${parsed.toString()}`, ...args], {
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, code } = error as { stderr?: string; code?: string | number };
    if (code === 'ENOENT')
      throw new Error(`${tool} is not on PATH (or in PG_BIN): install the PostgreSQL client tools of the server's major version or newer`, { cause: error });
    throw new Error(`${tool} failed on ${parsed.host}${parsed.pathname}: ${(stderr ?? String(error)).trim()}`, { cause: error });
  }
}

/**
 * Fixes a database's state at this moment: a transaction that exports its snapshot and stays open
 * until released, for `pg_dump --snapshot`. The moment is when this returns, however long the dump
 * takes afterwards, so several databases' moments can be ordered and kept milliseconds apart.
 */
export async function holdSnapshot(url: string): Promise<{ id: string; at: string; release(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe('begin isolation level repeatable read read only');
    const [row] = await sql<{ id: string }[]>`select pg_export_snapshot() as id`;
    const at = new Date().toISOString();
    return {
      id: row!.id,
      at,
      async release() {
        await sql.unsafe('commit').catch(() => {});
        await sql.end({ timeout: 5 });
      },
    };
  } catch (error) {
    await sql.end({ timeout: 5 });
    throw error;
  }
}

/**
 * Copies the stored documents (`<2 hex>/<sha256>`) from one documents folder to another; staging
 * leftovers are not documents. A stored document never changes in place (it is written aside and
 * renamed in), so each copy is the whole of one version.
 */
export async function copyDocuments(from: string, to: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  const dirs = await readdir(from).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
  for (const dir of dirs.sort()) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of (await readdir(join(from, dir))).sort()) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      await mkdir(join(to, dir), { recursive: true, mode: 0o700 });
      await copyFile(join(from, dir, name), join(to, dir, name));
      bytes += (await stat(join(to, dir, name))).size;
      count++;
    }
  }
  return { count, bytes };
}

/** A folder that does not exist or is empty. */
export async function isEmptyOrAbsent(path: string): Promise<boolean> {
  const entries = await readdir(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
  return entries.length === 0;
}
