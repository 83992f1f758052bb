/**
 * Worker of the parallel reader (parallel-reader.ts): parses and validates one byte range of a
 * trace v1 file and hands the events back packed in a Float64Array (transferred, not copied).
 *
 * The range is widened to whole lines the same way by every worker, so the chunks of a file
 * partition its data rows exactly. The worker never reports *why* a row is bad: on the first
 * doubt it answers `ok: false` and the main thread asks the sequential reader, which names file,
 * line and column.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Parser } from 'csv-parse';
import { COLUMNS, EVENT_KINDS, type TraceEvent } from './events.js';
import { fastEvent, headerIndex } from './fast-row.js';
import { CSV_OPTIONS } from './reader.js';
import { validateCells } from './row-schema.js';

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
  /** The record delimiter the sequential parser detected on the header ('\n' or '\r\n'). */
  recordDelimiter: string;
}

/** Slots per event in {@link ChunkResult.data}: the local line, then one per {@link COLUMNS} entry. */
export const STRIDE = 1 + COLUMNS.length;
/** Code of an empty cell in {@link ChunkResult.data}. */
export const ABSENT = -1;

/**
 * A parsed chunk. Event i occupies data[i*STRIDE .. (i+1)*STRIDE): its line within the chunk
 * (1-based), then per column of {@link COLUMNS}: the integer, the {@link EVENT_KINDS} index, the
 * prot bits, or for identifiers and `src` cells an index into `strings`; {@link ABSENT} for an empty cell.
 */
export interface ChunkResult {
  ok: boolean;
  events: number;
  data: Float64Array;
  strings: string[];
  /** Line breaks ('\n') in the chunk's bytes: where the next chunk's line numbers start. */
  newlines: number;
}

const KIND_CODE = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));

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
export default async function parseChunk(task: ChunkTask): Promise<ChunkResult> {
  const fd = openSync(task.file, 'r');
  let bytes: Buffer;
  try {
    const a = aligned(fd, task.start, task.dataStart, task.size);
    const b = aligned(fd, task.end, task.dataStart, task.size);
    bytes = Buffer.allocUnsafe(Math.max(0, b - a));
    let got = 0;
    while (got < bytes.length) got += readSync(fd, bytes, got, bytes.length - got, a + got);
  } finally {
    closeSync(fd);
  }
  let newlines = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) newlines++;

  const cols = headerIndex(task.header);
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const intern = (s: string | undefined) => {
    if (s === undefined) return ABSENT;
    let id = ids.get(s);
    if (id === undefined) ids.set(s, (id = strings.push(s) - 1));
    return id;
  };
  let data = new Float64Array(STRIDE * Math.max(1024, Math.ceil(bytes.length / 24)));
  let n = 0;
  let ok = true;
  const put = (e: TraceEvent) => {
    if ((n + 1) * STRIDE > data.length) {
      const bigger = new Float64Array(data.length * 2);
      bigger.set(data);
      data = bigger;
    }
    const o = n++ * STRIDE;
    data[o] = e.row;
    data[o + 1] = e.time ?? ABSENT;
    data[o + 2] = KIND_CODE.get(e.kind)!;
    data[o + 3] = e.cpu ?? ABSENT;
    data[o + 4] = e.task ?? ABSENT;
    data[o + 5] = intern(e.mm);
    data[o + 6] = intern(e.device);
    data[o + 7] = intern(e.domain);
    data[o + 8] = e.pasid ?? ABSENT;
    data[o + 9] = e.va ?? ABSENT;
    data[o + 10] = e.size ?? ABSENT;
    data[o + 11] = e.prot ?? ABSENT;
    data[o + 12] = intern(e.op);
    data[o + 13] = intern(e.src);
  };
  const onRecord = (cells: string[], line: number) => {
    if (!ok) return;
    if (cells.length !== cols.length) {
      ok = false;
      return;
    }
    let e = fastEvent(cells, cols, line);
    if (e === undefined) {
      const r = validateCells(task.header, cells, line);
      if (!r.ok) {
        ok = false;
        return;
      }
      e = r.event;
    }
    put(e);
  };
  // The bytes start at a line start, so the options are the reader's without the BOM (only the
  // file's first bytes may carry one) and with the delimiter fixed to the one the header used.
  const parser = new (class extends Parser {
    override push(record: unknown, encoding?: BufferEncoding): boolean {
      if (record === null) return super.push(null, encoding);
      onRecord(record as string[], (this as unknown as { info: { lines: number } }).info.lines);
      return true;
    }
  })({ ...CSV_OPTIONS, bom: false, record_delimiter: task.recordDelimiter });
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('error', reject);
      parser.on('finish', resolve);
      parser.resume();
      parser.end(bytes);
    });
  } catch {
    ok = false;
  }
  if (!ok) return { ok, events: 0, data: new Float64Array(0), strings: [], newlines };
  // Copied once by structured clone on the way back (a memcpy, small next to the parse).
  return { ok, events: n, data: data.slice(0, n * STRIDE), strings, newlines };
}
