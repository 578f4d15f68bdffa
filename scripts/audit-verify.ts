// npm run audit:verify — checks the audit trail's hash chain in the configured database
// (DATABASE_URL, or the embedded one in DATA_DIR). Exits 1 naming the first broken event.
import { openDatabase } from '../db/client.ts';
import { verifyAuditChain } from '../db/audit.ts';
import { loadConfigOrExit } from '../lib/config.ts';

const config = loadConfigOrExit(process.env, { serving: false });
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  const report = await verifyAuditChain(database.db);
  if (report.broken) {
    console.error(`audit trail BROKEN at event ${report.broken.id}: ${report.broken.problem} (${report.checked} events before it hold)`);
    process.exitCode = 1;
  } else {
    console.log(`audit trail intact: ${report.checked} events, each linked to the one before`);
  }
} finally {
  await database.close();
}
