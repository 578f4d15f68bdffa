// One configuration surface for every process (API, worker, all-in-one), read from the environment.
import { resolve } from 'node:path';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses durations such as `500ms`, `90s`, `15m`, `36h`, `2d` into milliseconds. */
export function parseDuration(text: string, name = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`${name} must look like 90s, 15m, 36h or 2d (got "${text}")`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  return parseDuration(env[name] ?? fallback, name);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number (got "${raw}")`);
  return value;
}

export interface RegistrationTimers {
  remindAfterMs: number;
  escalateAfterMs: number;
  expireAfterMs: number;
  /** How long documents of closed-without-approval requests are kept. */
  documentRetentionMs: number;
}

export interface ReviewTimers { remindAfterMs: number; escalateAfterMs: number; expireAfterMs: number }

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
  /** Behind a reverse proxy: client addresses come from X-Forwarded-For. */
  trustProxy: boolean;
  /** The embedded Temporal dev server (when TEMPORAL_ADDRESS is unset). */
  temporalDev: { port: number; uiPort: number; cliPath: string | undefined };
  /** Workflows a worker keeps in memory between tasks. */
  workerMaxCachedWorkflows: number;
  encryptionKey: string | undefined;
  publicUrl: string;
  logLevel: string;
  tokenTtlMs: number;
  rateLimits: { loginPerAddress: number; loginPerUsername: number; submissionsPerAddress: number };
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
  surveyRound: string;
  /** When the weekly digest of units without an SSO admin goes out (cron, Asia/Bangkok). */
  complianceDigestCron: string;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer(env, 'PORT', 3000);
  return {
    port,
    host: env.HOST ?? '0.0.0.0',
    dataDir: resolve(env.DATA_DIR ?? './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TEMPORAL_TASK_QUEUE || 'sso-lifecycle',
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.MAIL_FROM || 'SSO กรมส่งเสริมการปกครองท้องถิ่น <no-reply@sso.dla.go.th>',
    hrFeedSecret: env.HR_FEED_SECRET || undefined,
    bootstrapAdminPassword: env.BOOTSTRAP_ADMIN_PASSWORD || undefined,
    bootstrapAdminEmail: env.BOOTSTRAP_ADMIN_EMAIL || undefined,
    trustProxy: env.TRUST_PROXY === 'true',
    temporalDev: { port: integer(env, 'TEMPORAL_DEV_PORT', 7233), uiPort: integer(env, 'TEMPORAL_DEV_UI_PORT', 8233), cliPath: env.TEMPORAL_CLI_PATH || undefined },
    workerMaxCachedWorkflows: integer(env, 'WORKER_MAX_CACHED_WORKFLOWS', 250),
    encryptionKey: env.ENCRYPTION_KEY || undefined,
    publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    logLevel: env.LOG_LEVEL || 'info',
    tokenTtlMs: duration(env, 'TOKEN_TTL', '8h'),
    rateLimits: {
      loginPerAddress: integer(env, 'LOGIN_RATE_LIMIT_PER_ADDRESS', 30),
      loginPerUsername: integer(env, 'LOGIN_RATE_LIMIT_PER_USERNAME', 10),
      submissionsPerAddress: integer(env, 'REGISTRATION_RATE_LIMIT_PER_ADDRESS', 20),
    },
    registration: {
      remindAfterMs: duration(env, 'REGISTRATION_REMIND_AFTER', '2d'),
      escalateAfterMs: duration(env, 'REGISTRATION_ESCALATE_AFTER', '5d'),
      expireAfterMs: duration(env, 'REGISTRATION_EXPIRE_AFTER', '30d'),
      documentRetentionMs: duration(env, 'REGISTRATION_DOCUMENT_RETENTION_AFTER', '90d'),
    },
    appointment: {
      remindAfterMs: duration(env, 'APPOINTMENT_REMIND_AFTER', '2d'),
      escalateAfterMs: duration(env, 'APPOINTMENT_ESCALATE_AFTER', '5d'),
      expireAfterMs: duration(env, 'APPOINTMENT_EXPIRE_AFTER', '30d'),
      termReminderBeforeMs: duration(env, 'APPOINTMENT_TERM_REMINDER_BEFORE', '30d'),
    },
    complianceDigestCron: env.COMPLIANCE_DIGEST_CRON || '0 8 * * 1',
    surveyRound: env.SURVEY_ROUND || String(new Date(Date.now() + 7 * 3_600_000).getUTCFullYear() + 543),
    roleChangeReview: {
      remindAfterMs: duration(env, 'ROLE_CHANGE_REMIND_AFTER', '2d'),
      escalateAfterMs: duration(env, 'ROLE_CHANGE_ESCALATE_AFTER', '5d'),
      expireAfterMs: duration(env, 'ROLE_CHANGE_EXPIRE_AFTER', '14d'),
    },
    transferReview: {
      remindAfterMs: duration(env, 'TRANSFER_REMIND_AFTER', '2d'),
      escalateAfterMs: duration(env, 'TRANSFER_ESCALATE_AFTER', '5d'),
      expireAfterMs: duration(env, 'TRANSFER_EXPIRE_AFTER', '14d'),
    },
    personIdleMs: duration(env, 'PERSONNEL_IDLE_CLOSE_AFTER', '10m'),
    sso: {
      signingKeys: env.SSO_SIGNING_KEYS || undefined,
      sessionTtlMs: duration(env, 'SSO_SESSION_TTL', '8h'),
      accessTokenTtlMs: duration(env, 'SSO_ACCESS_TOKEN_TTL', '10m'),
      refreshTokenTtlMs: duration(env, 'SSO_REFRESH_TOKEN_TTL', '8h'),
    },
    thaiid: {
      issuer: env.THAIID_ISSUER || undefined,
      clientId: env.THAIID_CLIENT_ID || undefined,
      clientSecret: env.THAIID_CLIENT_SECRET || undefined,
      apiKey: env.THAIID_API_KEY || undefined,
      scope: env.THAIID_SCOPE || 'openid pid given_name family_name given_name_en family_name_en birthdate',
      authorizationEndpoint: env.THAIID_AUTHORIZATION_ENDPOINT || undefined,
      tokenEndpoint: env.THAIID_TOKEN_ENDPOINT || undefined,
      jwksUri: env.THAIID_JWKS_URI || undefined,
      usePkce: env.THAIID_USE_PKCE === 'true',
      useNonce: env.THAIID_USE_NONCE === 'true',
      standin: env.THAIID_STANDIN === 'true',
    },
    campaign: {
      remindBeforeMs: (env.ACCESS_REVIEW_REMIND_BEFORE ?? '7d,1d').split(',').filter((v) => v.trim()).map((v) => parseDuration(v.trim(), 'ACCESS_REVIEW_REMIND_BEFORE')),
      escalateBeforeMs: duration(env, 'ACCESS_REVIEW_ESCALATE_BEFORE', '2d'),
    },
  };
}
