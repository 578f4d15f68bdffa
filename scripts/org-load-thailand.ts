// npm run org:load-thailand — loads DLA's offices (the department, 76 provincial and the district
// offices) into the configured database (DATABASE_URL, or the embedded one in DATA_DIR). Safe to
// run again: units that already match are left alone.
import { openDatabase } from '../db/client.ts';
import { loadConfig } from '../lib/config.ts';
import { describeLoad, loadThailandOffices } from '../services/thailand-offices.ts';

const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  console.log(describeLoad(await loadThailandOffices(database.db)));
} finally {
  await database.close();
}
