// What every activity is built from: the process's shared resources.
import type { Db } from '../db/client.ts';
import type { Config } from '../lib/config.ts';
import type { DocumentStore } from '../lib/document-store.ts';
import type { MailTransport } from '../lib/mail.ts';
import type { LogoutSigner } from '../lib/sso/keys.ts';

export interface ActivityDeps {
  db: Db;
  config: Config;
  mail: MailTransport;
  documentStore: DocumentStore;
  /** Signs the back-channel logout notices sent when a person's sign-ins end. */
  logoutSigner: LogoutSigner;
}
