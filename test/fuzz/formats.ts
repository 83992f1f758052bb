/**
 * Per-format fuzzing of the readers, in process (no CLI, no process per case): every input format
 * the tool reads, each from real samples of bounded size, mutated by bytes and by lines.
 *
 * | format         | samples                                                                                    | run through          |
 * |----------------|--------------------------------------------------------------------------------------------|----------------------|
 * | `trace-v1`     | the shipped traces (traces/**.csv, first 300 lines)                                        | `replayFile`, `renderText` |
 * | `ftrace`       | windows of the ftrace / trace-cmd report recordings (raw, plugin, TGID, irq-flags styles)  | `importFile('ftrace')`, then the trace replays |
 * | `trace-dat-v6` | the LISA `trace.dat` rewritten small: its own headers (sched and task formats only), 0-3 pages per CPU | `importFile('trace-dat')` |
 * | `trace-dat-v7` | the same parts written as version 7: compression none, zlib, zstd (the real zstd sections of `trace-v7-zstd.dat` where they fit, raw-block zstd frames elsewhere) | `importFile('trace-dat')` |
 * | `perf-script`  | the recordings' events printed as `perf script` does (default, `-F +pid`, `--ns`, period column), and task records | `importFile('perf-script')` |
 * | `systrace`     | the systrace HTML files and the Android 11 fixture, each data block cut to 200 lines       | `importFile('systrace')` |
 *
 * Mutations ({@link ByteEdit}): byte flips and sets, truncation, deleted ranges, splices (a range of
 * the sample copied elsewhere, inserted or written over), huge and edge numbers (digits in text, u16
 * / u32 / u64 in binary), bad UTF-8, duplicated / removed / swapped lines and blocks, and for
 * trace.dat header corruption: edits aimed at the container (the bytes before the CPU data) and at
 * its structural fields (sizes, counts, offsets, the CPU table, section headers, chunk headers).
 *
 * The oracle ({@link runFormatCase}): the call ends in a report (trace v1) or an import result whose
 * trace replays, or in the project's InputError naming the file, with a message that holds no stack
 * trace, and a line (text) or a byte offset (trace.dat) unless it is about the whole file (empty, no
 * scheduling event, another kind of file). Anything else is a failure: another exception (a crash),
 * a temporary file left behind. The time limit per case is enforced by the caller: `npm run fuzz --
 * --format` runs the cases in worker threads and terminates one whose case runs over the limit.
 *
 * This file imports nothing of the project but types: the caller passes the project's functions
 * ({@link FormatDeps}): from src/ under vitest, from dist/ in scripts/fuzz.mjs (which transpiles this
 * file on its own).
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { importFile as ImportFile } from '../../src/import/import.js';
import type { replayFile as ReplayFile } from '../../src/replay/engine.js';
import type { renderText as RenderText } from '../../src/report/render.js';
import type { InputError as InputErrorClass } from '../../src/trace/errors.js';

export const FORMATS = ['trace-v1', 'ftrace', 'trace-dat-v6', 'trace-dat-v7', 'perf-script', 'systrace'] as const;
export type Format = (typeof FORMATS)[number];

/** Other names accepted by `--format`. */
export const FORMAT_ALIASES: Record<string, Format> = {
  trace: 'trace-v1',
  csv: 'trace-v1',
  v1: 'trace-v1',
  'trace-cmd-report': 'ftrace',
  report: 'ftrace',
  dat6: 'trace-dat-v6',
  v6: 'trace-dat-v6',
  dat7: 'trace-dat-v7',
  v7: 'trace-dat-v7',
  perf: 'perf-script',
  html: 'systrace',
};

/** The project's functions a case runs (src/ under vitest, dist/ in the long run). */
export interface FormatDeps {
  importFile: typeof ImportFile;
  replayFile: typeof ReplayFile;
  renderText: typeof RenderText;
  InputError: typeof InputErrorClass;
}

/** A structural field of a binary sample (header corruption aims at these). */
interface Field {
  at: number;
  size: 1 | 2 | 4 | 8;
}

/** One sample: its bytes, where its container ends (binary), its structural fields. */
export interface Sample {
  name: string;
  bytes: Buffer;
  binary: boolean;
  /** Bytes before the CPU data (trace.dat): header corruption edits land here. */
  headerLen?: number;
  fields?: Field[];
}

// ---------------------------------------------------------------------------------------------
// Samples.

const REC = 'traces/real/recordings/';
const MAX_LINES = 80;

function walk(root: string, dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((e) => {
    const p = join(dir, e);
    return statSync(join(root, p)).isDirectory() ? walk(root, p) : [p];
  });
}

/** Lines `[start, start + n)` of `text`, after its first `keep` lines (a header). */
function window(text: string, keep: number, start: number, n: number): string {
  const lines = text.split('\n');
  return [...lines.slice(0, keep), ...lines.slice(keep + start, keep + start + n)].join('\n') + '\n';
}

/** Lines of the header of an ftrace text (before its first event line). */
const headerLines = (text: string) =>
  Math.max(
    0,
    text.split('\n').findIndex((l) => /\[\d+\]/.test(l)),
  );

function traceV1Samples(root: string): Sample[] {
  return walk(root, 'traces')
    .filter((p) => p.endsWith('.csv'))
    .sort()
    .map((p) => ({ name: p, bytes: Buffer.from(window(readFileSync(join(root, p), 'utf8'), 0, 0, 120)), binary: false }));
}

const FTRACE_FILES = [
  `${REC}lisa-juno-trace-txt/trace.txt`,
  `${REC}lisa-juno-rtapp/trace.dat.report.txt`,
  `${REC}catapult-android-tegra3-systrace/atrace_data`,
  `${REC}catapult-android-tegra3-systrace/atrace_fixed_tgids`,
];

/** Windows of each ftrace recording (with its header), and the report's scheduling lines alone (the report is mostly bprint). */
function ftraceTexts(root: string): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const p of FTRACE_FILES) {
    const text = readFileSync(join(root, p), 'utf8');
    const h = headerLines(text);
    const n = text.split('\n').length - h;
    for (const start of [0, Math.floor(n / 3), Math.floor((2 * n) / 3)])
      out.push({ name: `${p} lines ${h + start + 1}+`, text: window(text, h, start, MAX_LINES) });
    if (p.endsWith('report.txt')) {
      const lines = text.split('\n');
      const sched = lines.filter((l, i) => i < h || /: (sched|task)_/.test(l));
      out.push({ name: `${p} (sched lines)`, text: sched.slice(0, h + MAX_LINES).join('\n') + '\n' });
    }
  }
  return out;
}

function ftraceSamples(root: string): Sample[] {
  return ftraceTexts(root).map(({ name, text }) => ({ name, bytes: Buffer.from(text), binary: false }));
}

/** An ftrace line's parts: comm, pid, tgid, cpu, seconds, fraction, event, body. */
const FTRACE_RE = /^\s*(.*?)-(\d+)\s+(?:\(\s*([\d-]+)\)\s+)?\[(\d+)\]\s+(?:[a-zA-Z.\d]{4,5}\s+)?(\d+)\.(\d+):\s+([\w:]+):\s*(.*)$/;

/** A perf script header (`perf script --header`). */
const PERF_HEADER = `# ========
# captured on    : Sat Nov 22 10:00:00 2026
# cmdline : /usr/bin/perf record -e sched:* -e task:* -a
# event : name = sched:sched_switch, , id = { 1 }, type = 2, size = 136
# ========
#
`;

/** Task records written by hand (perf_event__fprintf_comm / _task forms). */
const PERF_TASKS = `            bash   100 [001]  7000.000010: sched:sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=100 next_prio=120
            bash   100 [001]  7000.000030: PERF_RECORD_FORK(101:101):(100:100)
            bash   100 [001]  7000.000040: sched:sched_switch: prev_comm=bash prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=bash next_pid=101 next_prio=120
              ls   101 [001]  7000.000050: PERF_RECORD_COMM exec: ls:101/101
              ls   101 [001]  7000.000060: PERF_RECORD_FORK(101:102):(101:101)
              ls   102 [001]  7000.000070: PERF_RECORD_COMM: ls-worker:101/102
              ls   101 [001]  7000.000080: sched:sched_switch: prev_comm=ls prev_pid=101 prev_prio=120 prev_state=S ==> next_comm=ls-worker next_pid=102 next_prio=120
       ls-worker   102 [001]  7000.000090: PERF_RECORD_EXIT(101:102):(101:101)
       ls-worker   102 [001]  7000.000100: sched:sched_switch: prev_comm=ls-worker prev_pid=102 prev_prio=120 prev_state=X ==> next_comm=swapper/1 next_pid=0 next_prio=120
`;

/** An ftrace text printed as `perf script` would: default fields, `-F +pid`, `--ns`, a period column. */
function toPerf(text: string, style: number): string {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = FTRACE_RE.exec(l);
    if (!m) continue;
    const [, comm, pid, tgid, cpu, secs, frac, event, body] = m;
    const sys = /^(sched|task)_/.test(event!) ? event!.split('_')[0] : event === 'bprint' || event === 'print' ? 'ftrace' : 'sched';
    const tid = style === 1 ? `${tgid && tgid !== '-----' ? tgid.trim() : pid}/${pid}` : pid;
    const time = style === 2 ? `${secs}.${frac!.padEnd(9, '0')}` : `${secs}.${frac}`;
    const period = style === 3 ? '          1 ' : '';
    out.push(`${comm!.padStart(16)} ${tid!.padStart(5)} [${cpu!.padStart(3, '0')}] ${time}: ${period}${sys}:${event}: ${body}`);
  }
  return out.join('\n') + '\n';
}

function perfSamples(root: string): Sample[] {
  const texts = ftraceTexts(root);
  const out: Sample[] = [{ name: 'perf task records (by hand)', bytes: Buffer.from(PERF_HEADER + PERF_TASKS), binary: false }];
  texts.forEach(({ name, text }, i) =>
    out.push({
      name: `${name} as perf script (style ${i % 4})`,
      bytes: Buffer.from((i % 2 ? PERF_HEADER : '') + toPerf(text, i % 4)),
      binary: false,
    }),
  );
  return out;
}

/** A systrace HTML file with its page scripts cut and each data block cut to {@link MAX_LINES} lines. */
function cutHtml(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let inData = false;
  let inScript = false;
  let kept = 0;
  for (const l of lines) {
    if (inData) {
      if (/<\/script>/.test(l) || /^\s*";?\s*$/.test(l)) {
        inData = false;
        out.push(l);
      } else if (kept++ < MAX_LINES) out.push(l);
      continue;
    }
    if (/<script class="trace-data"/.test(l) || /var linuxPerfData/.test(l)) {
      inData = true;
      inScript = false;
      kept = 0;
      out.push(l);
      continue;
    }
    if (/<script\b/.test(l) && !/<\/script>/.test(l)) inScript = true;
    if (inScript) {
      if (/<\/script>/.test(l)) {
        inScript = false;
        out.push('<script>/* cut */</script>');
      }
      continue;
    }
    if (out.length < 40 || /<\/?(html|head|body|meta|title|style)|<!--/.test(l)) out.push(l);
  }
  return out.join('\n');
}

function systraceSamples(root: string): Sample[] {
  return [
    `${REC}catapult-android-tegra3-systrace/android_systrace.html`,
    `${REC}trappy-android-msm8998-systrace/trace_surfaceflinger.html`,
    'test/fixtures/android11-systrace.html.txt',
  ].map((p) => ({ name: p, bytes: Buffer.from(cutHtml(readFileSync(join(root, p), 'utf8'))), binary: false }));
}

// trace.dat: the parts of the LISA recording, then small files of either version written from them.

interface DatParts {
  littleEndian: boolean;
  longSize: number;
  pageSize: number;
  headerPage: Buffer;
  headerEvent: Buffer;
  ftrace: Buffer[];
  systems: { name: string; formats: Buffer[] }[];
  cmdlines: Buffer;
  cpus: number;
  /** Raw v6 option list (ids, sizes, data; without the end mark). */
  options: Buffer;
  /** Pages per CPU. */
  pages: Buffer[][];
}

/** Read the parts of a version-6 trace.dat (as src/import/tracedat/file.ts parseV6, without its checks: the file is ours). */
function readV6(buf: Buffer): DatParts {
  let p = 10;
  const cstr = () => {
    const e = buf.indexOf(0, p);
    const s = buf.toString('latin1', p, e);
    p = e + 1;
    return s;
  };
  cstr(); // version
  const le = buf[p++] === 0;
  const u16 = () => ((p += 2), le ? buf.readUInt16LE(p - 2) : buf.readUInt16BE(p - 2));
  const u32 = () => ((p += 4), le ? buf.readUInt32LE(p - 4) : buf.readUInt32BE(p - 4));
  const u64 = () => ((p += 8), Number(le ? buf.readBigUInt64LE(p - 8) : buf.readBigUInt64BE(p - 8)));
  const take = (n: number) => ((p += n), buf.subarray(p - n, p));
  const longSize = buf[p++]!;
  const pageSize = u32();
  cstr();
  const headerPage = take(u64());
  cstr();
  const headerEvent = take(u64());
  const ftrace = Array.from({ length: u32() }, () => take(u64()));
  const systems = Array.from({ length: u32() }, () => {
    const name = cstr();
    return { name, formats: Array.from({ length: u32() }, () => take(u64())) };
  });
  take(u32()); // kallsyms
  take(u32()); // printk formats
  const cmdlines = take(u64());
  const cpus = u32();
  let options: Buffer = Buffer.alloc(0);
  if (buf.toString('latin1', p, p + 10) === 'options  \0') {
    p += 10;
    const start = p;
    for (;;) {
      const id = u16();
      if (id === 0) break;
      take(u32());
    }
    options = buf.subarray(start, p - 2);
  }
  p += 10; // flyrecord
  const pages: Buffer[][] = [];
  for (let c = 0; c < cpus; c++) {
    const at = u64();
    const size = u64();
    pages.push(Array.from({ length: size / pageSize }, (_, i) => buf.subarray(at + i * pageSize, at + (i + 1) * pageSize)));
  }
  return { littleEndian: le, longSize, pageSize, headerPage, headerEvent, ftrace, systems, cmdlines, cpus, options, pages };
}

/** A little writer that records the structural fields it writes. */
class Writer {
  parts: Buffer[] = [];
  len = 0;
  fields: Field[] = [];
  raw(b: Buffer | string): this {
    const x = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    this.parts.push(x);
    this.len += x.length;
    return this;
  }
  int(v: number, size: 1 | 2 | 4 | 8, field = true): this {
    const b = Buffer.alloc(size);
    if (size === 1) b[0] = v;
    else if (size === 2) b.writeUInt16LE(v);
    else if (size === 4) b.writeUInt32LE(v >>> 0);
    else b.writeBigUInt64LE(BigInt(v));
    if (field) this.fields.push({ at: this.len, size });
    return this.raw(b);
  }
  sized(b: Buffer, size: 4 | 8 = 8): this {
    return this.int(b.length, size).raw(b);
  }
  pad(to: number): this {
    return this.raw(Buffer.alloc((to - (this.len % to)) % to));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The systems and formats a small sample keeps (what the importer reads, and one system it ignores). */
const KEEP_SYSTEMS = new Set(['sched', 'task', 'ftrace', 'irq']);

function magic(w: Writer, version: string, d: DatParts): void {
  w.raw(Buffer.from([0x17, 0x08, 0x44])).raw(`tracing${version}\0`);
  w.int(0, 1).int(d.longSize, 1).int(d.pageSize, 4);
}

function headerInfo(w: Writer, d: DatParts): void {
  w.raw('header_page\0').sized(d.headerPage).raw('header_event\0').sized(d.headerEvent);
}

function ftraceEvents(w: Writer, d: DatParts): void {
  w.int(d.ftrace.length, 4);
  for (const f of d.ftrace) w.sized(f);
}

function eventFormats(w: Writer, d: DatParts): void {
  const systems = d.systems.filter((s) => KEEP_SYSTEMS.has(s.name));
  w.int(systems.length, 4);
  for (const s of systems) {
    w.raw(`${s.name}\0`).int(s.formats.length, 4);
    for (const f of s.formats) w.sized(f);
  }
}

/** A version-6 file holding pages `[from, from + n)` of each CPU. */
function writeV6(d: DatParts, take: (cpu: number) => Buffer[]): Sample {
  const w = new Writer();
  magic(w, '6', d);
  headerInfo(w, d);
  ftraceEvents(w, d);
  eventFormats(w, d);
  w.int(0, 4).int(0, 4); // no kallsyms, no printk formats
  w.sized(d.cmdlines).int(d.cpus, 4);
  w.raw('options  \0').raw(d.options).int(0, 2).raw('flyrecord\0');
  const data = d.pages.map((_, c) => take(c));
  let at = Math.ceil((w.len + 16 * d.cpus) / d.pageSize) * d.pageSize;
  for (const pages of data) {
    const size = pages.length * d.pageSize;
    w.int(size ? at : 0, 8).int(size, 8);
    at += size;
  }
  w.pad(d.pageSize);
  const headerLen = w.len;
  for (const pages of data) for (const p of pages) w.raw(p);
  return { name: '', bytes: w.done(), binary: true, headerLen, fields: w.fields };
}

/** A zstd frame of raw blocks (RFC 8878: single segment, 4-byte content size, blocks of at most 128 KiB). */
export function zstdRaw(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0]), Buffer.alloc(4)];
  parts[1]!.writeUInt32LE(data.length);
  const max = 128 * 1024;
  for (let at = 0; at === 0 || at < data.length; at += max) {
    const block = data.subarray(at, at + max);
    const last = at + max >= data.length ? 1 : 0;
    const h = (block.length << 3) | last; // block type 0: raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block);
  }
  return Buffer.concat(parts);
}

type Compression = 'none' | 'zlib' | 'zstd';

/**
 * A version-7 file: header, ftrace events, event formats and command lines sections, one options
 * section pointing at them (and the CPU count, the BUFFER option), then the buffer section with each
 * CPU's pages (compressed: one chunk per 2 pages). `real` gives sections to copy as they are (the
 * zstd-compressed sections of the real v7 file) by section id.
 */
function writeV7(d: DatParts, take: (cpu: number) => Buffer[], compression: Compression, real: Map<number, Buffer>): Sample {
  const w = new Writer();
  magic(w, '7', d);
  w.raw(`${compression}\0`).raw(compression === 'zstd' ? '1.5.4\0' : compression === 'zlib' ? '1\0' : '\0');
  const firstOptions = w.len;
  w.int(0, 8); // patched below
  const compress = (b: Buffer) => (compression === 'zlib' ? deflateSync(b) : zstdRaw(b));
  const offsets = new Map<number, number>();
  const section = (id: number, body: Buffer) => {
    offsets.set(id, w.len);
    const copy = real.get(id);
    if (copy) return w.raw(copy);
    w.int(id, 2)
      .int(compression === 'none' ? 0 : 1, 2)
      .int(0, 4);
    if (compression === 'none') return w.sized(body);
    const c = compress(body);
    return w
      .int(8 + c.length, 8)
      .int(c.length, 4)
      .int(body.length, 4)
      .raw(c);
  };
  const body = (f: (x: Writer) => void) => {
    const x = new Writer();
    f(x);
    return x.done();
  };
  section(
    16,
    body((x) => headerInfo(x, d)),
  );
  section(
    17,
    body((x) => ftraceEvents(x, d)),
  );
  section(
    18,
    body((x) => eventFormats(x, d)),
  );
  section(
    21,
    body((x) => x.sized(d.cmdlines)),
  );
  // buffer section: CPU data, uncompressed pages or chunk lists
  const data = d.pages.map((_, c) => take(c));
  const bufferSection = w.len;
  w.int(3, 2)
    .int(compression === 'none' ? 0 : 1, 2)
    .int(0, 4);
  const sizeAt = w.parts.length;
  w.int(0, 8);
  const start = w.len;
  const cpuAt: [number, number][] = [];
  for (const pages of data) {
    const from = w.len;
    if (compression === 'none') for (const p of pages) w.raw(p);
    else {
      const chunks: Buffer[][] = [];
      for (let i = 0; i < pages.length; i += 2) chunks.push(pages.slice(i, i + 2));
      w.int(chunks.length, 4);
      for (const ch of chunks) {
        const raw = Buffer.concat(ch);
        const c = compress(raw);
        w.int(c.length, 4).int(raw.length, 4).raw(c);
      }
    }
    cpuAt.push([from, pages.length ? w.len - from : 0]);
  }
  const sizeField = Buffer.alloc(8);
  sizeField.writeBigUInt64LE(BigInt(w.len - start));
  w.parts[sizeAt] = sizeField;
  // the options section (after the data, as trace-cmd writes its last one)
  const options = w.len;
  const opts = new Writer();
  for (const id of [16, 17, 18, 21]) opts.int(id, 2).int(8, 4).int(offsets.get(id)!, 8);
  opts.int(8, 2).int(4, 4).int(d.cpus, 4);
  const buf = new Writer();
  buf.int(bufferSection, 8).raw('\0').raw('local\0').int(d.pageSize, 4).int(d.cpus, 4);
  cpuAt.forEach(([at, size], cpu) =>
    buf
      .int(cpu, 4)
      .int(size ? at : 0, 8)
      .int(size, 8),
  );
  opts.int(3, 2).int(buf.len, 4).raw(buf.done());
  opts.int(0, 2).int(8, 4).int(0, 8);
  const ob = opts.done();
  w.int(0, 2).int(0, 2).int(0, 4).int(ob.length, 8);
  const base = w.len;
  for (const f of opts.fields) w.fields.push({ at: base + f.at, size: f.size });
  w.raw(ob);
  const out = w.done();
  out.writeBigUInt64LE(BigInt(options), firstOptions);
  return { name: '', bytes: out, binary: true, headerLen: start, fields: w.fields };
}

/** The zstd sections of the real v7 file that a small file can keep as they are (header, ftrace events, command lines). */
function realZstdSections(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let p = buf.indexOf(0, 10) + 1 + 6; // after the version: endianness, long size, page size
  p = buf.indexOf(0, buf.indexOf(0, p) + 1) + 1 + 8; // compression name and version, first options offset
  while (p + 16 <= buf.length) {
    const id = buf.readUInt16LE(p);
    const size = Number(buf.readBigUInt64LE(p + 8));
    if (id === 0 || id === 3) break;
    if (id === 16 || id === 17 || id === 21) out.set(id, buf.subarray(p, p + 16 + size));
    p += 16 + size;
  }
  return out;
}

/** Which pages of each CPU a sample holds: the first `n`, or a window further in. */
const PAGE_PLANS: { name: string; take: (pages: Buffer[], cpu: number) => Buffer[] }[] = [
  { name: '1 page per CPU', take: (p) => p.slice(0, 1) },
  { name: '2 pages per CPU', take: (p) => p.slice(0, 2) },
  { name: 'pages 3-4 of each CPU', take: (p) => p.slice(2, 4) },
  { name: 'a middle page of each CPU', take: (p) => p.slice(p.length >> 1, (p.length >> 1) + 1) },
  { name: 'CPU 1 and 2 only, 3 pages', take: (p, c) => (c === 1 || c === 2 ? p.slice(0, 3) : []) },
];

function datSamples(root: string, version: 6 | 7): Sample[] {
  const v6 = readFileSync(join(root, `${REC}lisa-juno-rtapp/trace.dat`));
  const d = readV6(v6);
  const take = (plan: (typeof PAGE_PLANS)[number]) => (cpu: number) => plan.take(d.pages[cpu]!, cpu);
  if (version === 6) return PAGE_PLANS.map((plan) => ({ ...writeV6(d, take(plan)), name: `trace.dat v6, ${plan.name}` }));
  const real = realZstdSections(readFileSync(join(root, `${REC}lisa-juno-rtapp/trace-v7-zstd.dat`)));
  const out: Sample[] = [];
  for (const c of ['none', 'zlib', 'zstd'] as const)
    for (const plan of PAGE_PLANS.slice(0, 4))
      out.push({ ...writeV7(d, take(plan), c, c === 'zstd' ? real : new Map()), name: `trace.dat v7 ${c}, ${plan.name}` });
  return out;
}

const cache = new Map<string, Sample[]>();

/** The samples of a format (read once per process). */
export function samples(format: Format, root: string): Sample[] {
  const key = `${format}\0${root}`;
  let s = cache.get(key);
  if (!s) {
    s =
      format === 'trace-v1'
        ? traceV1Samples(root)
        : format === 'ftrace'
          ? ftraceSamples(root)
          : format === 'perf-script'
            ? perfSamples(root)
            : format === 'systrace'
              ? systraceSamples(root)
              : datSamples(root, format === 'trace-dat-v6' ? 6 : 7);
    cache.set(key, s);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/** Numbers that break parsers: edges of integer widths, negative, huge, not numbers. */
const NUMBERS = [
  '0',
  '-1',
  '1',
  '4095',
  '4096',
  '65536',
  '2147483647',
  '2147483648',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999999999999',
  '1e308',
  '1e309',
  'NaN',
  '0x7fffffff',
  '-0',
  '00000000000000000001',
];

/** Binary values for u16 / u32 / u64 fields. */
const WORDS = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0xffffn,
  0x1000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Bad UTF-8: a lone continuation byte, overlong forms, a surrogate, a cut sequence, beyond U+10FFFF, 0xff. */
const BAD_UTF8 = [
  [0x80],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0xfe, 0xff],
  [0xef, 0xbb, 0xbf],
  [0],
];

export type ByteEdit =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'truncate'; at: number }
  | { op: 'delete'; at: number; len: number }
  | { op: 'splice'; from: number; len: number; at: number; over: boolean }
  | { op: 'number'; at: number; value: number }
  | { op: 'word'; at: number; size: 2 | 4 | 8; value: number; le: boolean }
  | { op: 'utf8'; at: number; seq: number }
  | { op: 'line'; how: 'dup' | 'del' | 'swap' | 'dupBlock' | 'delBlock'; at: number; to: number }
  | { op: 'header'; at: number; mask: number }
  | { op: 'field'; which: number; value: number };

const at = fc.nat();

/** Edits for text samples (line edits weigh more) or binary ones (header and field edits). */
export function editArb(binary: boolean): fc.Arbitrary<ByteEdit> {
  const common: fc.WeightedArbitrary<ByteEdit>[] = [
    { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('set' as const), at, byte: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x0a, 0x20, 0x3a) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 300 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('splice' as const),
        from: fc.nat(),
        len: fc.integer({ min: 1, max: 600 }),
        at,
        over: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('utf8' as const), at, seq: fc.nat(BAD_UTF8.length - 1) }) },
  ];
  if (!binary)
    return fc.oneof(
      ...common,
      { weight: 3, arbitrary: fc.record({ op: fc.constant('number' as const), at, value: fc.nat(NUMBERS.length - 1) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('line' as const),
          how: fc.constantFrom('dup' as const, 'del' as const, 'swap' as const, 'dupBlock' as const, 'delBlock' as const),
          at,
          to: fc.nat(),
        }),
      },
    );
  return fc.oneof(
    ...common,
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('word' as const),
        at,
        size: fc.constantFrom(2 as const, 4 as const, 8 as const),
        value: fc.nat(WORDS.length - 1),
        le: fc.boolean(),
      }),
    },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('header' as const), at, mask: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('field' as const), which: fc.nat(), value: fc.nat(WORDS.length + 1) }) },
  );
}

function writeWord(b: Buffer, atByte: number, size: 2 | 4 | 8, v: bigint, le: boolean): void {
  if (atByte + size > b.length) return;
  const m = v & ((1n << BigInt(size * 8)) - 1n);
  if (size === 8) {
    if (le) b.writeBigUInt64LE(m, atByte);
    else b.writeBigUInt64BE(m, atByte);
  } else if (size === 4) {
    if (le) b.writeUInt32LE(Number(m), atByte);
    else b.writeUInt32BE(Number(m), atByte);
  } else if (le) b.writeUInt16LE(Number(m), atByte);
  else b.writeUInt16BE(Number(m), atByte);
}

/** Line starts of `b` (offsets just after each newline, and 0). */
function lineStarts(b: Buffer): number[] {
  const s = [0];
  for (let i = b.indexOf(10); i >= 0 && i + 1 < b.length; i = b.indexOf(10, i + 1)) s.push(i + 1);
  return s;
}

/** Apply `edits` to a copy of the sample's bytes; positions are taken modulo the current length. */
export function applyByteEdits(s: Sample, edits: readonly ByteEdit[]): Buffer {
  let b: Buffer = Buffer.from(s.bytes);
  const orig = s.bytes;
  const pos = (x: number) => x % (b.length + 1);
  for (const e of edits) {
    switch (e.op) {
      case 'flip':
        if (b.length) b[e.at % b.length]! ^= e.mask;
        break;
      case 'set':
        if (b.length) b[e.at % b.length] = e.byte;
        break;
      case 'truncate':
        b = b.subarray(0, pos(e.at));
        break;
      case 'delete': {
        const a = pos(e.at);
        b = Buffer.concat([b.subarray(0, a), b.subarray(a + e.len)]);
        break;
      }
      case 'splice': {
        const from = e.from % (orig.length + 1);
        const piece = orig.subarray(from, from + e.len);
        const a = pos(e.at);
        b = Buffer.concat([b.subarray(0, a), piece, b.subarray(e.over ? a + piece.length : a)]);
        break;
      }
      case 'number': {
        // the digit run at or after `at` becomes the number
        const text = b.toString('latin1');
        const re = /\d+/g;
        re.lastIndex = pos(e.at);
        const m = re.exec(text) ?? /\d+/.exec(text);
        if (m) b = Buffer.concat([b.subarray(0, m.index), Buffer.from(NUMBERS[e.value]!), b.subarray(m.index + m[0].length)]);
        break;
      }
      case 'word':
        writeWord(b, e.at % Math.max(1, b.length), e.size, WORDS[e.value]!, e.le);
        break;
      case 'utf8': {
        const a = pos(e.at);
        b = Buffer.concat([b.subarray(0, a), Buffer.from(BAD_UTF8[e.seq]!), b.subarray(a)]);
        break;
      }
      case 'line': {
        const starts = lineStarts(b);
        const i = e.at % starts.length;
        const j = e.to % starts.length;
        const line = (k: number) => [starts[k]!, starts[k + 1] ?? b.length] as const;
        const [a0, a1] = line(i);
        if (e.how === 'dup') b = Buffer.concat([b.subarray(0, a1), b.subarray(a0, a1), b.subarray(a1)]);
        else if (e.how === 'del') b = Buffer.concat([b.subarray(0, a0), b.subarray(a1)]);
        else if (e.how === 'swap') {
          const [x, y] = i < j ? [i, j] : [j, i];
          if (x === y) break;
          const [x0, x1] = line(x);
          const [y0, y1] = line(y);
          b = Buffer.concat([b.subarray(0, x0), b.subarray(y0, y1), b.subarray(x1, y0), b.subarray(x0, x1), b.subarray(y1)]);
        } else {
          const n = 1 + (j % 50);
          const end = starts[i + n] ?? b.length;
          b =
            e.how === 'dupBlock'
              ? Buffer.concat([b.subarray(0, end), b.subarray(a0, end), b.subarray(end)])
              : Buffer.concat([b.subarray(0, a0), b.subarray(end)]);
        }
        break;
      }
      case 'header':
        if (b.length) b[e.at % Math.max(1, Math.min(b.length, s.headerLen ?? b.length))]! ^= e.mask;
        break;
      case 'field': {
        const f = s.fields?.[e.which % Math.max(1, s.fields.length)];
        if (!f) break;
        // the field's value plus or minus a little, or an edge value
        const cur = f.at + f.size <= b.length ? readWord(b, f.at, f.size) : 0n;
        const v = e.value === WORDS.length ? cur + 1n : e.value === WORDS.length + 1 ? cur - 1n : WORDS[e.value]!;
        if (f.size === 1) {
          if (f.at < b.length) b[f.at] = Number(v & 0xffn);
        } else writeWord(b, f.at, f.size, v < 0n ? v + (1n << BigInt(f.size * 8)) : v, true);
        break;
      }
    }
  }
  return b;
}

function readWord(b: Buffer, atByte: number, size: 1 | 2 | 4 | 8): bigint {
  if (size === 1) return BigInt(b[atByte]!);
  if (size === 2) return BigInt(b.readUInt16LE(atByte));
  if (size === 4) return BigInt(b.readUInt32LE(atByte));
  return b.readBigUInt64LE(atByte);
}

// ---------------------------------------------------------------------------------------------
// Cases.

/** One case: a mutated sample and how it is read. */
export interface FormatCase {
  format: Format;
  sample: string;
  edits: ByteEdit[];
  bytes: Buffer;
  /** Import as the format's kind, or `auto` (recognised from the content). */
  auto: boolean;
  allowLostEvents: boolean;
  /** `--overlay top:1` (a second, dry run of the conversion and the device overlay). */
  overlay: boolean;
}

const KIND: Record<Exclude<Format, 'trace-v1'>, 'ftrace' | 'trace-dat' | 'perf-script' | 'systrace'> = {
  ftrace: 'ftrace',
  'trace-dat-v6': 'trace-dat',
  'trace-dat-v7': 'trace-dat',
  'perf-script': 'perf-script',
  systrace: 'systrace',
};

/** The file name a case's input is written to. */
export const inputName = (f: Format): string =>
  f === 'trace-v1' ? 'in.csv' : f.startsWith('trace-dat') ? 'trace.dat' : f === 'systrace' ? 'in.html' : 'in.txt';

/** The arbitrary of a format's cases. */
export function formatCaseArb(format: Format, root: string): fc.Arbitrary<FormatCase> {
  const ss = samples(format, root);
  const binary = ss[0]!.binary;
  return fc
    .record({
      sample: fc.nat(ss.length - 1),
      edits: fc.oneof(
        { weight: 1, arbitrary: fc.constant([] as ByteEdit[]) },
        { weight: 12, arbitrary: fc.array(editArb(binary), { minLength: 1, maxLength: 6 }) },
      ),
      auto: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      allowLostEvents: fc.boolean(),
      overlay: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map(({ sample, edits, auto, allowLostEvents, overlay }) => {
      const s = ss[sample]!;
      return {
        format,
        sample: s.name,
        edits,
        bytes: applyByteEdits(s, edits),
        auto: auto && format !== 'trace-v1',
        allowLostEvents,
        overlay,
      };
    });
}

/** A case's verdict: `problem` fails it. */
export interface FormatVerdict {
  /** `report` (trace v1 replayed), `imported` (and replayed), `input-error` (the project's error). */
  outcome: 'report' | 'imported' | 'input-error' | 'crash';
  message?: string;
  problem?: string;
  /** An input error that names the file but no line or byte offset (whole-file problems): its template. */
  unlocated?: string;
  ms: number;
}

/** A frame of a JavaScript stack trace. */
const STACK_RE = /^\s*at (?:.+ \()?(?:file:|node:|\/|<anonymous>|native)[^\n]*\)?$/m;

/** Whole-file refusals: no line or offset to name (the file is empty, of another kind, without scheduling events, ...). */
const WHOLE_FILE = [
  /no scheduling events/,
  /the file is empty|is empty\b|has no lines/,
  /\bthis is\b/,
  /not a trace-cmd file|not ftrace|not a trace v1|no known recording format|no ftrace text found/,
  /no header row|header/i,
  /--overlay|overlay/,
  /compressed/,
  /the recording lost events/,
];

const template = (m: string, dir: string) =>
  m
    .split(dir)
    .join('<dir>')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 160);

/**
 * Run one case in folder `dir` (its input and output files are overwritten from case to case) and
 * judge it. The time limit is the caller's: this awaits the call.
 */
export async function runFormatCase(c: FormatCase, dir: string, deps: FormatDeps): Promise<FormatVerdict> {
  const input = join(dir, inputName(c.format));
  const output = join(dir, 'out.csv');
  rmSync(output, { force: true });
  writeFileSync(input, c.bytes);
  const t0 = performance.now();
  const v: FormatVerdict = { outcome: 'crash', ms: 0 };
  /** The file the error must name. */
  let named = input;
  try {
    if (c.format === 'trace-v1') {
      const r = await deps.replayFile(input, { parseThreads: 0 });
      deps.renderText(r);
      v.outcome = 'report';
    } else {
      await deps.importFile(c.auto ? 'auto' : KIND[c.format], input, output, {
        allowLostEvents: c.allowLostEvents,
        overlay: c.overlay ? { processes: 'top:1', dmaPerSwitch: 2, unmapEvery: 8 } : undefined,
      });
      named = output;
      const r = await deps.replayFile(output, { parseThreads: 0 });
      deps.renderText(r);
      v.outcome = 'imported';
    }
  } catch (e) {
    v.ms = performance.now() - t0;
    if (!(e instanceof deps.InputError)) {
      v.problem = `crash: ${String((e as Error)?.stack ?? e)}`;
      return v;
    }
    v.outcome = 'input-error';
    const text = e.format();
    v.message = text;
    if (named === output) v.problem = `the imported trace does not replay: ${text}`;
    else if (e.file !== input) v.problem = `the input error does not name the file (${JSON.stringify(e.file)}): ${text}`;
    else if (!e.message.trim()) v.problem = 'the input error has no message';
    else if (STACK_RE.test(text)) v.problem = `a stack trace in the message: ${text}`;
    else if (e.line === undefined && !/byte offset \d+|at file offset \d+/.test(e.message)) {
      if (WHOLE_FILE.some((r) => r.test(e.message))) v.unlocated = template(e.message, dir);
      else v.problem = `the input error names no line${c.format.startsWith('trace-dat') ? ' or byte offset' : ''}: ${text}`;
    }
  }
  v.ms = performance.now() - t0;
  const left = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tmp')) : [];
  if (left.length && !v.problem) v.problem = `temporary file left behind: ${left.join(', ')}`;
  for (const f of left) rmSync(join(dir, f), { force: true });
  return v;
}

/** A failing case as text: problem, sample, edits, bytes (start, escaped). */
export function describeFormatCase(c: FormatCase): string {
  return [
    `  format ${c.format}, sample ${c.sample}${c.auto ? ', import auto' : ''}${c.allowLostEvents ? ', --allow-lost-events' : ''}${c.overlay ? ', --overlay top:1' : ''}`,
    `  edits: ${JSON.stringify(c.edits)}`,
    `  ${c.bytes.length} bytes`,
  ].join('\n');
}

/** The seed of case `i` of a run seeded `seed` (each case is drawn on its own: a run can resume after a killed case). */
export const caseSeed = (seed: number, i: number): number => (Math.imul(seed, 0x9e3779b1) + Math.imul(i, 0x85ebca6b) + i) | 0;

/** Case `i` of a run. */
export function caseAt(format: Format, root: string, seed: number, i: number): FormatCase {
  return fc.sample(formatCaseArb(format, root), { seed: caseSeed(seed, i), numRuns: 1 })[0]!;
}

/**
 * Shrink failing case `i` with fast-check (same seed: the property's first case is case `i`);
 * undefined when it does not fail again.
 */
export async function shrinkCase(
  format: Format,
  root: string,
  seed: number,
  i: number,
  run: (c: FormatCase) => Promise<FormatVerdict>,
): Promise<{ case: FormatCase; verdict: FormatVerdict; shrinks: number } | undefined> {
  let last: { case: FormatCase; verdict: FormatVerdict } | undefined;
  const d = await fc.check(
    fc.asyncProperty(formatCaseArb(format, root), async (c) => {
      const v = await run(c);
      if (v.problem) last = { case: c, verdict: v };
      return !v.problem;
    }),
    { seed: caseSeed(seed, i), numRuns: 1 },
  );
  if (!d.failed || !d.counterexample) return undefined;
  const c = d.counterexample[0];
  return { case: c, verdict: last?.case === c ? last.verdict : await run(c), shrinks: d.numShrinks };
}
