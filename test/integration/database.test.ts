// How the service talks to PostgreSQL: its statements are prepared on the connection (one round trip
// each instead of two), bulk ones are not, and `?prepare=false` in DATABASE_URL (a pooler in
// transaction mode) turns it off. Against a database of its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, rowsOf, type Queryable } from '../../db/client.ts';
import { accounts } from '../../db/schema.ts';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `sso_db_${randomBytes(5).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` });

beforeAll(async () => {
  await admin.unsafe(`create database ${name}`);
});

afterAll(async () => {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

/** The statements prepared on the connection `db` runs on, by their text. */
async function preparedOn(db: Queryable): Promise<string[]> {
  return rowsOf<{ statement: string }>(await db.execute(sql`select statement from pg_prepared_statements`)).map((r) => r.statement);
}

it('prepares the statements drizzle runs, in a transaction too, but not one of over a hundred parameters', async () => {
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '/tmp', maxConnections: 1 });
  try {
    const { db } = database;
    await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.username, 'somebody'));
    expect((await preparedOn(db)).some((s) => s.includes('from "accounts" where "accounts"."username" = $1'))).toBe(true);
    await db.transaction(async (tx) => {
      await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, 'somebody@lao.test'));
      expect((await preparedOn(tx)).some((s) => s.includes('where "accounts"."email" = $1'))).toBe(true);
    });
    const many = Array.from({ length: 150 }, () => randomUUID());
    await db.select({ id: accounts.id }).from(accounts).where(inArray(accounts.id, many));
    expect((await preparedOn(db)).some((s) => s.includes('"accounts"."id" in ($1, '))).toBe(false);
  } finally {
    await database.close();
  }
});

it('prepares nothing when DATABASE_URL says prepare=false', async () => {
  const unprepared = new URL(url);
  unprepared.searchParams.set('prepare', 'false');
  const database = await openDatabase({ databaseUrl: unprepared.toString(), dataDir: '/tmp', maxConnections: 1 });
  try {
    const { db } = database;
    await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.username, 'somebody'));
    await db.transaction(async (tx) => {
      await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, 'somebody@lao.test'));
    });
    expect(await preparedOn(db)).toEqual([]);
  } finally {
    await database.close();
  }
});
