// Migrations only add: a release's code must run against the schema the next release migrates to
// (its API and workers keep running while the new ones start), so a migration creates tables,
// indexes and constraints and adds columns that are nullable or have a default; it never drops,
// renames or retypes. A column the code no longer reads is dropped in a later release, by hand.
// A released migration is never edited: databases in production have run it as it was
// (test/releases/previous.json holds their hashes; test/integration/upgrade.test.ts upgrades from them).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../lib/crypto.ts';

const MIGRATIONS = join(import.meta.dirname, '..', '..', 'db', 'migrations');
const PREVIOUS_RELEASE = join(import.meta.dirname, '..', 'releases', 'previous.json');

const ADDITIVE = [
  /^CREATE TABLE (IF NOT EXISTS )?"\w+"/i,
  /^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?"\w+"/i,
  /^CREATE TYPE "[\w.]+"( AS ENUM)?/i,
  /^ALTER TYPE "[\w.]+" ADD VALUE/i,
  /^ALTER TABLE "\w+" ADD CONSTRAINT "\w+"/i,
  /^ALTER TABLE "\w+" ADD COLUMN "\w+"/i,
  // Relaxing a column: the release still running keeps writing values, and reads what it wrote.
  /^ALTER TABLE "\w+" ALTER COLUMN "\w+" DROP NOT NULL$/i,
];

/** Why a statement is not additive, or undefined. */
function notAdditive(statement: string): string | undefined {
  const s = statement.replace(/\s+/g, ' ').trim();
  if (!ADDITIVE.some((rule) => rule.test(s))) return 'not one of: create table, index, type; add column, constraint, enum value';
  if (/ADD COLUMN/i.test(s) && /NOT NULL/i.test(s) && !/DEFAULT/i.test(s)) return 'a NOT NULL column without a default fails on the rows already there';
  return undefined;
}

describe('migrations', () => {
  it('only add', () => {
    const files = readdirSync(MIGRATIONS)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files.length).toBeGreaterThan(0);
    const refused: string[] = [];
    for (const file of files) {
      const statements = readFileSync(join(MIGRATIONS, file), 'utf8')
        .split(/--> statement-breakpoint|;\s*$/m)
        .map((s) => s.trim().replace(/;$/, ''))
        .filter(Boolean);
      for (const statement of statements) {
        const why = notAdditive(statement);
        if (why) refused.push(`${file}: ${statement.slice(0, 120)} — ${why}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('refuses what would break the release still running', () => {
    for (const statement of [
      'DROP TABLE "notes"',
      'ALTER TABLE "accounts" DROP COLUMN "phone"',
      'ALTER TABLE "accounts" RENAME COLUMN "phone" TO "mobile"',
      'ALTER TABLE "accounts" ALTER COLUMN "phone" SET DATA TYPE integer',
      'ALTER TABLE "accounts" ADD COLUMN "x" text NOT NULL',
      'ALTER TABLE "accounts" ALTER COLUMN "phone" SET NOT NULL',
      'ALTER TABLE "accounts" ALTER COLUMN "phone" DROP NOT NULL, ALTER COLUMN "email" TYPE integer',
      'ALTER TABLE "accounts" RENAME TO "people"',
      "ALTER TYPE \"status\" RENAME VALUE 'a' TO 'b'",
      'TRUNCATE "notes"',
      'UPDATE "accounts" SET "phone" = NULL',
    ])
      expect(notAdditive(statement), statement).toBeDefined();
    expect(notAdditive('ALTER TABLE "accounts" ADD COLUMN "x" text DEFAULT \'a\' NOT NULL')).toBeUndefined();
    expect(notAdditive('ALTER TABLE "registrations" ALTER COLUMN "password_hash" DROP NOT NULL')).toBeUndefined();
  });

  it('never edits a released migration; new ones come after the released ones', () => {
    const released = (JSON.parse(readFileSync(PREVIOUS_RELEASE, 'utf8')) as { migrations: Record<string, string> }).migrations;
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const names = Object.keys(released);
    expect(journal.entries.slice(0, names.length).map((e) => `${e.tag}.sql`)).toEqual(names);
    for (const [name, sha256] of Object.entries(released))
      expect(sha256Hex(readFileSync(join(MIGRATIONS, name))), `${name} was edited after its release`).toBe(sha256);
  });
});
