// npm run documents:encrypt — seals, once, the evidence documents stored in clear before encryption at
// rest (DATA_DIR/documents). Safe to run while the service runs and to run again: each file is
// re-written under the same name by an atomic rename, and files already sealed are left alone. The
// key is checked against the database first, so documents are never sealed under a wrong key.
import { openDatabase } from '../db/client.ts';
import { loadConfigOrExit } from '../lib/config.ts';
import { createCipher, loadMasterKey } from '../lib/crypto.ts';
import { createDocumentStore } from '../lib/document-store.ts';
import { assertKeyFitsDatabase } from '../lib/key-check.ts';

const config = loadConfigOrExit(process.env, { serving: false });
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  const masterKey = loadMasterKey(config.encryptionKey, config.dataDir, database.embedded);
  await assertKeyFitsDatabase(database.db, createCipher(masterKey));
  const sealed = await createDocumentStore(config.dataDir, masterKey).encryptClearDocuments();
  console.log(`documents sealed: ${sealed} (the others were already encrypted)`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await database.close();
}
