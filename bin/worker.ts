// Production entry point: a Temporal worker alone (bin/main/worker.ts). `npm run start:worker`.
// First, before the rest (bin/main/worker.ts) is even loaded: the memory settings read only at launch
// (bin/launch.ts), with the main thread's young generation as small as the workflow thread's.
import { relaunchWithMemorySettings } from './launch.ts';

relaunchWithMemorySettings({ runsWorker: true });

await import('./main/worker.ts');
