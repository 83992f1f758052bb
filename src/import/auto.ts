/**
 * What a recording is, from its content (never its name): `import auto` picks the importer with it,
 * and every importer refuses a file of another kind with a message that says what the file looks
 * like and what to run. Also the input side of the importers: `-` (standard input), `/dev/stdin` and
 * pipes are read once into memory; regular files are streamed.
 */
import { readFile, open, stat } from 'node:fs/promises';
import { InputError } from '../trace/errors.js';
import type { ImportKind } from './kinds.js';
import { isTraceDat } from './tracedat/file.js';
import { parseFtraceLine } from './ftrace-line.js';
import { PERF_LINE_RE } from './perf-script.js';
import { STDIN_NAMES } from '../util/input.js';

/** What the first bytes of a file say it is. */
export interface Sniffed {
  /** The importer for it, when it is a supported recording. */
  kind?: ImportKind;
  /** "a trace-cmd binary file (trace.dat, version 7)", "empty", ... */
  looksLike: string;
  /** What to run instead, when the file cannot be imported as it is. */
  hint?: string;
  /**
   * A format recognised as something other than text: a recording (with `kind`), binary data,
   * perf.data, a compressed file or archive, HTML. Not set for empty files, plain text and CSV.
   */
  known?: boolean;
}

/** Bytes read to recognise a file. */
export const SNIFF_BYTES = 256 * 1024;

/**
 * Recognise a recording from its first bytes: trace-cmd `trace.dat` (magic 17 08 44 "tracing"),
 * systrace HTML, perf script text, ftrace / trace-cmd report text; and the things users pass by
 * mistake: perf.data, compressed files, a trace v1 CSV, other binary data.
 */
export function sniff(head: Buffer): Sniffed {
  if (head.length === 0)
    return {
      looksLike: 'an empty file',
      hint: 'record with `trace-cmd record -e sched` (or `perf record -e "sched:*"`) and import the result',
    };
  if (isTraceDat(head)) {
    const v = head.subarray(10, 14).toString('latin1').replace(/\0.*$/s, '');
    return { kind: 'trace-dat', looksLike: `a trace-cmd binary file (trace.dat, file version ${v})`, known: true };
  }
  if (head[0] === 0x17 && head[1] === 0x08 && head[2] === 0x44)
    return {
      looksLike: 'a damaged trace-cmd binary file (the magic is incomplete)',
      hint: 'the file is not a complete trace.dat',
      known: true,
    };
  const text4 = head.subarray(0, 8).toString('latin1');
  if (text4.startsWith('PERFILE2') || text4.startsWith('PERFFILE')) {
    return {
      looksLike: 'a perf.data binary file',
      hint: 'convert it to text first: `perf script -F comm,pid,tid,cpu,time,event,trace > perf.txt`, then `import perf-script perf.txt`',
      known: true,
    };
  }
  if (head[0] === 0x1f && head[1] === 0x8b)
    return {
      looksLike: 'a gzip-compressed file',
      hint: 'decompress it first (`gunzip -k FILE`), or pipe it: `gunzip -c FILE | asid-replay import auto -`',
      known: true,
    };
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return { looksLike: 'a zstd-compressed file', hint: 'decompress it first: `zstd -dc FILE | asid-replay import auto -`', known: true };
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    return { looksLike: 'a zip archive', hint: 'extract the recording from it first', known: true };
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))
    return { looksLike: 'a UTF-16 text file', hint: 'convert it to UTF-8 first: `iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8`', known: true };
  let control = 0;
  for (let i = 0; i < Math.min(head.length, 4096); i++) {
    const c = head[i];
    if (c === 0 || (c! < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12)) control++;
  }
  if (control > 0)
    return {
      looksLike: 'binary data in no known format (not a trace.dat, perf.data or text)',
      hint: 'supported recordings: trace-cmd trace.dat, trace-cmd report / ftrace text, perf script text, systrace HTML',
      known: true,
    };
  const text = head.toString('utf8');
  if (/<script class="trace-data"|var\s+linuxPerfData\s*=/.test(text))
    return { kind: 'systrace', looksLike: 'an Android systrace HTML file', known: true };
  if (/^\s*<(!doctype html|html)/i.test(text))
    return {
      looksLike: 'an HTML file without systrace data',
      hint: 'save the trace with systrace/atrace as HTML with its ftrace text (systrace --no-compress), or import the ftrace text',
      known: true,
    };
  const lines = text.split(/\r?\n/);
  if (head.length === SNIFF_BYTES && lines.length > 1) lines.pop(); // the last line may be cut
  let ftrace = 0;
  let perf = 0;
  let firstText: string | undefined;
  for (const l of lines.slice(0, 2000)) {
    const t = l.trim();
    if (t === '' || t.startsWith('#')) continue;
    firstText ??= t;
    if (PERF_LINE_RE.test(l)) perf++;
    else if (parseFtraceLine(l)) ftrace++;
  }
  if (perf > 0 && perf >= ftrace) return { kind: 'perf-script', looksLike: 'perf script text', known: true };
  if (ftrace > 0) return { kind: 'ftrace', looksLike: 'ftrace / trace-cmd report text', known: true };
  if (firstText === undefined)
    return {
      looksLike: 'a text file with no events (only blank or comment lines)',
      hint: 'record with `trace-cmd record -e sched` (or `perf record -e "sched:*"`) and import the result',
    };
  if (/^[\w ]+(,[\w ]+)+$/.test(firstText) && /\bevent\b/.test(firstText))
    return { looksLike: 'a trace v1 CSV (already imported)', hint: 'replay it: `asid-replay replay FILE`' };
  return {
    looksLike: `text in no known recording format (first line: ${JSON.stringify(firstText.slice(0, 80))})`,
    hint: 'supported recordings: trace-cmd trace.dat, trace-cmd report / ftrace text, perf script text, systrace HTML',
  };
}

/** The message for a file that is not what the importer `kind` reads. */
export function mismatch(s: Sniffed, asked: string): string {
  if (s.kind) return `this is ${s.looksLike}, not ${KIND_NAMES[asked] ?? asked}: use \`import ${s.kind}\` (or \`import auto\`)`;
  return `this is ${s.looksLike}, not ${KIND_NAMES[asked] ?? 'a supported recording'}${s.hint ? `: ${s.hint}` : ''}`;
}

const KIND_NAMES: Record<string, string> = {
  ftrace: 'ftrace / trace-cmd report text',
  systrace: 'an Android systrace HTML file',
  'trace-dat': 'a trace-cmd binary file (trace.dat)',
  'perf-script': 'perf script text',
};

/** An input: a path to stream, or the whole content when it is standard input or a pipe (read once). */
export interface Input {
  path: string;
  /** The whole content, when the input cannot be read twice. */
  data?: Buffer;
}

/**
 * Open an importer input: `-` is standard input; a FIFO, character device or `/dev/stdin` is read
 * once into memory; a regular file stays a path.
 * @throws InputError naming the file when it is missing, a folder or unreadable.
 */
export async function loadInput(path: string): Promise<Input> {
  if (path === '-') return { path: '-', data: await readAll(process.stdin) };
  if (path === '') throw new InputError('the file name is empty (""): expected the path of a recording');
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`, path);
  }
  if (st.isDirectory()) throw new InputError('this is a folder, not a recording', path);
  if (st.isFile()) {
    try {
      const h = await open(path, 'r');
      await h.close();
    } catch (e) {
      throw new InputError(`cannot read: ${(e as Error).message}`, path);
    }
    return { path };
  }
  try {
    // standard input by name: read from the stream (opening /dev/stdin fails on a socket)
    return { path, data: STDIN_NAMES.has(path) ? await readAll(process.stdin) : await readFile(path) };
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, path);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(parts);
}

/** The first {@link SNIFF_BYTES} of an input. */
export async function headOf(input: Input): Promise<Buffer> {
  if (input.data) return input.data.subarray(0, SNIFF_BYTES);
  const h = await open(input.path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await h.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

/** The whole content of an input. */
export async function contentOf(input: Input): Promise<Buffer> {
  return input.data ?? (await readFile(input.path));
}

/**
 * {@link sniff} an input: its first bytes, or all of it when those are HTML without the systrace
 * markers (the trace block of a large systrace file may come after megabytes of script).
 */
export async function sniffInput(input: Input): Promise<Sniffed> {
  const head = await headOf(input);
  const s = sniff(head);
  if (s.looksLike.startsWith('an HTML file') && head.length === SNIFF_BYTES) return sniff(await contentOf(input));
  return s;
}

/** Recognise an input for `import auto`. @throws InputError when it is not a supported recording. */
export async function detectKind(input: Input): Promise<ImportKind> {
  const s = await sniffInput(input);
  if (!s.kind) throw new InputError(`cannot import: this is ${s.looksLike}${s.hint ? `; ${s.hint}` : ''}`, input.path);
  return s.kind;
}

/**
 * What a file whose trace v1 header cannot be read really is, with the detection of `import auto`:
 * for a recording, that it is one and the import that converts it; for binary data, perf.data, a
 * compressed file or HTML, what it is and what to do. Undefined for an empty file, plain text or a
 * CSV (the reader's own message about the header says more). `path` is read (its first bytes);
 * `name` is the input as the user gave it (`-`, `/dev/fd/63`, `trace.dat`), used in the command shown.
 */
export async function notATrace(path: string, name: string): Promise<string | undefined> {
  let s: Sniffed;
  try {
    s = await sniffInput({ path });
  } catch {
    return undefined; // unreadable now: the reader's message stands
  }
  if (!s.known) return undefined;
  const what = `this is ${s.looksLike}, not a trace v1 CSV`;
  if (s.kind && STDIN_NAMES.has(name))
    return `${what}: convert it on the way, \`... | asid-replay import ${s.kind} - -o - | asid-replay replay -\``;
  if (s.kind) return `${what}: convert it with \`asid-replay import ${s.kind} ${shellWord(name)} -o trace.csv\`, then replay trace.csv`;
  return `${what}${s.hint ? `; ${s.hint.replace(/\bFILE\b/g, shellWord(name))}` : ''} (\`asid-replay import\` converts recordings to trace v1)`;
}

/** `word` as one shell word (quoted when it holds anything but safe characters). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
