// What every process opens at start, and the chores of start-up: the bootstrap admin and the
// re-queueing of requests whose workflow never started.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, count, eq, inArray, notExists, sql } from 'drizzle-orm';
import type { ActivityDeps } from '../activities/index.ts';
import { createMailTransport, type MailTransport } from '../activities/mail.ts';
import type { AppDeps } from '../api/app.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { writeAudit } from '../db/audit.ts';
import { accounts, mailOutbox, OPEN_REGISTRATION_STATUSES, personnelEvents, registrations } from '../db/schema.ts';
import type { Config } from './config.ts';
import { createCipher, deriveSecret, loadMasterKey, randomSecret, type PersonalDataCipher } from './crypto.ts';
import { assertKeyFitsDatabase } from './key-check.ts';
import type { LogoutSigner } from './sso/backchannel-logout.ts';
import { loadSigningKeys, type SigningKeys } from './sso/keys.ts';
import { createDocumentStore, type DocumentStore } from './document-store.ts';
import { hashPassword } from './passwords.ts';
import { handToPersonWorkflow, startRegistrationWorkflow } from './workflow-client.ts';

export interface Resources {
  database: Database;
  cipher: PersonalDataCipher;
  documentStore: DocumentStore;
  mail: MailTransport;
  sso: SsoSecrets;
}

/** What signs tokens and cookies of the single sign-on, the same in every process. */
export interface SsoSecrets {
  signingKeys: SigningKeys;
  /** Keys of the provider's signed cookies, derived from the master key. */
  cookieKeys: string[];
  logoutSigner: LogoutSigner;
}

export async function openResources(config: Config): Promise<Resources> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const masterKey = loadMasterKey(config.encryptionKey, config.dataDir, database.embedded);
  const signingKeys = await loadSigningKeys(config.sso.signingKeys, config.dataDir, database.embedded);
  const cipher = createCipher(masterKey);
  await assertKeyFitsDatabase(database.db, cipher).catch(async (error: unknown) => { await database.close(); throw error; });
  return {
    database, cipher, documentStore: createDocumentStore(config.dataDir), mail: createMailTransport(config),
    sso: { signingKeys, cookieKeys: [deriveSecret(masterKey, 'sso-lifecycle/sso/cookies')], logoutSigner: { issuer: config.publicUrl, keys: signingKeys } },
  };
}

/** The API's dependencies from the process's resources. */
export function appDepsOf(resources: Resources, config: Config, temporal: Client): AppDeps {
  return {
    config, db: resources.database.db, temporal, cipher: resources.cipher, documentStore: resources.documentStore, sso: resources.sso,
  };
}

/** The activities' dependencies from the process's resources. */
export function activityDepsOf(resources: Resources, config: Config): ActivityDeps {
  return {
    db: resources.database.db, config, mail: resources.mail, documentStore: resources.documentStore, logoutSigner: resources.sso.logoutSigner,
  };
}

/** The first DLA central admin, `admin`, when no account exists yet. Returns the password it was given. */
export async function ensureBootstrapAdmin(resources: Resources, config: Config): Promise<{ created: boolean; password?: string }> {
  const { db } = resources.database;
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(accounts);
  if (n > 0) return { created: false };
  const password = config.bootstrapAdminPassword ?? randomSecret(18);
  const id = randomUUID();
  await db.transaction(async (tx) => {
    await tx.insert(accounts).values({
      id, username: 'admin', passwordHash: await hashPassword(password), firstNameTh: 'ผู้ดูแลระบบ', lastNameTh: 'ส่วนกลาง',
      email: process.env.BOOTSTRAP_ADMIN_EMAIL ?? `admin@${new URL(config.publicUrl).hostname}`, centralAdmin: true,
    }).onConflictDoNothing();
    await writeAudit(tx as never, {
      key: 'account:bootstrap-admin', actor: 'system', action: 'account.created', subjectType: 'account', subjectId: id,
      reason: 'bootstrap: no account existed', after: { username: 'admin', centralAdmin: true },
    });
  });
  return { created: true, password: config.bootstrapAdminPassword ? undefined : password };
}

/**
 * A crash between saving a request and starting its workflow would leave it waiting forever: start
 * the workflow of every open request whose submission mail was never sent (starting is idempotent).
 */
export async function resumeUnstartedRegistrations(resources: Resources, client: Client, config: Config): Promise<number> {
  const { db } = resources.database;
  const stuck = await db.select({ id: registrations.id, actingUnitCode: registrations.actingUnitCode }).from(registrations).where(and(
    inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
    notExists(db.select({ one: sql`1` }).from(mailOutbox).where(and(
      eq(mailOutbox.key, sql`'registration:' || ${registrations.id} || ':submitted'`), sql`${mailOutbox.sentAt} is not null`))),
  ));
  for (const r of stuck) {
    await startRegistrationWorkflow(client, config.taskQueue, {
      registrationId: r.id, actingUnitCode: r.actingUnitCode, submissionMailKey: `registration:${r.id}:submitted`, timers: config.registration,
    });
  }
  return stuck.length;
}

/**
 * Events stored but never handed to their person's workflow (a crash between the two): hand them
 * over again. The workflow ignores an event it already waits for, and applying is idempotent.
 */
export async function resumeScheduledPersonnelEvents(resources: Resources, client: Client, config: Config): Promise<number> {
  const { db } = resources.database;
  const scheduled = await db.select({ eventId: personnelEvents.eventId, type: personnelEvents.type, effectiveDate: personnelEvents.effectiveDate, hash: personnelEvents.citizenIdHash })
    .from(personnelEvents).where(eq(personnelEvents.status, 'scheduled'));
  for (const e of scheduled) {
    await handToPersonWorkflow(client, config, e.hash, { eventId: e.eventId, type: e.type, effectiveDate: e.effectiveDate });
  }
  return scheduled.length;
}
