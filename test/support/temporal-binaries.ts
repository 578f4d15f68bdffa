import { existsSync } from 'node:fs';
import { join } from 'node:path';

const binDir = join(import.meta.dirname, '..', '..', 'tools', 'bin');

/** Paths of the pinned binaries fetched by `npm install` (scripts/install-temporal.ts). */
export function temporalBinary(name: 'temporal' | 'temporal-test-server'): string {
  const path = join(binDir, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm install (it fetches the Temporal binaries)`);
  return path;
}
