// One configuration surface for every process (API, worker, all-in-one), read from the environment
// and checked at load: every malformed value is named at once, one line per variable, and the
// entry points stop on them (loadConfigOrExit) before opening anything.
import { isIP } from 'node:net';
import { resolve } from 'node:path';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/** Parses durations such as `500ms`, `90s`, `15m`, `36h`, `2d` into milliseconds. */
export function parseDuration(text: string, name = 'duration'): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`${name} must look like 90s, 15m, 36h or 2d (got "${text}")`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** pino's levels, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every problem of the configuration, one line per variable: `PORT: must be a whole number 0–65535 (got "x")`. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Why a SSO_SIGNING_KEYS value is not a JWKS of private signing keys, or undefined when it is one. */
export function signingKeysProblem(text: string): string | undefined {
  const wanted = 'must be a JWKS {"keys":[...]} of private keys, each with a kid; the first one signs';
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    const keys = parsed?.keys;
    if (!Array.isArray(keys) || keys.length === 0) return wanted;
    if (keys.some((k: unknown) => typeof k !== 'object' || k === null || !(k as { d?: unknown }).d || !(k as { kid?: unknown }).kid)) return wanted;
    return undefined;
  } catch {
    return `${wanted} (not JSON)`;
  }
}

/** Reads variables, recording what is wrong instead of stopping at the first problem. */
class Reader {
  readonly problems: string[] = [];
  private readonly env: NodeJS.ProcessEnv;
  constructor(env: NodeJS.ProcessEnv) {
    this.env = env;
  }

  /** The value, or undefined when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  problem(name: string, what: string, got?: string): void {
    this.problems.push(`${name}: ${what}${got === undefined ? '' : ` (got "${got}")`}`);
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value > max) {
      this.problem(name, max === Number.MAX_SAFE_INTEGER ? 'must be a whole number' : `must be a whole number 0–${max}`, raw);
      return fallback;
    }
    return value;
  }

  port(name: string, fallback: number): number {
    return this.integer(name, fallback, 65_535);
  }

  duration(name: string, fallback: string): number {
    const raw = this.raw(name) ?? fallback;
    if (!DURATION.test(raw)) {
      this.problem(name, 'must be a duration such as 90s, 15m, 36h or 2d', raw);
      return parseDuration(fallback);
    }
    return parseDuration(raw);
  }

  durations(name: string, fallback: string): number[] {
    const raw = this.raw(name) ?? fallback;
    const parts = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v);
    if (parts.some((v) => !DURATION.test(v))) {
      this.problem(name, 'must be durations such as 7d,1d (comma-separated)', raw);
      return fallback.split(',').map((v) => parseDuration(v));
    }
    return parts.map((v) => parseDuration(v));
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') {
      this.problem(name, 'must be true or false', raw);
      return fallback;
    }
    return raw === 'true';
  }

  /**
   * Which proxies in front are believed about the client's address (X-Forwarded-For): `false`, a
   * number of hops (`true` is one), or the proxies' addresses and CIDR ranges. Believing every hop
   * would let a client write its own address in the header.
   */
  trustedProxies(name: string): TrustedProxies {
    const raw = this.raw(name);
    if (raw === undefined || raw === 'false' || raw === '0') return false;
    if (raw === 'true') return 1;
    if (/^\d+$/.test(raw.trim()) && Number(raw) <= 10) return Number(raw);
    const entries = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v);
    const address = (entry: string) => {
      if (PROXY_RANGES.includes(entry)) return true;
      const [ip, bits, ...rest] = entry.split('/');
      const version = isIP(ip!);
      if (version === 0 || rest.length > 0) return false;
      return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
    };
    if (entries.length === 0 || !entries.every(address)) {
      this.problem(name, 'must be false, true (one proxy), the number of proxies in front (1–10), or their addresses, e.g. 10.0.0.5,10.1.0.0/16', raw);
      return false;
    }
    return entries;
  }

  /** An absolute URL with one of these schemes. */
  url(name: string, schemes: string[] = ['http', 'https']): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      /* reported below */
    }
    if (!url || !schemes.includes(url.protocol.slice(0, -1)) || !url.host) {
      this.problem(name, `must be a ${schemes.join(' or ')} URL`, raw);
      return undefined;
    }
    return raw;
  }

  /** host:port, as Temporal's frontend is addressed. */
  address(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const match = /^(?:\[[0-9a-fA-F:]+\]|[\w.-]+):(\d{1,5})$/.exec(raw);
    if (!match || Number(match[1]) > 65_535) {
      this.problem(name, 'must be host:port, e.g. temporal:7233', raw);
      return undefined;
    }
    return raw;
  }

  /** Five fields: minute hour day-of-month month day-of-week. */
  cron(name: string, fallback: string): string {
    const raw = this.raw(name) ?? fallback;
    const fields = raw.trim().split(/\s+/);
    if (fields.length !== 5 || fields.some((f) => !/^[\w*,/-]+$/.test(f))) {
      this.problem(name, 'must be a cron expression of five fields (minute hour day month weekday)', raw);
      return fallback;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      this.problem(name, `must be one of ${values.join(', ')}`, raw);
      return fallback;
    }
    return raw as T;
  }

  /** An amount of memory as PostgreSQL writes it: `512kB`, `32MB`, `1GB`. */
  memorySize(name: string, fallback: string): string {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!/^\d+(kB|MB|GB)$/.test(raw.trim())) {
      this.problem(name, 'must be an amount such as 512kB, 32MB or 1GB', raw);
      return fallback;
    }
    return raw.trim();
  }

  /** A secret key: 32 bytes, base64. The value itself is never repeated in the message. */
  key32(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw.trim()) || Buffer.from(raw, 'base64').length !== 32) {
      this.problem(name, `must be 32 bytes, base64-encoded (openssl rand -base64 32); got ${raw.length} characters`);
      return undefined;
    }
    return raw;
  }

  signingKeys(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const problem = signingKeysProblem(raw);
    if (problem) {
      this.problem(name, problem);
      return undefined;
    }
    return raw;
  }
}

/** proxy-addr's named ranges, as Fastify takes them in `trustProxy`. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** `false`: no proxy; a number: that many hops in front; else the proxies' addresses or CIDR ranges. */
export type TrustedProxies = false | number | string[];

export interface RegistrationTimers {
  remindAfterMs: number;
  escalateAfterMs: number;
  expireAfterMs: number;
  /** How long documents of closed-without-approval requests are kept. */
  documentRetentionMs: number;
}

export interface ReviewTimers {
  remindAfterMs: number;
  escalateAfterMs: number;
  expireAfterMs: number;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  hrFeedSecret: string | undefined;
  bootstrapAdminPassword: string | undefined;
  bootstrapAdminEmail: string | undefined;
  /** Behind reverse proxies: the client's address is the one the trusted proxies report in X-Forwarded-For. */
  trustProxy: TrustedProxies;
  /** The embedded Temporal dev server (when TEMPORAL_ADDRESS is unset). */
  temporalDev: { port: number; uiPort: number; cliPath: string | undefined };
  /** Workflows a worker keeps in memory between tasks. */
  workerMaxCachedWorkflows: number;
  /** Local activities (database work) a worker runs at once; workflow tasks at once are bounded by the cache. */
  workerMaxConcurrentActivities: number;
  /** How far, in percent, a worker process's JavaScript heap may grow past what the last full collection kept. */
  workerHeapGrowingPercent: number;
  /** The young generation of the worker's workflow thread: each of its two semi-spaces, in MB. */
  workerWorkflowSemiSpaceMb: number;
  /** PGlite's shared_buffers (embedded mode), e.g. `32MB`. */
  embeddedDatabaseBuffers: string;
  /** The worker's own HTTP port: /health/live, /health/ready and /metrics. */
  workerHttpPort: number;
  encryptionKey: string | undefined;
  publicUrl: string;
  logLevel: string;
  tokenTtlMs: number;
  /**
   * The second factor of SSO admins (ADMIN_MFA): `required` (TOTP or ThaiID) or `off` (closed test
   * environments only); admins' sign-ins last `sessionTtlMs`, and the most sensitive actions need a
   * second factor confirmed within `reconfirmAfterMs`.
   */
  adminMfa: { mode: 'required' | 'off'; sessionTtlMs: number; reconfirmAfterMs: number };
  rateLimits: { loginPerAddress: number; loginPerUsername: number; submissionsPerAddress: number; passwordResetsPerAddress: number };
  /** A username is locked for `durationMs` after `failures` failed password sign-ins within `windowMs` (counted in the database). */
  signInLockout: { failures: number; windowMs: number; durationMs: number };
  /** How long a "forgot password" link stays valid. */
  passwordResetTtlMs: number;
  registration: RegistrationTimers;
  appointment: { remindAfterMs: number; escalateAfterMs: number; expireAfterMs: number; termReminderBeforeMs: number };
  /** Reviews of one person's rights after a personnel change: reminders, escalation, deadline. */
  roleChangeReview: ReviewTimers;
  transferReview: ReviewTimers;
  /** Review campaigns: reminder digests this long before the due date; escalation point. */
  campaign: { remindBeforeMs: number[]; escalateBeforeMs: number };
  /** How long a person's workflow waits idle for further events before it closes. */
  personIdleMs: number;
  /** The satisfaction survey's current round (default: this Buddhist-Era year). */
  /** The survey round when set; otherwise the round follows the Thai fiscal year (services/survey.ts). */
  surveyRound: string | undefined;
  /** When the weekly digest of units without an SSO admin goes out (cron, Asia/Bangkok). */
  complianceDigestCron: string;
  /**
   * Housekeeping (workflows/housekeeping.ts) on a cron (Asia/Bangkok): sent mail kept `mailRetentionMs`
   * after it went; sign-in tokens, reset links and ThaiID verifications `expiredTokenRetentionMs`
   * after they expired or were used or revoked; closed registrations' password hashes cleared.
   */
  housekeeping: { cron: string; mailRetentionMs: number; expiredTokenRetentionMs: number };
  /** Single sign-on for connected systems (this service as OpenID Connect provider). */
  sso: {
    /** JWKS of private signing keys, first one signs (SSO_SIGNING_KEYS); unset: a key kept in DATA_DIR. */
    signingKeys: string | undefined;
    sessionTtlMs: number;
    accessTokenTtlMs: number;
    refreshTokenTtlMs: number;
  };
  /** ThaiID (DOPA's ThaiD) as the identity provider of people; unset issuer: the local stand-in. */
  thaiid: ThaiIdConfig;
  /**
   * OpenTelemetry traces, exported by OTLP over HTTP when the standard endpoint variable is set
   * (the exporter reads the rest of the standard OTEL_EXPORTER_OTLP_* variables itself); off otherwise.
   */
  tracing: { endpoint: string | undefined; serviceName: string | undefined };
}

export interface ThaiIdConfig {
  issuer: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  apiKey: string | undefined;
  scope: string;
  /** ThaiD publishes no discovery document: its endpoints may be given one by one. */
  authorizationEndpoint: string | undefined;
  tokenEndpoint: string | undefined;
  jwksUri: string | undefined;
  /** Not documented by ThaiD: used only when switched on. */
  usePkce: boolean;
  useNonce: boolean;
  /**
   * Without an issuer, run the local stand-in (THAIID_STANDIN=true, what `npm start` does): it
   * lets anyone sign in as anyone, so a production API without ThaiD has ThaiID switched off.
   */
  standin: boolean;
}

export interface LoadOptions {
  /** A process that serves people or sends mail (default) needs PUBLIC_URL on a shared database; a script that only reads it does not. */
  serving?: boolean;
}

const readWorkerSemiSpaceMb = (read: Reader) => read.integer('WORKER_WORKFLOW_SEMI_SPACE_MB', 8, 1024);

/**
 * WORKER_WORKFLOW_SEMI_SPACE_MB alone, for bin/launch.ts before the process is configured: a bad
 * value reads as the default there, and loadConfig then says what is wrong with it.
 */
export const workerSemiSpaceMb = (env: NodeJS.ProcessEnv = process.env): number => readWorkerSemiSpaceMb(new Reader(env));

export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  const read = new Reader(env);
  const port = read.port('PORT', 3000);
  const databaseUrl = read.url('DATABASE_URL', ['postgres', 'postgresql']);
  const publicUrl = read.url('PUBLIC_URL');
  // Links in mails and the issuer of the single sign-on: a shared deployment must say where it is reached.
  if (options.serving !== false && read.raw('DATABASE_URL') !== undefined && read.raw('PUBLIC_URL') === undefined) {
    read.problem('PUBLIC_URL', 'must be set when DATABASE_URL is (the address people reach this service at, e.g. https://sso.example.go.th)');
  }
  const config: Config = {
    port,
    host: read.string('HOST', '0.0.0.0'),
    dataDir: resolve(read.string('DATA_DIR', './data')),
    databaseUrl,
    temporalAddress: read.address('TEMPORAL_ADDRESS'),
    temporalNamespace: read.string('TEMPORAL_NAMESPACE', 'default'),
    taskQueue: read.string('TEMPORAL_TASK_QUEUE', 'sso-lifecycle'),
    smtpUrl: read.url('SMTP_URL', ['smtp', 'smtps']),
    mailFrom: read.string('MAIL_FROM', 'SSO กรมส่งเสริมการปกครองท้องถิ่น <no-reply@sso.dla.go.th>'),
    hrFeedSecret: read.raw('HR_FEED_SECRET'),
    bootstrapAdminPassword: read.raw('BOOTSTRAP_ADMIN_PASSWORD'),
    bootstrapAdminEmail: read.raw('BOOTSTRAP_ADMIN_EMAIL'),
    trustProxy: read.trustedProxies('TRUST_PROXY'),
    temporalDev: { port: read.port('TEMPORAL_DEV_PORT', 7233), uiPort: read.port('TEMPORAL_DEV_UI_PORT', 8233), cliPath: read.raw('TEMPORAL_CLI_PATH') },
    workerMaxCachedWorkflows: read.integer('WORKER_MAX_CACHED_WORKFLOWS', 250),
    workerMaxConcurrentActivities: read.integer('WORKER_MAX_CONCURRENT_ACTIVITIES', 200),
    workerHeapGrowingPercent: read.integer('WORKER_HEAP_GROWING_PERCENT', 30, 1000),
    workerWorkflowSemiSpaceMb: readWorkerSemiSpaceMb(read),
    embeddedDatabaseBuffers: read.memorySize('EMBEDDED_DATABASE_BUFFERS', '32MB'),
    workerHttpPort: read.port('WORKER_HTTP_PORT', 9464),
    encryptionKey: read.key32('ENCRYPTION_KEY'),
    publicUrl: (publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    tokenTtlMs: read.duration('TOKEN_TTL', '8h'),
    adminMfa: {
      mode: read.oneOf('ADMIN_MFA', ['required', 'off'] as const, 'required'),
      sessionTtlMs: read.duration('ADMIN_TOKEN_TTL', '4h'),
      reconfirmAfterMs: read.duration('ADMIN_MFA_RECONFIRM_AFTER', '15m'),
    },
    rateLimits: {
      loginPerAddress: read.integer('LOGIN_RATE_LIMIT_PER_ADDRESS', 30),
      loginPerUsername: read.integer('LOGIN_RATE_LIMIT_PER_USERNAME', 10),
      submissionsPerAddress: read.integer('REGISTRATION_RATE_LIMIT_PER_ADDRESS', 20),
      passwordResetsPerAddress: read.integer('PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS', 5),
    },
    signInLockout: {
      failures: Math.max(1, read.integer('SIGN_IN_LOCKOUT_FAILURES', 10, 1000)),
      windowMs: read.duration('SIGN_IN_LOCKOUT_WINDOW', '15m'),
      durationMs: read.duration('SIGN_IN_LOCKOUT_DURATION', '15m'),
    },
    passwordResetTtlMs: read.duration('PASSWORD_RESET_TTL', '30m'),
    registration: {
      remindAfterMs: read.duration('REGISTRATION_REMIND_AFTER', '2d'),
      escalateAfterMs: read.duration('REGISTRATION_ESCALATE_AFTER', '5d'),
      expireAfterMs: read.duration('REGISTRATION_EXPIRE_AFTER', '30d'),
      documentRetentionMs: read.duration('REGISTRATION_DOCUMENT_RETENTION_AFTER', '90d'),
    },
    appointment: {
      remindAfterMs: read.duration('APPOINTMENT_REMIND_AFTER', '2d'),
      escalateAfterMs: read.duration('APPOINTMENT_ESCALATE_AFTER', '5d'),
      expireAfterMs: read.duration('APPOINTMENT_EXPIRE_AFTER', '30d'),
      termReminderBeforeMs: read.duration('APPOINTMENT_TERM_REMINDER_BEFORE', '30d'),
    },
    complianceDigestCron: read.cron('COMPLIANCE_DIGEST_CRON', '0 8 * * 1'),
    housekeeping: {
      cron: read.cron('HOUSEKEEPING_CRON', '17 * * * *'),
      mailRetentionMs: read.duration('MAIL_RETENTION', '30d'),
      expiredTokenRetentionMs: read.duration('EXPIRED_TOKEN_RETENTION', '1d'),
    },
    surveyRound: read.raw('SURVEY_ROUND'),
    roleChangeReview: {
      remindAfterMs: read.duration('ROLE_CHANGE_REMIND_AFTER', '2d'),
      escalateAfterMs: read.duration('ROLE_CHANGE_ESCALATE_AFTER', '5d'),
      expireAfterMs: read.duration('ROLE_CHANGE_EXPIRE_AFTER', '14d'),
    },
    transferReview: {
      remindAfterMs: read.duration('TRANSFER_REMIND_AFTER', '2d'),
      escalateAfterMs: read.duration('TRANSFER_ESCALATE_AFTER', '5d'),
      expireAfterMs: read.duration('TRANSFER_EXPIRE_AFTER', '14d'),
    },
    personIdleMs: read.duration('PERSONNEL_IDLE_CLOSE_AFTER', '0s'),
    sso: {
      signingKeys: read.signingKeys('SSO_SIGNING_KEYS'),
      sessionTtlMs: read.duration('SSO_SESSION_TTL', '8h'),
      accessTokenTtlMs: read.duration('SSO_ACCESS_TOKEN_TTL', '10m'),
      refreshTokenTtlMs: read.duration('SSO_REFRESH_TOKEN_TTL', '8h'),
    },
    thaiid: {
      issuer: read.url('THAIID_ISSUER'),
      clientId: read.raw('THAIID_CLIENT_ID'),
      clientSecret: read.raw('THAIID_CLIENT_SECRET'),
      apiKey: read.raw('THAIID_API_KEY'),
      scope: read.string('THAIID_SCOPE', 'openid pid given_name family_name given_name_en family_name_en birthdate'),
      authorizationEndpoint: read.url('THAIID_AUTHORIZATION_ENDPOINT'),
      tokenEndpoint: read.url('THAIID_TOKEN_ENDPOINT'),
      jwksUri: read.url('THAIID_JWKS_URI'),
      usePkce: read.boolean('THAIID_USE_PKCE', false),
      useNonce: read.boolean('THAIID_USE_NONCE', false),
      standin: read.boolean('THAIID_STANDIN', false),
    },
    tracing: {
      endpoint: read.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? read.url('OTEL_EXPORTER_OTLP_ENDPOINT'),
      serviceName: read.raw('OTEL_SERVICE_NAME'),
    },
    campaign: {
      remindBeforeMs: read.durations('ACCESS_REVIEW_REMIND_BEFORE', '7d,1d'),
      escalateBeforeMs: read.duration('ACCESS_REVIEW_ESCALATE_BEFORE', '2d'),
    },
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/**
 * What every entry point calls: the configuration, or the problems printed one line per variable
 * and exit code 2, without a stack trace.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  try {
    return loadConfig(env, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}
