/**
 * Streaming reader of trace v1 CSV files (README.md "Trace format v1").
 *
 * csv-parse is the definition of the format. Plain rows (printable ASCII, no quote: what the
 * writer, the generator and the importers write) take a fast path that reads them as csv-parse
 * would, straight from the bytes into packed batches ({@link readPackedBatches}); the first row it
 * cannot read that way hands the file to csv-parse ({@link csvEventBatches}). Both paths give the
 * same events in the same batches and the same errors (test/fast-path.test.ts).
 *
 * Memory is flat in trace length: the file streams through a fixed buffer, batch by batch. Every
 * row is validated (fast-row.ts, then the zod schemas of row-schema.ts for what it leaves
 * undecided); the first bad row stops the read with an {@link InputError} naming file, line and
 * column.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Parser } from 'csv-parse';
import { COLUMNS, type TraceEvent } from './events.js';
import { InputError, TraceHeaderError, escapeText, quoteExcerpt } from './errors.js';
import { fastEvent, headerIndex } from './fast-row.js';
import { BATCH_BYTES, LineScanner, READ_BYTES, Scan } from './line-scanner.js';
import { PackedBatch } from './packed.js';
import { isPlain, latin1 } from './row-tokenizer.js';

/** The preamble of a trace: the `# system:` object (if any) and where it was. */
export interface TracePreamble {
  system?: unknown;
  systemLine?: number;
  /** Other comment lines before the header, verbatim (without `#`). */
  comments: string[];
}

const SYSTEM_RE = /^#\s*system:\s*(.*)$/s;

/** Bytes csv-parse is given at a time to find the header (see {@link readHeaderRecord}). */
const HEADER_CHUNK_BYTES = 1024;

/**
 * The records of a file as csv-parse cuts them: at its record delimiter, the first of `\r\n`, `\n`
 * or `\r` in the file (so a stray `\r` inside a comment does not end it), numbered as csv-parse
 * numbers lines (every `\r\n`, `\n` and lone `\r` counts). For the preamble: read until the caller stops.
 */
async function* csvRecords(file: string): AsyncGenerator<{ text: string; line: number }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  let buf = '';
  let delim: string | undefined;
  let line = 1;
  try {
    for await (const chunk of stream) {
      buf += chunk as string;
      if (delim === undefined) {
        const m = /\r\n|\n|\r/.exec(buf);
        if (!m || (m[0] === '\r' && m.index === buf.length - 1)) continue; // a final \r may start a \r\n
        delim = m[0];
      }
      for (let i = buf.indexOf(delim); i >= 0; i = buf.indexOf(delim)) {
        const text = buf.slice(0, i);
        yield { text, line };
        line += 1 + (text.match(/\r\n|\n|\r/g)?.length ?? 0);
        buf = buf.slice(i + delim.length);
      }
    }
    if (buf !== '') yield { text: buf, line };
  } finally {
    stream.destroy();
  }
}

/**
 * Read the comment lines before the header and parse `# system: {json}`.
 * @throws InputError for an unreadable file, a second `# system:` line or invalid JSON.
 */
export async function readPreamble(file: string): Promise<TracePreamble> {
  await assertReadable(file);
  const out: TracePreamble = { comments: [] };
  for await (const { text: raw, line } of csvRecords(file)) {
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    if (!text.startsWith('#')) break;
    const m = SYSTEM_RE.exec(text);
    if (!m) {
      out.comments.push(text.slice(1).trim());
      continue;
    }
    if (out.systemLine !== undefined) {
      throw new InputError(`a second "# system:" line (the first is on line ${out.systemLine})`, file, line, 1);
    }
    out.systemLine = line;
    const json = m[1] ?? '';
    try {
      out.system = JSON.parse(json);
    } catch (e) {
      const pos = /position (\d+)/.exec(String((e as Error).message));
      const col = text.indexOf(json) + 1 + (pos ? Number(pos[1]) : 0);
      throw new InputError(`the system preamble is not valid JSON: ${(e as Error).message}`, file, line, col);
    }
  }
  return out;
}

/** @throws InputError when `file` is empty, missing, a folder, or unreadable (opens it, reads nothing). */
export async function assertReadable(file: string): Promise<void> {
  if (file === '') throw new InputError('the file name is empty (""): expected the path of a file');
  try {
    const h = await open(file, 'r');
    const st = await h.stat();
    await h.close();
    if (st.isDirectory()) throw new InputError('is a directory, expected a trace v1 CSV file', file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`, file);
  }
}

type CsvRecord = { record: string[]; line: number };

/** csv-parse's stream parser class, loaded when first needed: a plain trace never needs it (start-up). */
async function csvParser(): Promise<typeof Parser> {
  return (await import('csv-parse')).Parser;
}

/**
 * csv-parse's stream parser, with each record tagged with the line it ended on. Same numbers as
 * csv-parse's `info: true` (checked in the tests), without building an info object per record,
 * which cost a fifth of the replay time.
 */
async function lineTaggingParser(options: typeof CSV_OPTIONS): Promise<Parser> {
  const P = await csvParser();
  return new (class extends P {
    override push(record: unknown, encoding?: BufferEncoding): boolean {
      return super.push(record === null ? null : { record, line: (this as unknown as { info: { lines: number } }).info.lines }, encoding);
    }
  })(options);
}

/** csv-parse options of trace v1: comments are whole lines starting with '#'. */
export const CSV_OPTIONS = { bom: true, comment: '#', comment_no_infix: true, skip_empty_lines: true, trim: true } as const;

/**
 * Records of a csv-parse stream in batches (everything readable at once), so that the replay loop
 * pays one promise per chunk rather than one per row.
 */
async function* recordBatches(parser: NodeJS.ReadableStream): AsyncGenerator<CsvRecord[]> {
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  parser.on('readable', poke);
  parser.on('end', () => {
    ended = true;
    poke();
  });
  parser.on('error', (e) => {
    failure = e;
    poke();
  });
  for (;;) {
    const batch: CsvRecord[] = [];
    let rec: CsvRecord | null;
    while ((rec = parser.read() as unknown as CsvRecord | null) !== null) batch.push(rec);
    if (batch.length > 0) yield batch;
    if (failure !== undefined) throw failure;
    if (ended) return;
    if (batch.length === 0) await new Promise<void>((res) => (wake = res));
  }
}

/** Where the fast path hands a file over to csv-parse: what it has already yielded. */
export interface Resume {
  /** Line of the last event yielded: csv-parse's records up to it are skipped (not validated again). */
  afterLine: number;
  /** The time check's state after that event: the last time seen and its line. */
  lastTime: number;
  lastTimeRow: number;
}

/**
 * The events of a trace v1 file as csv-parse reads it (the definition of the format), validated,
 * in batches: one per chunk csv-parse is given (64 KiB), each yielded only once all its rows are
 * valid. Each row goes through {@link fastEvent}, then through zod when fastEvent leaves it undecided.
 * @param resume skip the records the fast path already yielded, and continue its time check.
 * @throws InputError (file, line, column, what was expected) on the first bad row.
 */
export async function* csvEventBatches(file: string, resume?: Resume): AsyncGenerator<TraceEvent[]> {
  const source = createReadStream(file, { highWaterMark: BATCH_BYTES });
  const parser = source.pipe(await lineTaggingParser(CSV_OPTIONS));
  source.on('error', (e) => parser.emit('error', e));
  let header: string[] | undefined;
  let cols: Int8Array = new Int8Array(0);
  let lastTime = resume?.lastTime ?? -1;
  let lastTimeRow = resume?.lastTimeRow ?? 0;
  const skipThrough = resume?.afterLine ?? 0;
  try {
    for await (const recs of recordBatches(parser as never)) {
      const out: TraceEvent[] = [];
      for (const rec of recs) {
        const line = rec.line;
        const cells = rec.record;
        if (!header) {
          header = checkHeader(file, line, cells);
          cols = headerIndex(header);
          continue;
        }
        if (line <= skipThrough) continue;
        const ev = fastEvent(cells, cols, line) ?? (await slowEvent(file, line, header, cells));
        if (ev.time !== undefined) {
          if (ev.time < lastTime) {
            throw await located(
              file,
              line,
              header,
              'time',
              `time ${ev.time} is earlier than ${lastTime} on line ${lastTimeRow}; times must not decrease`,
            );
          }
          lastTime = ev.time;
          lastTimeRow = line;
        }
        out.push(ev);
      }
      if (out.length > 0) yield out;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const ce = e as { code?: string; lines?: number; index?: number; message: string };
    if (typeof ce.code === 'string' && (ce.code.startsWith('CSV_') || ce.code === 'INVALID_OPENING_QUOTE')) {
      // csv-parse names the field (0-based `index`); a row with extra fields is located at the first extra one
      const field =
        ce.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' && header ? Math.min(ce.index ?? 0, header.length) : (ce.index ?? 0);
      const column = ce.lines === undefined ? undefined : await fieldColumn(file, ce.lines, field);
      // csv-parse quotes the field's value: escaped and cut, as the file may be binary
      const why = escapeText(ce.message.replace(/^Invalid [^:]*: /, ''), false);
      const message = `malformed CSV: ${why.length > 200 ? `${why.slice(0, 200)}...` : why}`;
      throw new (header ? InputError : TraceHeaderError)(message, file, ce.lines, column);
    }
    throw new InputError(`cannot read: ${ce.message}`, file);
  } finally {
    // also when the caller stops early (a replay error): a paused stream would keep its file open
    source.destroy();
    parser.destroy();
  }
  if (!header) throw new TraceHeaderError(`no header row; expected a line naming the columns (e.g. "${COLUMNS.join(',')}")`, file, 1, 1);
}

/** The header row of a trace as csv-parse sees it (for the fast path and the parallel reader). */
export interface HeaderRecord {
  header: string[];
  /** Its line number (the line its record delimiter is on). */
  line: number;
  /** The record delimiter csv-parse detected ('\n', '\r\n' or '\r'; '' when the file has none). */
  recordDelimiter: string;
  /** Byte offset of the first byte after the header record and its delimiter: where the data rows start. */
  dataStart: number;
}

/**
 * The header row of a trace as csv-parse sees it, checked ({@link plainHeaderRecord} when it can
 * tell, else {@link csvHeaderRecord}).
 * @returns undefined when there is no header, it is bad, or csv-parse fails before it (the
 *   csv-parse reader then reports why).
 */
export async function readHeaderRecord(file: string): Promise<HeaderRecord | undefined> {
  const plain = await plainHeaderRecord(file);
  return plain === null ? csvHeaderRecord(file) : plain;
}

/** Bytes read at a time to find a plain header (a preamble is a few lines). */
const PLAIN_HEADER_READ = 16 * 1024;
/** At most this many bytes before the header for {@link plainHeaderRecord} (else csv-parse looks). */
const PLAIN_HEADER_MAX = 1024 * 1024;

/**
 * The header record without csv-parse, for the common file: no BOM, and before the header's
 * `\n` only comment lines (`#` first), empty lines and the header line, none with a CR, the
 * header line plain (see row-tokenizer.ts `isPlain`). csv-parse then finds '\n' as the record
 * delimiter (the first line break in the file), skips those comments and empty lines, and cuts the
 * header line at its commas, with nothing to trim: the same record, line and end offset.
 * @returns null when the file is not such a file (csv-parse must read its header).
 */
export async function plainHeaderRecord(file: string): Promise<HeaderRecord | undefined | null> {
  let buf = Buffer.allocUnsafe(PLAIN_HEADER_READ);
  let end = 0;
  const fh = await open(file, 'r');
  try {
    let p = 0;
    let line = 1;
    for (;;) {
      const nl = buf.subarray(0, end).indexOf(0x0a, p);
      if (nl < 0) {
        if (end >= PLAIN_HEADER_MAX) return null;
        if (end === buf.length) {
          const bigger = Buffer.allocUnsafe(2 * buf.length);
          buf.copy(bigger, 0, 0, end);
          buf = bigger;
        }
        const { bytesRead } = await fh.read(buf, end, buf.length - end, end);
        // the end of the file before a header with its '\n': csv-parse decides
        if (bytesRead === 0) return null;
        end += bytesRead;
        // a byte-order mark (UTF-8 or UTF-16): csv-parse skips it or changes encoding
        if (buf[0] === 0xef || buf[0] === 0xfe || buf[0] === 0xff) return null;
        continue;
      }
      if (buf.subarray(p, nl).includes(0x0d)) return null;
      if (nl > p && buf[p] !== 0x23) {
        if (!isPlain(buf, p, nl)) return null;
        try {
          const header = checkHeader(file, line, latin1(buf, p, nl).split(','));
          return { header, line, recordDelimiter: '\n', dataStart: nl + 1 };
        } catch {
          return undefined;
        }
      }
      p = nl + 1;
      line++;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Parse up to the header row with csv-parse and check it.
 * @returns undefined when there is no header, it is bad, or csv-parse fails before it.
 */
export async function csvHeaderRecord(file: string): Promise<HeaderRecord | undefined> {
  const P = await csvParser();
  // Small chunks: csv-parse parses the whole chunk it is given before the header reaches us (a
  // 64 KiB chunk cost about 100 ms of CPU, its code not yet compiled), and only the header is needed.
  const source = createReadStream(file, { highWaterMark: HEADER_CHUNK_BYTES });
  let found: { record: string[]; line: number; bytes: number } | undefined;
  // info.bytes is read when the header record is pushed: just after its delimiter (csv-parse counts
  // a skipped BOM), before the parser goes on with the rest of the chunk.
  const parser = new (class extends P {
    override push(record: unknown, encoding?: BufferEncoding): boolean {
      if (record !== null && found === undefined) {
        const info = (this as unknown as { info: { lines: number; bytes: number } }).info;
        found = { record: record as string[], line: info.lines, bytes: info.bytes };
      }
      return super.push(record, encoding);
    }
  })(CSV_OPTIONS);
  source.pipe(parser);
  try {
    // until the header record is pushed; an error csv-parse meets after it, in the same chunk, is
    // about a data row (the reader will report it), not about the header
    for await (const _ of parser as AsyncIterable<unknown>) break;
  } catch {
    // found tells
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (found === undefined) return undefined;
  try {
    const header = checkHeader(file, found.line, found.record);
    const delims = (parser as unknown as { options: { record_delimiter: Buffer[] } }).options.record_delimiter;
    return { header, line: found.line, recordDelimiter: delims.length === 1 ? delims[0]!.toString() : '', dataStart: found.bytes };
  } catch {
    return undefined;
  }
}

/**
 * How often the fast path of {@link readPackedBatches} gave up, since the process started (for the
 * tests and the benchmarks: a generated or imported trace should never need csv-parse).
 */
export const fastPathStats = {
  /** Files (or their rest) handed over to csv-parse. */
  handOvers: 0,
  /** Plain rows the fast path left to the zod schemas (valid ones: integers of 16 digits or more). */
  slowRows: 0,
};

/**
 * Stream the events of a trace v1 file, validated, in order, in batches (see
 * {@link readPackedBatches}: the same batches, unpacked into event objects).
 * @throws InputError (file, line, column, what was expected) on the first bad row.
 */
export async function* readEventBatches(file: string): AsyncGenerator<TraceEvent[]> {
  for await (const b of readPackedBatches(file)) yield b.events();
}

/**
 * Stream the events of a trace v1 file, validated, in order, in packed batches. A batch is valid
 * until the next one is asked for (its memory is reused).
 *
 * Fast path: after the header (read by csv-parse), plain data lines (see {@link RowTokenizer}) are
 * tokenized and validated straight from the bytes into a {@link PackedBatch}, with no object per
 * row. csv-parse stays the definition of the format: when the file's record delimiter is not
 * `\n`, or at the first line the fast path cannot read as csv-parse would (a quote, a CR, a space,
 * a byte outside printable ASCII, another number of cells than the header), the file is handed to
 * csv-parse ({@link csvEventBatches}), which re-reads it from the start, skips the rows already
 * yielded and reads the rest. A plain line whose cells are invalid gets the error the csv-parse
 * reader gives (the same cells go through the same validation), and the batches are csv-parse's
 * (its chunks of 64 KiB, each yielded once all its rows are valid; the last line of the file is a
 * batch of its own), so a replay stops at the same row either way.
 * @throws InputError (file, line, column, what was expected) on the first bad row.
 */
export async function* readPackedBatches(file: string): AsyncGenerator<PackedBatch> {
  await assertReadable(file);
  const head = await readHeaderRecord(file);
  if (head === undefined || head.recordDelimiter !== '\n') {
    yield* csvPackedBatches(file);
    return;
  }
  yield* readPackedBatchesFrom(file, head, head.dataStart, head.line + 1, { afterLine: head.line, lastTime: -1, lastTimeRow: 0 });
}

/**
 * {@link readPackedBatches} from a line start after the header (the parallel reader goes on this
 * way after a chunk its workers did not decide). The lines before `offset` must have been plain
 * (no CR: their number is their count of `\n`), all their events yielded.
 * @param head the header, as {@link readHeaderRecord} gives it.
 * @param offset file offset of a line start after the header; `line` its number.
 * @param resume what was yielded before `offset`: the last row and the time check's state.
 */
export async function* readPackedBatchesFrom(
  file: string,
  head: HeaderRecord,
  offset: number,
  line: number,
  resume: Resume,
): AsyncGenerator<PackedBatch> {
  const state = { ...resume };
  if (yield* fastEventBatches(file, head, offset, line, state)) yield* csvPackedBatches(file, state);
}

/** {@link csvEventBatches}, packed (after a hand-over of the fast path). */
async function* csvPackedBatches(file: string, resume?: Resume): AsyncGenerator<PackedBatch> {
  fastPathStats.handOvers++;
  const packed = new PackedBatch();
  for await (const batch of csvEventBatches(file, resume)) {
    packed.clear();
    for (const e of batch) packed.add(e);
    yield packed;
  }
}

/**
 * The fast path of {@link readPackedBatches}: reads the file from `offset` (line `line`) and
 * drives a {@link LineScanner}, doing what it cannot do synchronously (read, yield, validate with
 * zod, locate an error).
 * @param resume the state before `offset`, updated as batches are yielded: what csv-parse must
 *   skip after a hand-over.
 * @returns true when the rest of the file must be read by csv-parse.
 */
async function* fastEventBatches(
  file: string,
  head: HeaderRecord,
  offset: number,
  line: number,
  resume: Resume,
): AsyncGenerator<PackedBatch, boolean> {
  const s = new LineScanner(head.header, offset, line, { lastTime: resume.lastTime, lastTimeRow: resume.lastTimeRow });
  const fh = await open(file, 'r');
  // Read ahead, as a stream does: the next piece of the file is read (by libuv's thread pool) while
  // this one is scanned and replayed, rather than this thread waiting for each read in turn.
  const ahead = Buffer.allocUnsafe(READ_BYTES);
  let readAt = offset;
  let reading: Promise<{ bytesRead: number }> | undefined = fh.read(ahead, 0, READ_BYTES, readAt);
  try {
    for (;;) {
      const status = s.scan();
      if (status === Scan.More) {
        if (s.eof) break;
        const { bytesRead } = await reading!;
        reading = undefined;
        s.prepareRead();
        ahead.copy(s.buf, s.end, 0, bytesRead);
        s.added(bytesRead);
        readAt += bytesRead;
        if (bytesRead > 0) reading = fh.read(ahead, 0, READ_BYTES, readAt);
      } else if (status === Scan.Batch) {
        resume.afterLine = s.out.row(s.out.n - 1);
        resume.lastTime = s.lastTime;
        resume.lastTimeRow = s.lastTimeRow;
        yield s.out;
        s.nextBatch();
      } else if (status === Scan.Undecided) {
        // zod: the event, or the error at its column (a row of 16-digit integers is valid)
        const ev = await slowEvent(file, s.line, head.header, s.cells);
        if (!s.push(ev)) throw await timeBack(file, head.header, ev, s);
        fastPathStats.slowRows++;
        s.next();
      } else if (status === Scan.TimeBack) {
        throw await timeBack(file, head.header, s.pending!, s);
      } else {
        return true;
      }
    }
  } finally {
    // a read still in flight (the caller stopped early, or a hand-over) ends before the file closes
    await reading?.catch(() => undefined);
    await fh.close();
  }
  if (s.out.n > 0) yield s.out;
  return false;
}

/** The error of a row whose time is earlier than the last one (`s.lastTime`, on line `s.lastTimeRow`). */
function timeBack(
  file: string,
  header: readonly string[],
  ev: TraceEvent,
  s: { lastTime: number; lastTimeRow: number },
): Promise<InputError> {
  return located(
    file,
    ev.row,
    header,
    'time',
    `time ${ev.time} is earlier than ${s.lastTime} on line ${s.lastTimeRow}; times must not decrease`,
  );
}

/** Stream the events of a trace v1 file one by one (see {@link readEventBatches}). */
export async function* readEvents(file: string): AsyncGenerator<TraceEvent> {
  for await (const batch of readEventBatches(file)) yield* batch;
}

/**
 * Validate a row with the zod schemas (the rows the fast path left undecided).
 * @throws InputError at the offending column.
 */
async function slowEvent(file: string, line: number, header: readonly string[], cells: readonly string[]): Promise<TraceEvent> {
  // the zod schemas, loaded with the first row that needs them: a plain trace never does (start-up)
  const { validateCells } = await import('./row-schema.js');
  const r = validateCells(header, cells, line);
  if (!r.ok) throw await located(file, line, header, r.column, r.message);
  return r.event;
}

function checkHeader(file: string, line: number, cells: string[]): string[] {
  const seen = new Set<string>();
  let col = 1;
  for (const c of cells) {
    if (!(COLUMNS as readonly string[]).includes(c)) {
      throw new TraceHeaderError(
        `unknown column ${quoteExcerpt(c)} in the header; expected some of ${COLUMNS.join(', ')}`,
        file,
        line,
        col,
      );
    }
    if (seen.has(c)) throw new TraceHeaderError(`column ${quoteExcerpt(c)} appears twice in the header`, file, line, col);
    seen.add(c);
    col += c.length + 1;
  }
  if (!seen.has('event'))
    throw new TraceHeaderError(`the header has no "event" column (columns: ${escapeText(cells.join(', '), false)})`, file, line, 1);
  return cells;
}

/**
 * An InputError at the character column where `field` starts on `line` (re-reads that line); at the
 * row's event cell when the header has no column `field` (e.g. "needs one of mm and domain").
 */
export async function located(file: string, line: number, header: readonly string[], field: string, message: string): Promise<InputError> {
  const idx = header.includes(field) ? header.indexOf(field) : header.indexOf('event');
  let column: number | undefined;
  if (idx >= 0) {
    const text = await readLine(file, line);
    if (text !== undefined) {
      column =
        1 +
        text
          .split(',')
          .slice(0, idx)
          .reduce((a, cell) => a + cell.length + 1, 0);
    }
  }
  return new InputError(message, file, line, column, field);
}

/** 1-based character column where field `index` (0-based) starts on `line`; the line's end when it has fewer fields. */
async function fieldColumn(file: string, line: number, index: number): Promise<number | undefined> {
  const text = (await readLine(file, line))?.replace(/^\uFEFF/, '');
  if (text === undefined) return undefined;
  const cells = text.split(',');
  return index >= cells.length ? text.length + 1 : 1 + cells.slice(0, index).reduce((a, cell) => a + cell.length + 1, 0);
}

async function readLine(file: string, line: number): Promise<string | undefined> {
  const { createInterface } = await import('node:readline'); // errors only: not at start-up
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const t of rl) if (++n === line) return t;
  } finally {
    rl.close();
    input.destroy(); // rl.close() leaves the file open when we stop before its end
  }
  return undefined;
}

/**
 * The `src` cells (provenance) of some rows of a trace: what the report shows beside the rows its
 * findings name. Streams the file up to the last row asked for (once; nothing after the header
 * when the trace has no `src` column).
 * @param rows 1-based line numbers (event rows).
 * @returns the non-empty `src` cell of each row asked for that has one.
 */
export async function readSources(file: string, rows: Iterable<number>): Promise<Map<number, string>> {
  const want = new Set(rows);
  const out = new Map<number, string>();
  if (want.size === 0) return out;
  const last = Math.max(...want);
  const parse = await csvSync();
  let index = -1;
  for await (const { text: raw, line } of csvRecords(file)) {
    const text = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (index < 0) {
      if (text === '' || text.startsWith('#')) continue;
      index = cellsOf(parse, text).indexOf('src');
      if (index < 0) return out;
    } else if (want.has(line)) {
      const cell = cellsOf(parse, text)[index];
      if (cell) out.set(line, cell);
    }
    if (line >= last) break;
  }
  return out;
}

type CsvSync = typeof import('csv-parse/sync').parse;

/** csv-parse's synchronous parser, loaded when first needed (findings and errors only: start-up). */
async function csvSync(): Promise<CsvSync> {
  return (await import('csv-parse/sync')).parse;
}

/** The cells of one CSV line as the reader parses them ([] when it is not valid CSV). */
function cellsOf(parse: CsvSync, text: string): string[] {
  try {
    return (parse(text, CSV_OPTIONS) as string[][])[0] ?? [];
  } catch {
    return [];
  }
}

/**
 * Read the header row of a trace (used to locate columns for errors found during replay), parsed
 * as the reader does (quoted names too); [] when there is none.
 */
export async function readHeader(file: string): Promise<string[]> {
  for await (const { text } of csvRecords(file)) {
    const s = text.replace(/^\uFEFF/, '').trim();
    if (s === '' || s.startsWith('#')) continue;
    return cellsOf(await csvSync(), s);
  }
  return [];
}
