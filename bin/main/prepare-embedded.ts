// Run by bin/main/start.ts as a child process on a fresh DATA_DIR: creates the embedded database
// (PostgreSQL's initdb in PGlite, the migrations) and loads DLA's offices, then exits. What initdb
// touches of PGlite's memory stays touched for the life of a process (~50 MB of an idle `npm start`);
// here it leaves with the child. Prints what it loaded, for the start-up lines.
import { loadConfigOrExit } from '../../lib/config.ts';
import { describeLoad, loadThailandOfficesIfEmpty } from '../../services/thailand-offices.ts';
import { closeResources, openResources } from '../system.ts';

const config = loadConfigOrExit(); // the same environment as its parent's; sign-in settings play no part here
const resources = await openResources(config);
const offices = await loadThailandOfficesIfEmpty(resources.database);
await closeResources(resources);
if (offices) process.stdout.write(describeLoad(offices));
