/**
 * Worker of the parallel reader (parallel-reader.ts): reads one byte range of a trace v1 file
 * through the fast path's scanner (line-scanner.ts) and hands the events back packed
 * (packed.ts: a Float64Array and the strings it refers to).
 *
 * The range is widened to whole lines the same way by every worker, so the chunks of a file
 * partition its data rows exactly. The worker decides plain rows only: on the first line it
 * cannot decide (anything csv-parse must read, an invalid row, a time going back) it answers
 * `ok: false`, and the main thread reads the file sequentially from the start of this chunk,
 * which gives the event or names file, line and column.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { LineScanner, Scan } from './line-scanner.js';
import { STRIDE } from './packed.js';

/** One chunk to parse: the nominal byte range [start, end) of the data rows (after the header). */
export interface ChunkTask {
  file: string;
  start: number;
  end: number;
  /** Byte offset of the first data row (just after the header line) and the file size. */
  dataStart: number;
  size: number;
  /** The checked header row. */
  header: string[];
}

/**
 * A parsed chunk: its `events` events packed as in packed.ts (rows numbered from 1, the chunk's
 * first line), in `data[0, events * STRIDE)`, identifiers and `src` cells in `strings`.
 */
export interface ChunkResult {
  ok: boolean;
  /** File offset of the chunk's first byte (a line start): where the main thread goes on when `ok` is false. */
  from: number;
  events: number;
  data: Float64Array;
  strings: string[];
  /** Lines in the chunk ('\n' count): where the next chunk's line numbers start. */
  newlines: number;
}

/** Where a chunk boundary at nominal offset `x` really falls: just after a '\n' (or at dataStart/EOF). */
function aligned(fd: number, x: number, dataStart: number, size: number): number {
  if (x <= dataStart) return dataStart;
  if (x >= size) return size;
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let pos = x - 1; pos < size; pos += buf.length) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    const i = buf.subarray(0, n).indexOf(10);
    if (i >= 0) return pos + i + 1;
  }
  return size;
}

/** Parse one chunk (the piscina task). */
export default function parseChunk(task: ChunkTask): ChunkResult {
  const fd = openSync(task.file, 'r');
  let bytes: Buffer;
  let from: number;
  try {
    from = aligned(fd, task.start, task.dataStart, task.size);
    const to = aligned(fd, task.end, task.dataStart, task.size);
    bytes = Buffer.allocUnsafe(Math.max(0, to - from));
    let got = 0;
    while (got < bytes.length) got += readSync(fd, bytes, got, bytes.length - got, from + got);
  } finally {
    closeSync(fd);
  }
  let newlines = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) newlines++;
  const s = new LineScanner(task.header, from, 1, { single: true });
  s.setData(bytes);
  const status = s.scan();
  if (status !== Scan.More) return { ok: false, from, events: 0, data: new Float64Array(0), strings: [], newlines };
  // Copied once by structured clone on the way back (a memcpy, small next to the parse).
  return { ok: true, from, events: s.out.n, data: s.out.data.slice(0, s.out.n * STRIDE), strings: s.out.strings, newlines };
}
