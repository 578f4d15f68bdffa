// Migrations only add: a release's code must run against the schema the next release migrates to
// (its API and workers keep running while the new ones start), so a migration creates tables,
// indexes and constraints and adds columns that are nullable or have a default; it never drops,
// renames or retypes. A column the code no longer reads is dropped in a later release, by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MIGRATIONS = join(import.meta.dirname, '..', '..', 'db', 'migrations');

const ADDITIVE = [
  /^CREATE TABLE (IF NOT EXISTS )?"\w+"/i,
  /^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?"\w+"/i,
  /^CREATE TYPE "[\w.]+"( AS ENUM)?/i,
  /^ALTER TYPE "[\w.]+" ADD VALUE/i,
  /^ALTER TABLE "\w+" ADD CONSTRAINT "\w+"/i,
  /^ALTER TABLE "\w+" ADD COLUMN "\w+"/i,
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
    ])
      expect(notAdditive(statement), statement).toBeDefined();
    expect(notAdditive('ALTER TABLE "accounts" ADD COLUMN "x" text DEFAULT \'a\' NOT NULL')).toBeUndefined();
  });
});
