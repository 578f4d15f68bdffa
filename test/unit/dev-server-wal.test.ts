// The embedded Temporal dev server's SQLite file is switched to WAL while the server may be writing
// to it (a new file is the server's to create): the switch waits its turn, and never stops the start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { useWriteAheadLog } from '../../lib/temporal.ts';

let dir: string;
let file: string;
let server: DatabaseSync;
const journalMode = () => {
  const reader = new DatabaseSync(file, { readOnly: true });
  try {
    return (reader.prepare('pragma journal_mode').get() as { journal_mode: string }).journal_mode;
  } finally {
    reader.close();
  }
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sso-wal-'));
  file = join(dir, 'temporal.db');
  // Standing in for the dev server: a write transaction open on the file.
  server = new DatabaseSync(file);
  server.exec('create table executions (id text)');
  server.exec('begin immediate');
  server.exec("insert into executions values ('registration-1')");
});

afterEach(() => {
  if (server.isOpen) server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('switches the file to WAL once the server lets go of it', async () => {
  setTimeout(() => server.exec('commit'), 500);
  expect(await useWriteAheadLog(file, 10_000)).toBe(true);
  expect(journalMode()).toBe('wal');
});

it('leaves the file as it was, with a warning, when the server never lets go in time', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    expect(await useWriteAheadLog(file, 500)).toBe(false);
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings.join('\n')).toContain('stays in rollback-journal mode until the next start');
  server.exec('commit');
  expect(journalMode()).toBe('delete');
});
