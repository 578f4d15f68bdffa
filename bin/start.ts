// `npm start`: everything in one process on embedded defaults (bin/main/start.ts).
// First, before the rest (bin/main/start.ts) is even loaded: the memory settings read only at launch
// (bin/launch.ts), with the main thread's young generation as small as the workflow thread's.
import { relaunchWithMemorySettings } from './launch.ts';

relaunchWithMemorySettings({ runsWorker: true });

await import('./main/start.ts');
