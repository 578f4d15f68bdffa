// What every service is built from: the process's shared resources, and Temporal to message the
// workflows (services/workflows.ts).
import type { Db } from '../db/client.ts';
import type { Config } from '../lib/config.ts';
import type { PersonalDataCipher } from '../lib/crypto.ts';
import type { DocumentStore } from '../lib/document-store.ts';
import type { Workflows } from './workflows.ts';

export interface ServiceDeps {
  db: Db;
  config: Config;
  cipher: PersonalDataCipher;
  documentStore: DocumentStore;
  workflows: Workflows;
}
