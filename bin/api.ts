// Production entry point: the HTTP API alone (bin/main/api.ts). `npm run start:api`.
// First, before the rest (bin/main/api.ts) is even loaded: the memory settings read only at launch
// (bin/launch.ts). The API keeps V8's own young generation: fewer scavenges per sign-in (its CPU is
// what bench:signin measures); `node --max-semi-space-size=8 bin/api.ts` bounds it.
import { relaunchWithMemorySettings } from './launch.ts';

relaunchWithMemorySettings({ runsWorker: false });

await import('./main/api.ts');
