// Throttles built on @fastify/rate-limit's limiter. Its own hooks run only one limit per request,
// and sign-in needs two (per address and per username), so each limit here is a hook of its own.
// The counts live in PostgreSQL (db/rate-limits.ts): every API replica sees the same ones.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client.ts';
import { countHit, readHits, type Hits } from '../db/rate-limits.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { Problem } from '../lib/problem.ts';
import { THROTTLE } from './responses.ts';

type Done = (error: Error | null, result?: { current: number; ttl: number }) => void;
const answer = (done: Done) => (hits: Hits) => done(null, { current: hits.hits, ttl: hits.ttlMs });

/**
 * The limiter's store, counting in the database. Keys are stored hashed: addresses and what people
 * typed as a username (a password, at times) stay out of the table. `namespace` keeps apart
 * deployments that share a database (their task queue, as the schedules' ids do).
 */
export function sharedRateLimitStore(db: Db, namespace: string): FastifyRateLimitStoreCtor {
  const stored = (key: string) => sha256Hex(`${namespace}:${key}`);
  return class SharedRateLimitStore implements FastifyRateLimitStore {
    incr(key: string, done: Done, timeWindow: number): void {
      countHit(db, stored(key), timeWindow).then(answer(done), done);
    }
    read(key: string, done: Done): void {
      readHits(db, stored(key)).then(answer(done), done);
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

export function throttle(app: FastifyInstance, name: string, max: number, key: (request: FastifyRequest) => string) {
  const limiter = app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: (request: FastifyRequest) => `${name}:${key(request)}` });
  const hook = async (request: FastifyRequest, reply: { header(name: string, value: unknown): unknown }) => {
    const result = await limiter(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(result.ttlInSeconds));
    throw new Problem(429, 'Too Many Requests', `Too many attempts; try again in ${result.ttlInSeconds} s.`);
  };
  // Its routes declare 429 in the OpenAPI document (responses.ts).
  return Object.assign(hook, { [THROTTLE]: true });
}

/**
 * The sign-in throttles of every sign-in door (API, sign-in page, a system's sign-in): per address
 * before anything is read, per username once the body is. Doors share the counts (one store).
 */
export function loginThrottles(app: FastifyInstance) {
  const { loginPerAddress, loginPerUsername } = app.deps.config.rateLimits;
  return {
    perAddress: throttle(app, 'login-address', loginPerAddress, (r) => r.ip),
    perUsername: throttle(app, 'login-username', loginPerUsername, (r) =>
      String((r.body as { username?: unknown } | undefined)?.username ?? '')
        .trim()
        .toLowerCase(),
    ),
  };
}
