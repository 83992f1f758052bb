/**
 * Streaming reader of trace v1 CSV files (DESIGN.md "Trace format v1").
 *
 * Memory is flat in trace length: rows are parsed by csv-parse as the file streams in and handed out
 * one at a time. Every row is validated ({@link validateRow}); the first bad row stops the read with
 * an {@link InputError} naming file, line and column.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { COLUMNS, type TraceEvent } from './events.js';
import { InputError } from './errors.js';
import { validateRow } from './row-schema.js';

/** The preamble of a trace: the `# system:` object (if any) and where it was. */
export interface TracePreamble {
  system?: unknown;
  systemLine?: number;
  /** Other comment lines before the header, verbatim (without `#`). */
  comments: string[];
}

const SYSTEM_RE = /^#\s*system:\s*(.*)$/;

/**
 * Read the comment lines before the header and parse `# system: {json}`.
 * @throws InputError for an unreadable file, a second `# system:` line or invalid JSON.
 */
export async function readPreamble(file: string): Promise<TracePreamble> {
  await assertReadable(file);
  const out: TracePreamble = { comments: [] };
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
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
      try {
        out.system = JSON.parse(m[1]);
      } catch (e) {
        const pos = /position (\d+)/.exec(String((e as Error).message));
        const col = text.indexOf(m[1]) + 1 + (pos ? Number(pos[1]) : 0);
        throw new InputError(`the system preamble is not valid JSON: ${(e as Error).message}`, file, line, col);
      }
    }
  } finally {
    rl.close();
  }
  return out;
}

async function assertReadable(file: string): Promise<void> {
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

/**
 * Stream the events of a trace v1 file, validated, in order.
 * @throws InputError (file, line, column, what was expected) on the first bad row.
 */
export async function* readEvents(file: string): AsyncGenerator<TraceEvent> {
  await assertReadable(file);
  const parser = createReadStream(file).pipe(
    parse({
      bom: true,
      comment: '#',
      comment_no_infix: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
    }),
  );
  let header: string[] | undefined;
  let lastTime = -1;
  let lastTimeRow = 0;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = rec.info.lines;
      const cells = rec.record;
      if (!header) {
        header = checkHeader(file, line, cells);
        continue;
      }
      const obj: Record<string, string> = {};
      for (let i = 0; i < cells.length; i++) if (cells[i] !== '') obj[header[i]] = cells[i];
      const r = validateRow(obj, line);
      if (!r.ok) throw await located(file, line, header, r.column, r.message);
      const ev = r.event;
      if (ev.time !== undefined) {
        if (ev.time < lastTime) {
          throw await located(file, line, header, 'time', `time ${ev.time} is earlier than ${lastTime} on line ${lastTimeRow}; times must not decrease`);
        }
        lastTime = ev.time;
        lastTimeRow = line;
      }
      yield ev;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const ce = e as { code?: string; lines?: number; message: string };
    if (typeof ce.code === 'string' && ce.code.startsWith('CSV_')) {
      throw new InputError(`malformed CSV: ${ce.message.replace(/^Invalid [^:]*: /, '')}`, file, ce.lines);
    }
    if ((e as NodeJS.ErrnoException).code === 'ERR_INVALID_ARG_VALUE' || /invalid.*utf/i.test(ce.message)) {
      throw new InputError(`not readable as UTF-8 text: ${ce.message}`, file);
    }
    throw e;
  }
  if (!header) throw new InputError(`no header row; expected a line naming the columns (e.g. "${COLUMNS.join(',')}")`, file, 1, 1);
}

function checkHeader(file: string, line: number, cells: string[]): string[] {
  const seen = new Set<string>();
  let col = 1;
  for (const c of cells) {
    if (!(COLUMNS as readonly string[]).includes(c)) {
      throw new InputError(`unknown column "${c}" in the header; expected some of ${COLUMNS.join(', ')}`, file, line, col);
    }
    if (seen.has(c)) throw new InputError(`column "${c}" appears twice in the header`, file, line, col);
    seen.add(c);
    col += c.length + 1;
  }
  if (!seen.has('event')) throw new InputError(`the header has no "event" column (columns: ${cells.join(', ')})`, file, line, 1);
  return cells;
}

/** An InputError at the character column where `field` starts on `line` (re-reads that line). */
export async function located(file: string, line: number, header: readonly string[], field: string, message: string): Promise<InputError> {
  const idx = header.indexOf(field);
  let column: number | undefined;
  if (idx >= 0) {
    const text = await readLine(file, line);
    if (text !== undefined) {
      column = 1 + text.split(',').slice(0, idx).reduce((a, cell) => a + cell.length + 1, 0);
    }
  }
  return new InputError(message, file, line, column, field);
}

async function readLine(file: string, line: number): Promise<string | undefined> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const t of rl) if (++n === line) return t;
  } finally {
    rl.close();
  }
  return undefined;
}

/** Read the header row of a trace (used to locate columns for errors found during replay). */
export async function readHeader(file: string): Promise<string[]> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const t of rl) {
      const s = t.replace(/^\uFEFF/, '').trim();
      if (s === '' || s.startsWith('#')) continue;
      return s.split(',').map((c) => c.trim());
    }
  } finally {
    rl.close();
  }
  return [];
}
