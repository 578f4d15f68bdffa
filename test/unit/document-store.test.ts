// Evidence at rest: what lies on disk is sealed, what comes out is the upload byte for byte, and a
// file that was changed, cut off or written under another key is refused before a byte is served.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createDocumentStore } from '../../lib/document-store.ts';
import { PDF } from '../../scripts/support/fixtures.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sso-documents-'));
const key = randomBytes(32);
const store = createDocumentStore(dataDir, key);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const MARKER = 'CONFIDENTIAL-ID-CARD-4711';
/** A PDF of about 180 KB (three chunks of 64 KiB), the marker written in it many times. */
const bigPdf = Buffer.concat([PDF, Buffer.from(`${MARKER}\n`.repeat(7000))]);
const fileOf = (sha: string) => join(dataDir, 'documents', sha.slice(0, 2), sha);
const read = async (stream: Readable) => Buffer.concat(await stream.toArray());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('document store at rest', () => {
  it('keeps no plaintext on disk and gives back the same bytes, small, large and empty', async () => {
    for (const content of [PDF, bigPdf, Buffer.alloc(0), Buffer.alloc(64 * 1024, 1)]) {
      const { sha256, size } = await store.put(content);
      expect(sha256).toBe(sha(content));
      expect(size).toBe(content.length);
      const onDisk = readFileSync(fileOf(sha256));
      expect(onDisk.includes('%PDF')).toBe(false);
      expect(onDisk.includes(MARKER)).toBe(false);
      expect((await read(await store.open(sha256))).equals(content)).toBe(true);
    }
  });

  it('streams in: a staged document is hashed on the way and discarded without a trace', async () => {
    const staged = await store.stage(Readable.from([bigPdf.subarray(0, 1000), bigPdf.subarray(1000)]));
    expect(staged).toMatchObject({ sha256: sha(bigPdf), size: bigPdf.length });
    expect(staged.head.equals(bigPdf.subarray(0, 4100))).toBe(true);
    const other = await store.stage(Readable.from([Buffer.from('%PDF-1.4 never kept')]));
    await store.discard(other);
    expect(readdirSync(join(dataDir, 'documents', 'staging'))).toEqual([expect.stringMatching(/\.part$/)]);
    await store.keep(staged);
    expect(readdirSync(join(dataDir, 'documents', 'staging'))).toEqual([]);
    expect((await read(await store.open(staged.sha256))).equals(bigPdf)).toBe(true);
  });

  it('sweeps, every hour, what a request staged and never answered (its client went away), and nothing younger', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sso-documents-sweep-'));
    vi.useFakeTimers({ toFake: ['setInterval'] });
    try {
      const swept = createDocumentStore(own, key);
      const left = await swept.stage(Readable.from([PDF]));
      const fresh = await swept.stage(Readable.from([PDF]));
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      utimesSync(left.path, twoHoursAgo, twoHoursAgo);
      vi.advanceTimersByTime(60 * 60 * 1000);
      const staging = join(own, 'documents', 'staging');
      await vi.waitFor(() => expect(readdirSync(staging)).toEqual([fresh.path.split('/').pop()]));
    } finally {
      vi.useRealTimers();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('refuses a document under another ENCRYPTION_KEY, naming the key ids', async () => {
    const { sha256 } = await store.put(PDF);
    const otherKey = createDocumentStore(dataDir, randomBytes(32));
    await expect(otherKey.open(sha256)).rejects.toThrow(/encrypted with key [0-9a-f]{16}.*ENCRYPTION_KEY gives key [0-9a-f]{16}/);
  });

  it('refuses a changed, cut-off, swapped or replaced file before serving a byte', async () => {
    const { sha256 } = await store.put(bigPdf);
    const path = fileOf(sha256);
    const original = readFileSync(path);
    const chunk = 64 * 1024 + 16;
    const header = 88;
    const tamperings: [string, Buffer][] = [
      ['one bit of the second chunk', Buffer.from(original.map((b, i) => (i === header + chunk + 10 ? b ^ 1 : b)))],
      ['the last chunk cut off', original.subarray(0, header + 2 * chunk)],
      ['the tail of the last chunk', original.subarray(0, original.length - 5)],
      [
        'two chunks swapped',
        Buffer.concat([
          original.subarray(0, header),
          original.subarray(header + chunk, header + 2 * chunk),
          original.subarray(header, header + chunk),
          original.subarray(header + 2 * chunk),
        ]),
      ],
      ['the wrapped key', Buffer.from(original.map((b, i) => (i === 30 ? b ^ 1 : b)))],
      ['a valid file of other content', readFileSync(fileOf((await store.put(PDF)).sha256))],
    ];
    for (const [what, content] of tamperings) {
      writeFileSync(path, content);
      await expect(store.open(sha256), what).rejects.toThrow(/integrity check/);
    }
    writeFileSync(path, original);
    expect((await read(await store.open(sha256))).equals(bigPdf)).toBe(true);
  });

  it('reads documents stored in clear before encryption, and seals them once', async () => {
    const legacy = Buffer.concat([PDF, Buffer.from(`legacy ${MARKER}`)]);
    const sha256 = sha(legacy);
    mkdirSync(join(dataDir, 'documents', sha256.slice(0, 2)), { recursive: true });
    writeFileSync(fileOf(sha256), legacy);
    expect((await read(await store.open(sha256))).equals(legacy)).toBe(true);
    writeFileSync(fileOf(sha256), Buffer.concat([legacy, Buffer.from('x')]));
    await expect(store.open(sha256)).rejects.toThrow(/integrity check/);
    writeFileSync(fileOf(sha256), legacy);

    expect(await store.encryptClearDocuments()).toBe(1);
    expect(readFileSync(fileOf(sha256)).includes(MARKER)).toBe(false);
    expect((await read(await store.open(sha256))).equals(legacy)).toBe(true);
    expect(await store.encryptClearDocuments()).toBe(0);
  });
});
