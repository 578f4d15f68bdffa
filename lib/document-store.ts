// Evidence documents on disk under DATA_DIR/documents, named by the SHA-256 of their content: no name
// a user gave ever becomes a path, and the same file uploaded twice is stored once.
//
// Encrypted at rest (envelope encryption): each file has a data key of its own, wrapped with a
// key-encryption key derived from ENCRYPTION_KEY (the key that protects citizen IDs). The content is
// sealed in chunks of 64 KiB with AES-256-GCM (the STREAM construction: nonce = prefix ‖ chunk counter ‖
// last-chunk flag, the header as associated data), so it streams both ways and a chunk that was changed,
// moved, dropped or cut off is refused. The header describes the file; no database column is needed:
//   "sso-doc\0" | version 1 | key id (8) | wrap nonce (12) | wrapped data key (32) | wrap tag (16) | nonce prefix (7) | chunk size (4)
// Files written before encryption (clear PDF, JPEG, PNG) have no such header and are still read;
// `encryptClearDocuments` (npm run documents:encrypt) seals them once, and a new upload of the same
// content replaces a clear copy.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as pipeAll } from 'node:stream/promises';
import { pipeline, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { Problem } from './problem.ts';

/** How many first bytes a staged document keeps in memory, for judging its type (file-type reads 4100). */
export const HEAD_BYTES = 4100;

/** A document written (encrypted) to the staging area, not yet part of the store. */
export interface StagedDocument {
  readonly sha256: string;
  readonly size: number;
  /** The first bytes of the content (up to HEAD_BYTES). */
  readonly head: Buffer;
  readonly path: string;
}

export interface DocumentStore {
  /** Streams `content` encrypted into the staging area while hashing it; nothing is kept until `keep`. */
  stage(content: AsyncIterable<Buffer | Uint8Array> | Readable): Promise<StagedDocument>;
  /** Moves a staged document into the store (unless the same content is there already): its SHA-256. */
  keep(staged: StagedDocument): Promise<string>;
  /** Deletes a staged document that was not kept (no-op once kept or discarded). */
  discard(staged: StagedDocument): Promise<void>;
  /** stage + keep, for content at hand. */
  put(content: Buffer | Readable): Promise<{ sha256: string; size: number }>;
  /**
   * The decrypted content. The whole file is checked first (every chunk's tag and the SHA-256 of the
   * content), so a tampered or foreign-key file is refused before a byte is served.
   */
  open(sha256: string): Promise<Readable>;
  remove(sha256: string): Promise<void>;
  /** Seals every document still stored in clear; how many were. */
  encryptClearDocuments(): Promise<number>;
}

const MAGIC = Buffer.from('sso-doc\0', 'latin1');
const VERSION = 1;
const CHUNK = 64 * 1024;
const TAG = 16;
const HEADER_BYTES = MAGIC.length + 1 + 8 + 12 + 32 + TAG + 7 + 4;
/**
 * Staging files older than this are leftovers: of a stopped process, or of a request whose client
 * went away before its answer (no hook runs then). A request lives minutes at most (Node's 300 s).
 */
const STALE_STAGING_MS = 60 * 60 * 1000;

interface KeyEncryptionKey {
  id: Buffer;
  key: Buffer;
}

/** The key-encryption key of documents, derived from the master key; its id is a fingerprint, not a secret. */
function documentKey(masterKey: Buffer): KeyEncryptionKey {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'sso-lifecycle/documents/key-encryption-key', 32));
  return { id: createHash('sha256').update('sso-lifecycle/documents/key-id').update(key).digest().subarray(0, 8), key };
}

const unreadable = (detail: string) => new Problem(500, 'Document Unreadable', detail);
const tampered = () => unreadable('The stored document failed its integrity check (changed or cut off on disk); it is not served.');

function chunkNonce(prefix: Buffer, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Plain → sealed file (header, then chunks). */
function encrypting(kek: KeyEncryptionKey): Transform {
  const dataKey = randomBytes(32);
  const prefix = randomBytes(7);
  const wrapNonce = randomBytes(12);
  const fixed = Buffer.concat([MAGIC, Buffer.from([VERSION]), kek.id]);
  const wrap = createCipheriv('aes-256-gcm', kek.key, wrapNonce).setAAD(fixed);
  const wrapped = Buffer.concat([wrap.update(dataKey), wrap.final()]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(CHUNK);
  const header = Buffer.concat([fixed, wrapNonce, wrapped, wrap.getAuthTag(), prefix, size]);
  let counter = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const seal = (plain: Buffer, last: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', dataKey, chunkNonce(prefix, counter++, last)).setAAD(header);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      // A full chunk is sealed only once more follows: the last chunk carries the flag (0 to CHUNK bytes).
      if (pendingBytes > CHUNK) {
        let all = Buffer.concat(pending);
        while (all.length > CHUNK) {
          this.push(seal(all.subarray(0, CHUNK), false));
          all = all.subarray(CHUNK);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback) {
      callback(null, seal(Buffer.concat(pending), true));
    },
  });
}

/** Sealed file → plain; a file without the header (stored before encryption) passes as it is. */
function decrypting(kek: KeyEncryptionKey): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let mode: 'header' | 'sealed' | 'clear' = 'header';
  let header: Buffer;
  let dataKey: Buffer;
  let prefix: Buffer;
  let chunkBytes = 0;
  let counter = 0;
  const open = (sealed: Buffer, last: boolean) => {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, chunkNonce(prefix, counter++, last)).setAAD(header);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG)), decipher.final()]);
    } catch {
      throw tampered();
    }
  };
  const readHeader = () => {
    header = buffered.subarray(0, HEADER_BYTES);
    buffered = buffered.subarray(HEADER_BYTES);
    let at = MAGIC.length;
    const version = header[at++];
    if (version !== VERSION) throw unreadable(`The stored document has format version ${version}, which this version does not read.`);
    const keyId = header.subarray(at, (at += 8));
    if (!keyId.equals(kek.id)) {
      throw unreadable(
        `The stored document was encrypted with key ${keyId.toString('hex')}, but this server's ENCRYPTION_KEY gives key ` +
          `${kek.id.toString('hex')}: start with the key the documents were written with.`,
      );
    }
    const wrapNonce = header.subarray(at, (at += 12));
    const wrapped = header.subarray(at, (at += 32));
    const wrapTag = header.subarray(at, (at += TAG));
    prefix = header.subarray(at, (at += 7));
    chunkBytes = header.readUInt32BE(at) + TAG;
    const unwrap = createDecipheriv('aes-256-gcm', kek.key, wrapNonce).setAAD(header.subarray(0, MAGIC.length + 1 + 8));
    unwrap.setAuthTag(wrapTag);
    try {
      dataKey = Buffer.concat([unwrap.update(wrapped), unwrap.final()]);
    } catch {
      throw tampered();
    }
    mode = 'sealed';
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        if (mode === 'clear') return callback(null, chunk);
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (mode === 'header') {
          const magicSeen = Math.min(buffered.length, MAGIC.length);
          if (!buffered.subarray(0, magicSeen).equals(MAGIC.subarray(0, magicSeen))) {
            mode = 'clear';
            const all = buffered;
            buffered = Buffer.alloc(0);
            return callback(null, all);
          }
          if (buffered.length < HEADER_BYTES) return callback();
          readHeader();
        }
        // A chunk is opened as not-last only when more follows it; the rest waits for the end.
        while (buffered.length > chunkBytes) {
          this.push(open(buffered.subarray(0, chunkBytes), false));
          buffered = buffered.subarray(chunkBytes);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        if (mode === 'clear') return callback();
        if (mode === 'header') {
          // Shorter than a header: clear content that happens to start like one, or a cut-off file.
          return buffered.equals(MAGIC.subarray(0, buffered.length)) && buffered.length > 0 ? callback(tampered()) : callback(null, buffered);
        }
        if (buffered.length < TAG) throw tampered();
        callback(null, open(buffered, true));
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

export function createDocumentStore(dataDir: string, masterKey: Buffer): DocumentStore {
  const kek = documentKey(masterKey);
  const root = join(dataDir, 'documents');
  const staging = join(root, 'staging');
  const pathOf = (sha: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error('not a sha256');
    return join(root, sha.slice(0, 2), sha);
  };
  const isSealed = async (path: string) => {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(MAGIC.length), 0, MAGIC.length, 0);
      return bytesRead === MAGIC.length && buffer.equals(MAGIC);
    } finally {
      await handle.close();
    }
  };
  const sweepStaging = async () => {
    const names = await readdir(staging).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(staging, name);
      const info = await stat(path).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_STAGING_MS) await rm(path, { force: true });
    }
  };
  const sweep = () => void sweepStaging().catch(() => {}); // the next sweep tries again
  sweep();
  setInterval(sweep, STALE_STAGING_MS).unref();

  const store: DocumentStore = {
    async stage(content) {
      await mkdir(staging, { recursive: true });
      const path = join(staging, `${randomUUID()}.part`);
      const hash = createHash('sha256');
      const head: Buffer[] = [];
      let headBytes = 0;
      let size = 0;
      const measure = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          if (headBytes < HEAD_BYTES) {
            const part = chunk.subarray(0, HEAD_BYTES - headBytes);
            head.push(Buffer.from(part));
            headBytes += part.length;
          }
          callback(null, chunk);
        },
      });
      try {
        await pipeAll(content, measure, encrypting(kek), createWriteStream(path, { mode: 0o600, flags: 'wx' }));
      } catch (error) {
        await rm(path, { force: true });
        throw error;
      }
      return { sha256: hash.digest('hex'), size, head: Buffer.concat(head), path };
    },
    async keep(staged) {
      const target = pathOf(staged.sha256);
      const present = await isSealed(target).catch((error: unknown) => (isMissing(error) ? null : Promise.reject(error)));
      if (present) {
        await rm(staged.path, { force: true });
      } else {
        // Absent, or stored in clear before encryption: the sealed copy takes its place (rename is atomic).
        await mkdir(join(root, staged.sha256.slice(0, 2)), { recursive: true });
        await rename(staged.path, target);
      }
      return staged.sha256;
    },
    discard: (staged) => rm(staged.path, { force: true }),
    async put(content) {
      const staged = await store.stage(Buffer.isBuffer(content) ? Readable.from([content]) : content);
      return { sha256: await store.keep(staged), size: staged.size };
    },
    async open(sha) {
      const handle = await open(pathOf(sha), 'r').catch((error: unknown) => {
        throw isMissing(error) ? unreadable('The stored document is missing from DATA_DIR/documents.') : error;
      });
      try {
        const hash = createHash('sha256');
        const digest = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            callback();
          },
        });
        await pipeAll(handle.createReadStream({ start: 0, autoClose: false }), decrypting(kek), digest);
        if (hash.digest('hex') !== sha) throw tampered();
      } catch (error) {
        await handle.close();
        throw error;
      }
      // The same open file read again: each chunk is still authenticated on the way out.
      return pipeline(handle.createReadStream({ start: 0 }), decrypting(kek), () => {});
    },
    remove: (sha) => rm(pathOf(sha), { force: true }),
    async encryptClearDocuments() {
      let sealed = 0;
      for (const dir of await readdir(root).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{2}$/.test(dir)) continue;
        for (const name of await readdir(join(root, dir))) {
          if (!/^[0-9a-f]{64}$/.test(name) || (await isSealed(pathOf(name)))) continue;
          const staged = await store.stage(createReadStream(pathOf(name)));
          if (staged.sha256 !== name) {
            await store.discard(staged);
            throw unreadable(`The clear document ${name} does not match its SHA-256; left as it is.`);
          }
          await store.keep(staged);
          sealed++;
        }
      }
      return sealed;
    },
  };
  return store;
}
