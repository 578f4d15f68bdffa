// `npm start`: everything in one process on embedded defaults (bin/main/start.ts).
// First, before the rest (bin/main/start.ts) is even loaded: the memory settings read only at launch
// (bin/launch.ts); the main thread's young generation as the workflow thread's, WORKER_WORKFLOW_SEMI_SPACE_MB
// (8 MB a semi-space unless set; 0: V8's own).
import { relaunchWithMemorySettings } from './launch.ts';

const semiSpace = process.env.WORKER_WORKFLOW_SEMI_SPACE_MB;
relaunchWithMemorySettings({ semiSpaceMb: semiSpace ? Number(semiSpace) : 8 });

await import('./main/start.ts');
