// Evidence documents on disk under DATA_DIR/documents, named by their SHA-256: no name a user gave
// ever becomes a path, and the same file uploaded twice is stored once.
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { sha256Hex } from './crypto.ts';

export interface DocumentStore {
  put(content: Buffer): Promise<string>;
  open(sha256: string): Readable;
  remove(sha256: string): Promise<void>;
}

export function createDocumentStore(dataDir: string): DocumentStore {
  const root = join(dataDir, 'documents');
  const pathOf = (sha: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error('not a sha256');
    return join(root, sha.slice(0, 2), sha);
  };
  return {
    async put(content) {
      const sha = sha256Hex(content);
      const target = pathOf(sha);
      const exists = await stat(target).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await mkdir(join(root, sha.slice(0, 2)), { recursive: true });
        const temp = `${target}.${randomUUID()}.part`;
        await writeFile(temp, content, { mode: 0o600 });
        await rename(temp, target);
      }
      return sha;
    },
    open: (sha) => createReadStream(pathOf(sha)),
    remove: (sha) => rm(pathOf(sha), { force: true }),
  };
}
