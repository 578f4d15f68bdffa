// The throttles' counts (api/throttle.ts) in PostgreSQL, so that every API replica counts the same.
// Each hit is one statement: the row is made, counted up, or started afresh when its window ended,
// all on the database's clock (replicas' clocks may differ).
import { eq, lte, sql } from 'drizzle-orm';
import { perDatabase, type Db, type Queryable } from './client.ts';
import { rateLimits } from './schema.ts';

export interface Hits {
  /** Hits in the current window, this one included. */
  hits: number;
  /** Milliseconds until the window ends. */
  ttlMs: number;
}

const ended = sql`${rateLimits.windowEndsAt} <= now()`;
const ttlMs = sql<number>`greatest(0, ceil(extract(epoch from ${rateLimits.windowEndsAt} - now()) * 1000))::integer`;

const statements = perDatabase((db) => ({
  countHit: db
    .insert(rateLimits)
    .values({ key: sql.placeholder('key'), hits: 1, windowEndsAt: sql`now() + ${sql.placeholder('windowMs')}::integer * interval '1 millisecond'` })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`case when ${ended} then 1 else ${rateLimits.hits} + 1 end`,
        windowEndsAt: sql`case when ${ended} then excluded.window_ends_at else ${rateLimits.windowEndsAt} end`,
      },
    })
    .returning({ hits: rateLimits.hits, ttlMs })
    .prepare('rate_limit_count_hit'),
  readHits: db
    .select({ hits: sql<number>`case when ${ended} then 0 else ${rateLimits.hits} end`, ttlMs })
    .from(rateLimits)
    .where(eq(rateLimits.key, sql.placeholder('key')))
    .prepare('rate_limit_read_hits'),
}));

/** Counts one hit of `key`, in a window of `windowMs` that starts with the first hit. */
export async function countHit(db: Db, key: string, windowMs: number): Promise<Hits> {
  const [row] = await statements(db).countHit.execute({ key, windowMs });
  return row!;
}

/** The hits of `key` in its current window, without counting one (0 when the window ended). */
export async function readHits(db: Db, key: string): Promise<Hits> {
  const [row] = await statements(db).readHits.execute({ key });
  return row ?? { hits: 0, ttlMs: 0 };
}

/** Deletes the counts whose window ended before `before` (housekeeping); returns how many. */
export async function deleteEndedWindows(db: Queryable, before: Date): Promise<number> {
  const deleted = await db.delete(rateLimits).where(lte(rateLimits.windowEndsAt, before)).returning({ key: rateLimits.key });
  return deleted.length;
}
