// The records of sso-lifecycle. Citizen IDs are stored only encrypted (`*_enc`) and as a keyed hash (`*_hash`).
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const UNIT_KINDS = ['dla', 'province_office', 'district_office', 'pao', 'municipality', 'sao'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export const orgUnits = pgTable(
  'org_units',
  {
    code: text('code').primaryKey(),
    parentCode: text('parent_code'),
    kind: text('kind').$type<UnitKind>().notNull(),
    nameTh: text('name_th').notNull(),
    nameEn: text('name_en'),
    /** The DOPA area code (TIS 1099) of the province or district an office serves: `41`, `4101`. */
    dopaCode: text('dopa_code'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('org_units_parent_idx').on(t.parentCode)],
);

export const ACCOUNT_STATUSES = ['active', 'suspended', 'disabled'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey(),
    username: text('username').notNull(),
    passwordHash: text('password_hash').notNull(),
    citizenIdEnc: text('citizen_id_enc'),
    citizenIdHash: text('citizen_id_hash'),
    firstNameTh: text('first_name_th').notNull(),
    lastNameTh: text('last_name_th').notNull(),
    firstNameEn: text('first_name_en'),
    lastNameEn: text('last_name_en'),
    email: text('email').notNull(),
    phone: text('phone'),
    position: text('position'),
    unitCode: text('unit_code'),
    status: text('status').$type<AccountStatus>().notNull().default('active'),
    /** DLA central administration beyond any unit (the bootstrap admin). */
    centralAdmin: boolean('central_admin').notNull().default(false),
    /** The registration this account was made from; unique so that approval makes it once. */
    registrationId: uuid('registration_id'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('accounts_username_uq').on(sql`lower(${t.username})`),
    uniqueIndex('accounts_citizen_id_hash_uq').on(t.citizenIdHash),
    uniqueIndex('accounts_registration_uq').on(t.registrationId),
    index('accounts_unit_idx').on(t.unitCode),
    // "Forgot password" finds the account by its address too.
    index('accounts_email_idx').on(sql`lower(${t.email})`),
    // Who is DLA central: a handful among hundreds of thousands, asked on every admin's request.
    index('accounts_central_admin_idx')
      .on(t.centralAdmin)
      .where(sql`${t.centralAdmin}`),
  ],
);

/** The SSO admins of each unit; an admin acts for the unit and every unit below it. */
export const unitAdmins = pgTable(
  'unit_admins',
  {
    unitCode: text('unit_code').notNull(),
    accountId: uuid('account_id').notNull(),
    since: timestamp('since', { withTimezone: true }).notNull().defaultNow(),
    source: text('source').$type<'designation' | 'appointment'>().notNull(),
    /** The appointment that made this admin, when it came from one. */
    appointmentId: uuid('appointment_id'),
  },
  (t) => [primaryKey({ columns: [t.unitCode, t.accountId] }), index('unit_admins_account_idx').on(t.accountId)],
);

export const systems = pgTable('systems', {
  code: text('code').primaryKey(),
  nameTh: text('name_th').notNull(),
  nameEn: text('name_en'),
  url: text('url').notNull(),
  roles: jsonb('roles').$type<string[]>().notNull(),
  /** The system's OpenID Connect client, when it signs people in through this service. */
  oidc: jsonb('oidc').$type<SystemOidcClient | null>(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export interface SystemOidcClient {
  clientId: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  /** Public clients (no secret) must use PKCE. */
  public: boolean;
  /** The client secret, encrypted at rest (it must be compared in clear by the provider). */
  clientSecretEnc: string | null;
}

export const ENTITLEMENT_STATUSES = ['active', 'suspended', 'revoked', 'pending_review'] as const;
export type EntitlementStatus = (typeof ENTITLEMENT_STATUSES)[number];

export const entitlements = pgTable(
  'entitlements',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id').notNull(),
    systemCode: text('system_code').notNull(),
    role: text('role').notNull(),
    unitCode: text('unit_code').notNull(),
    status: text('status').$type<EntitlementStatus>().notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('entitlements_grant_uq').on(t.accountId, t.systemCode, t.role, t.unitCode), index('entitlements_unit_idx').on(t.unitCode)],
);

/** `superseded`: ended by a request for the same citizen ID verified through ThaiID (this one was not). */
export const REGISTRATION_STATUSES = ['pending_approval', 'info_requested', 'approved', 'rejected', 'expired', 'withdrawn', 'superseded'] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];
export const OPEN_REGISTRATION_STATUSES: readonly RegistrationStatus[] = ['pending_approval', 'info_requested'];

export interface RequestedAccess {
  system: string;
  role: string;
}

export const registrations = pgTable(
  'registrations',
  {
    id: uuid('id').primaryKey(),
    trackingCodeHash: text('tracking_code_hash').notNull(),
    citizenIdEnc: text('citizen_id_enc').notNull(),
    citizenIdHash: text('citizen_id_hash').notNull(),
    firstNameTh: text('first_name_th').notNull(),
    lastNameTh: text('last_name_th').notNull(),
    firstNameEn: text('first_name_en'),
    lastNameEn: text('last_name_en'),
    email: text('email').notNull(),
    phone: text('phone'),
    position: text('position').notNull(),
    unitCode: text('unit_code').notNull(),
    username: text('username').notNull(),
    /**
     * argon2id hash captured at submission; it never enters a workflow payload. Housekeeping clears
     * it once the request is closed (an approved one's account holds its own copy).
     */
    passwordHash: text('password_hash'),
    requestedAccess: jsonb('requested_access').$type<RequestedAccess[]>().notNull(),
    identityVerifiedBy: text('identity_verified_by').$type<'form' | 'thaiid'>().notNull().default('form'),
    status: text('status').$type<RegistrationStatus>().notNull(),
    actingUnitCode: text('acting_unit_code').notNull(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    accountId: uuid('account_id'),
  },
  (t) => [
    // One open request per person and per username; closed ones may repeat.
    uniqueIndex('registrations_open_citizen_uq')
      .on(t.citizenIdHash)
      .where(sql`${t.status} in ('pending_approval', 'info_requested')`),
    uniqueIndex('registrations_open_username_uq')
      .on(sql`lower(${t.username})`)
      .where(sql`${t.status} in ('pending_approval', 'info_requested')`),
    index('registrations_acting_unit_idx').on(t.actingUnitCode, t.status),
  ],
);

/** A registration's history as the applicant and admins see it. `seq` makes each write idempotent. */
export const registrationEvents = pgTable(
  'registration_events',
  {
    registrationId: uuid('registration_id').notNull(),
    seq: integer('seq').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    event: text('event').notNull(),
    actorAccountId: uuid('actor_account_id'),
    actingUnitCode: text('acting_unit_code'),
    note: text('note'),
  },
  (t) => [primaryKey({ columns: [t.registrationId, t.seq] })],
);

/**
 * Free text that admins and applicants write (reasons, notes). Workflows carry only its id, so that
 * nothing a person typed ends up in Temporal's history.
 */
export const notes = pgTable('notes', {
  id: uuid('id').primaryKey(),
  text: text('text').notNull(),
  createdAt: createdAt(),
});

export const documents = pgTable(
  'documents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    registrationId: uuid('registration_id').notNull(),
    sha256: text('sha256').notNull(),
    mediaType: text('media_type').notNull(),
    size: integer('size').notNull(),
    /** The name the applicant gave, for display only; never a path. */
    fileName: text('file_name').notNull(),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [index('documents_registration_idx').on(t.registrationId)],
);

/**
 * Who did what, when and why, with the record before and after. Append-only and hash-chained: each
 * event's `hash` covers its content and the `prevHash` of the one before (see db/audit.ts).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** Which of the parallel chains this event links into (by its subject). */
    chain: integer('chain').notNull().default(0),
    prevHash: text('prev_hash'),
    hash: text('hash').notNull(),
    /** Retries of the same action write nothing twice. */
    key: text('key').notNull(),
    actorAccountId: uuid('actor_account_id'),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    unitCode: text('unit_code'),
    reason: text('reason'),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [
    uniqueIndex('audit_events_key_uq').on(t.key),
    index('audit_events_subject_idx').on(t.subjectType, t.subjectId),
    index('audit_events_unit_idx').on(t.unitCode, t.id),
    index('audit_events_actor_idx').on(t.actorAccountId, t.id),
    index('audit_events_chain_idx').on(t.chain, t.id),
  ],
);

export const APPOINTMENT_STATUSES = ['pending_approval', 'approved', 'rejected', 'expired', 'revoked', 'ended'] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

/** An SSO admin appointment (หนังสือมอบหมาย): the letter, the appointee, and its course. */
export const adminAppointments = pgTable(
  'admin_appointments',
  {
    id: uuid('id').primaryKey(),
    unitCode: text('unit_code').notNull(),
    accountId: uuid('account_id').notNull(),
    submittedBy: uuid('submitted_by').notNull(),
    letterSha256: text('letter_sha256').notNull(),
    letterFileName: text('letter_file_name').notNull(),
    letterSize: integer('letter_size').notNull(),
    /** The last day of the term (Asia/Bangkok); the role ends at the start of the next day. */
    termEnd: text('term_end'),
    status: text('status').$type<AppointmentStatus>().notNull(),
    actingUnitCode: text('acting_unit_code').notNull(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    index('admin_appointments_unit_idx').on(t.unitCode),
    // One appointment in progress per person and unit.
    uniqueIndex('admin_appointments_open_uq')
      .on(t.unitCode, t.accountId)
      .where(sql`${t.status} = 'pending_approval'`),
  ],
);

export const appointmentEvents = pgTable(
  'appointment_events',
  {
    appointmentId: uuid('appointment_id').notNull(),
    seq: integer('seq').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    event: text('event').notNull(),
    actorAccountId: uuid('actor_account_id'),
    actingUnitCode: text('acting_unit_code'),
    note: text('note'),
  },
  (t) => [primaryKey({ columns: [t.appointmentId, t.seq] })],
);

/** Every mail goes through here: the key makes a retried send a no-op. */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    key: text('key').notNull(),
    template: text('template').notNull(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  // Housekeeping deletes sent mail past MAIL_RETENTION, by when it was sent.
  (t) => [uniqueIndex('mail_outbox_key_uq').on(t.key), index('mail_outbox_sent_idx').on(t.sentAt)],
);

export const authTokens = pgTable(
  'auth_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    accountId: uuid('account_id').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** When this sign-in last showed a second factor (a TOTP code or ThaiID): the sensitive actions ask for a recent one. */
    secondFactorAt: timestamp('second_factor_at', { withTimezone: true }),
  },
  // Housekeeping deletes the tokens expired past EXPIRED_TOKEN_RETENTION, by expiry.
  (t) => [index('auth_tokens_account_idx').on(t.accountId), index('auth_tokens_expires_idx').on(t.expiresAt)],
);

export const PERSONNEL_EVENT_TYPES = ['transfer', 'retirement', 'role_change', 'resignation', 'death', 'suspension'] as const;
export type PersonnelEventType = (typeof PERSONNEL_EVENT_TYPES)[number];
/** `superseded`: a newer event of the same type replaced this one before its date. */
export type PersonnelEventStatus = 'scheduled' | 'applied' | 'failed' | 'superseded';

/** What the HR feed (or an admin) reported, kept once per eventId. */
export const personnelEvents = pgTable(
  'personnel_events',
  {
    eventId: text('event_id').primaryKey(),
    type: text('type').$type<PersonnelEventType>().notNull(),
    citizenIdHash: text('citizen_id_hash').notNull(),
    citizenIdEnc: text('citizen_id_enc').notNull(),
    /** `YYYY-MM-DD`, Asia/Bangkok: it takes effect at 00:00 of that day. */
    effectiveDate: text('effective_date').notNull(),
    toUnitCode: text('to_unit_code'),
    newPosition: text('new_position'),
    note: text('note'),
    /** `hr-feed`, or `account:<id>` for an admin's report. */
    source: text('source').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    status: text('status').$type<PersonnelEventStatus>().notNull().default('scheduled'),
    outcome: text('outcome'),
    appliedAt: timestamp('applied_at', { withTimezone: true }),
    accountId: uuid('account_id'),
    reviewId: uuid('review_id'),
  },
  (t) => [index('personnel_events_person_idx').on(t.citizenIdHash, t.receivedAt), index('personnel_events_status_idx').on(t.status, t.receivedAt)],
);

export const REVIEW_RULES = ['revoke', 'suspend', 'keep'] as const;
export type ReviewRule = (typeof REVIEW_RULES)[number];

/**
 * An access review (การทบทวนสิทธิ์): of one person's rights after a personnel change, or a campaign
 * over a subtree. Either way, admins decide keep or revoke per right, and a rule settles the rest.
 */
export const accessReviews = pgTable('access_reviews', {
  id: uuid('id').primaryKey(),
  kind: text('kind').$type<'person' | 'campaign'>().notNull(),
  name: text('name').notNull(),
  scopeUnitCode: text('scope_unit_code').notNull(),
  subjectAccountId: uuid('subject_account_id'),
  cause: text('cause'),
  status: text('status').$type<'running' | 'completed' | 'cancelled'>().notNull().default('running'),
  dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
  onNoDecision: text('on_no_decision').$type<ReviewRule>().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
});

export const accessReviewItems = pgTable(
  'access_review_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    reviewId: uuid('review_id').notNull(),
    entitlementId: uuid('entitlement_id').notNull(),
    accountId: uuid('account_id').notNull(),
    systemCode: text('system_code').notNull(),
    role: text('role').notNull(),
    unitCode: text('unit_code').notNull(),
    /** Whose admins decide: the entitlement's unit, or the one above when the item is a reviewer's own access. */
    reviewerUnitCode: text('reviewer_unit_code').notNull(),
    /** For a transfer: the unit a kept right moves to. */
    moveToUnitCode: text('move_to_unit_code'),
    decision: text('decision').$type<'keep' | 'revoke'>(),
    justification: text('justification'),
    decidedBy: uuid('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    autoApplied: boolean('auto_applied').notNull().default(false),
  },
  (t) => [
    uniqueIndex('access_review_items_uq').on(t.reviewId, t.entitlementId),
    index('access_review_items_reviewer_idx').on(t.reviewId, t.reviewerUnitCode),
    // A decision looks for a newer review of the same right (db/reviews.ts): by right, across reviews.
    index('access_review_items_entitlement_idx').on(t.entitlementId),
  ],
);

/** Answers to the satisfaction survey (แบบประเมินความพึงพอใจ), one per person and round. */
export const surveyResponses = pgTable(
  'survey_responses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    round: text('round').notNull(),
    accountId: uuid('account_id').notNull(),
    /** The person's unit when they answered: results are read per subtree. */
    unitCode: text('unit_code'),
    scores: jsonb('scores').$type<Record<string, number>>().notNull(),
    comment: text('comment'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('survey_responses_once_uq').on(t.round, t.accountId), index('survey_responses_unit_idx').on(t.round, t.unitCode)],
);

/**
 * What the OpenID Connect provider keeps (sessions, grants, codes, tokens, interactions), one row
 * per artefact. `account_id` and `grant_id` let suspension end everything of a person at once.
 */
export const oidcPayloads = pgTable(
  'oidc_payloads',
  {
    id: text('id').notNull(),
    model: text('model').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    accountId: text('account_id'),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.id] }),
    index('oidc_payloads_account_idx').on(t.accountId),
    index('oidc_payloads_grant_idx').on(t.grantId),
    index('oidc_payloads_uid_idx').on(t.uid),
    index('oidc_payloads_expires_idx').on(t.expiresAt),
  ],
);

/**
 * Back-channel logout notices owed to connected systems: written in the transaction that ends a
 * person's sessions, delivered right after it and retried until the system answers.
 */
export const ssoLogoutOutbox = pgTable(
  'sso_logout_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    clientId: text('client_id').notNull(),
    accountId: uuid('account_id').notNull(),
    sid: text('sid'),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [index('sso_logout_outbox_pending_idx').on(t.sentAt)],
);

/**
 * Identities verified through ThaiID, waiting to be used by a registration: the citizen ID and
 * names come from here and cannot be edited. Looked up by the hash of a one-time token.
 */
export const identityVerifications = pgTable('identity_verifications', {
  tokenHash: text('token_hash').primaryKey(),
  provider: text('provider').$type<'thaiid'>().notNull(),
  citizenIdHash: text('citizen_id_hash').notNull(),
  /** The verified claims (pid, names, birthdate), encrypted. */
  claimsEnc: text('claims_enc').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
});

// Sign-ins (the console's account page, issue 11).
export const SIGN_IN_METHODS = ['password', 'thaiid'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** Each sign-in with a password or ThaiID: when, how, and into which connected system (its OIDC client), if any. */
export const signInEvents = pgTable(
  'sign_in_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    method: text('method').$type<SignInMethod>().notNull(),
    /** The connected system signed in to; null for the portal or the API. */
    clientId: text('client_id'),
  },
  (t) => [index('sign_in_events_account_idx').on(t.accountId, t.at)],
);

// Passwords people manage (issue 13): reset links, and the failed sign-ins that lock a username for a while.

/** A "forgot password" link: single use, short-lived, kept only as the hash of its token. */
export const passwordResets = pgTable(
  'password_resets',
  {
    tokenHash: text('token_hash').primaryKey(),
    accountId: uuid('account_id').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    /** The admin who had the link sent from the console; null when the person asked for it. */
    requestedBy: uuid('requested_by'),
  },
  (t) => [index('password_resets_account_idx').on(t.accountId, t.createdAt)],
);

/**
 * Failed password sign-ins per username (trimmed, lower-cased), in the database so that every API
 * process counts the same. Unknown usernames count and lock alike: a lock tells nothing about
 * whether an account exists.
 */
export const signInFailures = pgTable('sign_in_failures', {
  username: text('username').primaryKey(),
  failures: integer('failures').notNull(),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

/**
 * An admin's TOTP (RFC 6238) second factor: the secret encrypted like citizen IDs, confirmed once
 * with a code; `lastStep` is the time step of the last code accepted, so a code works only once.
 */
export const totpEnrolments = pgTable('totp_enrolments', {
  accountId: uuid('account_id').primaryKey(),
  secretEnc: text('secret_enc').notNull(),
  confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  lastStep: bigint('last_step', { mode: 'number' }),
  createdAt: createdAt(),
});

/** Single-use recovery codes of a TOTP enrolment, stored hashed. */
export const mfaRecoveryCodes = pgTable(
  'mfa_recovery_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    accountId: uuid('account_id').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('mfa_recovery_codes_account_idx').on(t.accountId)],
);

/**
 * The sign-in, registration and reset throttles' counts (api/throttle.ts), one row per limit and key
 * (address or username), in the database so that every API replica counts the same. A row's window
 * ends at `windowEndsAt`: the next hit starts a new one; housekeeping deletes the rows whose window ended.
 */
export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    hits: integer('hits').notNull(),
    windowEndsAt: timestamp('window_ends_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('rate_limits_window_idx').on(t.windowEndsAt)],
);
