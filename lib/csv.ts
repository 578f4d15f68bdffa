// CSV downloads, one rule for all: UTF-8 with a BOM (Thai Excel reads it as UTF-8), every cell quoted,
// a cell that a spreadsheet would take for a formula (= + - @, tab, CR) neutralised, and the rows
// streamed as they come from the database, never a whole table in memory.
import { Readable } from 'node:stream';

/** One cell: quoted, a formula-looking start prefixed with ' so that spreadsheets show it as text. */
export function csvCell(value: unknown): string {
  let cell = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  return `"${cell.replace(/"/g, '""')}"`;
}

export const csvLine = (cells: readonly unknown[]): string => `${cells.map(csvCell).join(',')}\r\n`;

/**
 * The file as a stream: the BOM and the header, then each row of `rows` (an async source that reads
 * the database in batches). Rows are pulled only as fast as the client takes them (backpressure).
 */
export function csvStream<Row>(header: readonly string[], rows: AsyncIterable<Row> | Iterable<Row>, cellsOf: (row: Row) => readonly unknown[]): Readable {
  async function* lines() {
    yield `\uFEFF${csvLine(header)}`;
    let chunk = '';
    for await (const row of rows) {
      chunk += csvLine(cellsOf(row));
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  return Readable.from(lines(), { objectMode: false });
}

/**
 * A keyset-paginated read as one async source: `batch(after)` returns the rows after the given last
 * row (undefined first), in order, at most `size` of them; it ends at a short batch.
 */
export async function* inBatches<Row>(size: number, batch: (after: Row | undefined) => Promise<Row[]>): AsyncGenerator<Row> {
  let after: Row | undefined;
  for (;;) {
    const rows = await batch(after);
    yield* rows;
    if (rows.length < size) return;
    after = rows[rows.length - 1];
  }
}

/** A download's file name: only safe characters. */
export const csvFileName = (name: string): string => name.replace(/[^\w.-]/g, '_');
