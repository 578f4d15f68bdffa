// The database: PostgreSQL through `postgres` when DATABASE_URL is set, otherwise embedded PGlite in DATA_DIR.
// Both speak the same drizzle API; migrations apply at start.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { getTableName, sql } from 'drizzle-orm';
import type { AnyPgColumn, PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction, as `db.transaction` hands it to its callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Where a statement can run: the database, or a transaction in progress. */
export type Queryable = Db | Tx;

/** Rows of `db.execute`: postgres-js returns an array, PGlite an object with `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export interface Database {
  db: Db;
  embedded: boolean;
  close(): Promise<void>;
}

const migrationsFolder = join(import.meta.dirname, 'migrations');

/** Where the embedded database lives in DATA_DIR. */
export const embeddedDatabaseDir = (dataDir: string) => join(dataDir, 'pglite');
const MIGRATION_LOCK = 727_001; // any constant of ours, the same in every process

export async function openDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  maxConnections?: number;
  /** PGlite's shared_buffers (EMBEDDED_DATABASE_BUFFERS): PostgreSQL's default 128MB is most of an idle `npm start`. */
  embeddedBuffers?: string;
}): Promise<Database> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 20,
      onnotice: () => {},
    });
    const db = drizzlePostgres(preparing(client), { schema });
    // API and worker processes start together: one migrates while the others wait on the lock
    // (a session lock, hence a connection of its own).
    const migrator = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migratePostgres(drizzlePostgres(migrator, { schema }), { migrationsFolder });
    } finally {
      await migrator.end({ timeout: 5 });
    }
    // Each driver's database is its own PgDatabase; the services see the one generic type (the only cast).
    return { db: db as unknown as Db, embedded: false, close: () => client.end({ timeout: 5 }) };
  }
  // Loaded only in embedded mode: production processes never pay for PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
  const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
  const dir = embeddedDatabaseDir(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const startParams = options.embeddedBuffers ? [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.embeddedBuffers}`] : undefined;
  const client = await PGlite.create(dir, startParams ? { startParams } : {});
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return { db: db as unknown as Db, embedded: true, close: () => client.close() };
}

/** Statements with more parameters than this (bulk inserts, long id lists) stay unprepared: each shape comes once. */
const PREPARED_MAX_PARAMETERS = 100;

/**
 * The client as drizzle should use it: its statements prepared. drizzle runs every query through
 * postgres.js's `unsafe`, which leaves it unprepared (drizzle-team/drizzle-orm#6096), so that each
 * statement with parameters cost two round trips, one to learn the parameters' types and one to run
 * it: twice the network writes and parsing on both sides (a retirement's step made 36 instead of 19).
 * Prepared, a connection keeps the statement (until it is replaced, after 30–60 minutes) and each run
 * is one round trip. A client configured with `prepare: false` (a transaction-mode pooler) stays
 * unprepared: postgres.js lets the client's setting win.
 */
function preparing(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, key, receiver) {
      // `||`, not `??`: drizzle passes `prepare: false` on every query it has not been asked to name.
      if (key === 'unsafe') {
        return (query: string, parameters: postgres.ParameterOrJSON<never>[] = [], queryOptions: postgres.UnsafeQueryOptions = {}) =>
          target.unsafe(query, parameters, { ...queryOptions, prepare: queryOptions.prepare || parameters.length <= PREPARED_MAX_PARAMETERS });
      }
      // A transaction's (or savepoint's) own client, handed to its callback, prepares the same way.
      if (key === 'begin' || key === 'savepoint') {
        return (...args: unknown[]) => {
          const callback = args.pop() as (tx: postgres.Sql) => unknown;
          const open = Reflect.get(target, key, target) as (...a: unknown[]) => unknown;
          return open.call(target, ...args, (tx: postgres.Sql) => callback(preparing(tx)));
        };
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/**
 * Something built once per database: drizzle's prepared statements, for the statements every
 * sign-in or signed-in request runs (building a statement's SQL costs more CPU than running it).
 * Prepared on the database, they run outside any transaction.
 */
export function perDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let value = built.get(db);
    if (value === undefined) built.set(db, (value = build(db)));
    return value;
  };
}

/**
 * A column named with its table, for a subquery in a select list: drizzle names a selected column
 * bare there, and a bare "id" inside the subquery would be the subquery's own table's.
 */
export const qualified = (column: AnyPgColumn) => sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;
