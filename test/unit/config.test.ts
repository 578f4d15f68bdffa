// The configuration is checked at load: every malformed value is named, one line per variable.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');
const JWKS = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', d: 'x', n: 'y', e: 'AQAB' }] });

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('loads the embedded defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.workerHttpPort).toBe(9464);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.logLevel).toBe('info');
    expect(config.registration.remindAfterMs).toBe(2 * 86_400_000);
    expect(config.campaign.remindBeforeMs).toEqual([7 * 86_400_000, 86_400_000]);
    expect(config.thaiid.standin).toBe(false);
  });

  it('loads a complete shared deployment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://sso@db:5432/sso',
      PUBLIC_URL: 'https://sso.example.go.th/',
      TEMPORAL_ADDRESS: 'temporal:7233',
      SMTP_URL: 'smtps://relay.example.go.th:465',
      ENCRYPTION_KEY: KEY,
      SSO_SIGNING_KEYS: JWKS,
      LOG_LEVEL: 'warn',
      PORT: '8080',
      WORKER_HTTP_PORT: '9000',
      TRUST_PROXY: 'true',
      COMPLIANCE_DIGEST_CRON: '30 7 * * 1-5',
      ACCESS_REVIEW_REMIND_BEFORE: '3d, 12h',
      THAIID_ISSUER: 'https://imauth.bora.dopa.go.th',
      WORKER_MAX_CACHED_WORKFLOWS: '1000',
    });
    expect(config.publicUrl).toBe('https://sso.example.go.th');
    expect(config.port).toBe(8080);
    expect(config.workerHttpPort).toBe(9000);
    expect(config.trustProxy).toBe(1); // true: the one reverse proxy in front
    expect(config.campaign.remindBeforeMs).toEqual([3 * 86_400_000, 12 * 3_600_000]);
    expect(config.complianceDigestCron).toBe('30 7 * * 1-5');
    expect(config.workerMaxCachedWorkflows).toBe(1000);
  });

  it('names every malformed variable at once, one line each', () => {
    const problems = problemsOf({
      PORT: 'x',
      WORKER_HTTP_PORT: '70000',
      PUBLIC_URL: 'ftp://sso',
      SMTP_URL: 'mail.example',
      TOKEN_TTL: '8 hours',
      COMPLIANCE_DIGEST_CRON: '0 8 * *',
      ENCRYPTION_KEY: 'c2hvcnQ=',
      SSO_SIGNING_KEYS: '{"keys":[{"kty":"RSA"}]}',
      LOG_LEVEL: 'verbose',
      TRUST_PROXY: 'yes',
      TEMPORAL_ADDRESS: 'http://temporal',
      ACCESS_REVIEW_REMIND_BEFORE: '7d,tomorrow',
      LOGIN_RATE_LIMIT_PER_ADDRESS: '-1',
    });
    expect(problems).toEqual([
      'PORT: must be a whole number 0–65535 (got "x")',
      'PUBLIC_URL: must be a http or https URL (got "ftp://sso")',
      'TEMPORAL_ADDRESS: must be host:port, e.g. temporal:7233 (got "http://temporal")',
      'SMTP_URL: must be a smtp or smtps URL (got "mail.example")',
      'TRUST_PROXY: must be false, true (one proxy), the number of proxies in front (1–10), or their addresses, e.g. 10.0.0.5,10.1.0.0/16 (got "yes")',
      'WORKER_HTTP_PORT: must be a whole number 0–65535 (got "70000")',
      'ENCRYPTION_KEY: must be 32 bytes, base64-encoded (openssl rand -base64 32); got 8 characters',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
      'TOKEN_TTL: must be a duration such as 90s, 15m, 36h or 2d (got "8 hours")',
      'LOGIN_RATE_LIMIT_PER_ADDRESS: must be a whole number (got "-1")',
      'COMPLIANCE_DIGEST_CRON: must be a cron expression of five fields (minute hour day month weekday) (got "0 8 * *")',
      'SSO_SIGNING_KEYS: must be a JWKS {"keys":[...]} of private keys, each with a kid; the first one signs',
      'ACCESS_REVIEW_REMIND_BEFORE: must be durations such as 7d,1d (comma-separated) (got "7d,tomorrow")',
    ]);
  });

  it('trusts the proxies it is told of, never every X-Forwarded-For hop', () => {
    const trust = (value: string) => loadConfig({ TRUST_PROXY: value }).trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.5, 10.1.0.0/16,fd00::/8,loopback')).toEqual(['10.0.0.5', '10.1.0.0/16', 'fd00::/8', 'loopback']);
    for (const wrong of ['all', '10.0.0.0/33', '11', '10.0.0.5,proxy.local'])
      expect(problemsOf({ TRUST_PROXY: wrong })[0]).toMatch(/^TRUST_PROXY: must be false, true/);
  });

  it('reads the housekeeping schedule and retention periods', () => {
    const defaults = loadConfig({}).housekeeping;
    expect(defaults).toEqual({ cron: '17 * * * *', mailRetentionMs: 30 * 86_400_000, expiredTokenRetentionMs: 86_400_000 });
    expect(loadConfig({ MAIL_RETENTION: '90d', EXPIRED_TOKEN_RETENTION: '12h' }).housekeeping).toMatchObject({
      mailRetentionMs: 90 * 86_400_000,
      expiredTokenRetentionMs: 12 * 3_600_000,
    });
    expect(problemsOf({ MAIL_RETENTION: 'a month', HOUSEKEEPING_CRON: 'hourly' })).toEqual([
      'HOUSEKEEPING_CRON: must be a cron expression of five fields (minute hour day month weekday) (got "hourly")',
      'MAIL_RETENTION: must be a duration such as 90s, 15m, 36h or 2d (got "a month")',
    ]);
  });

  it('reads the memory bounds, the embedded buffers in PostgreSQL units (passed to PGlite as they are)', () => {
    expect(loadConfig({})).toMatchObject({ workerHeapGrowingPercent: 30, workerWorkflowSemiSpaceMb: 8, embeddedDatabaseBuffers: '32MB' });
    expect(loadConfig({ EMBEDDED_DATABASE_BUFFERS: '512kB', WORKER_HEAP_GROWING_PERCENT: '0' })).toMatchObject({
      embeddedDatabaseBuffers: '512kB',
      workerHeapGrowingPercent: 0,
    });
    expect(problemsOf({ EMBEDDED_DATABASE_BUFFERS: '32MB -c fsync=off', WORKER_WORKFLOW_SEMI_SPACE_MB: '2048' })).toEqual([
      'WORKER_WORKFLOW_SEMI_SPACE_MB: must be a whole number 0–1024 (got "2048")',
      'EMBEDDED_DATABASE_BUFFERS: must be an amount such as 512kB, 32MB or 1GB (got "32MB -c fsync=off")',
    ]);
  });

  it('never repeats a secret in its message', () => {
    const secret = 'not-a-key-but-a-secret-value';
    const problems = problemsOf({ ENCRYPTION_KEY: secret, SSO_SIGNING_KEYS: `{${secret}` });
    expect(problems).toHaveLength(2);
    for (const line of problems) expect(line).not.toContain(secret);
  });

  it('needs PUBLIC_URL on a shared database, except for scripts that only read it', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://sso@db/sso' })).toEqual([
      'PUBLIC_URL: must be set when DATABASE_URL is (the address people reach this service at, e.g. https://sso.example.go.th)',
    ]);
    expect(problemsOf({ DATABASE_URL: 'mysql://db/sso', PUBLIC_URL: 'https://sso.example.go.th' })).toEqual([
      'DATABASE_URL: must be a postgres or postgresql URL (got "mysql://db/sso")',
    ]);
    expect(loadConfig({ DATABASE_URL: 'postgres://sso@db/sso' }, { serving: false }).databaseUrl).toBe('postgres://sso@db/sso');
  });

  it('stops an entry point with the problems and exit code 2, without a stack trace', async () => {
    const run = promisify(execFile)(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'worker.ts')], {
      env: { PATH: process.env.PATH, PORT: '99999', DATABASE_URL: 'postgres://sso@127.0.0.1:1/sso', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    const failed = await run.then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr.trim().split('\n')).toEqual([
      'PORT: must be a whole number 0–65535 (got "99999")',
      'PUBLIC_URL: must be set when DATABASE_URL is (the address people reach this service at, e.g. https://sso.example.go.th)',
    ]);
  });
});
