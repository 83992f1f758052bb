/**
 * The container of a trace-cmd `trace.dat`, file versions 6 and 7, read as trace-cmd's
 * lib/trace-cmd/trace-input.c reads it (`tracecmd_read_headers`, `read_header_files`,
 * `read_ftrace_files`, `read_event_files`, `read_cmdlines`, `handle_options`, `init_cpu_data`) and as
 * Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and trace-cmd.dat.v7.5.txt describe it.
 *
 * Version 6: the headers one after the other, then the CPU count, `options  ` (an option list ended
 * by id 0), then `flyrecord` and an (offset, size) pair per CPU.
 * Version 7: a compression header (`zstd`, `zlib` or `none`), then sections (id, flags, string id,
 * size; flag 1 = compressed: compressed size, uncompressed size, data) reached from chained options
 * sections; the per-CPU trace data of a compressed BUFFER section is a count of chunks, each
 * (compressed size, uncompressed size, data). zstd is decompressed by `fzstd` (pure JavaScript).
 */
import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { InputError } from '../../trace/errors.js';
import { Bytes } from './bytes.js';
import { type EventFormat, type PageHeader, parseEventFormat, parsePageHeader } from './format.js';

/** 0x17 0x08 0x44 "tracing" (trace-cmd lib/trace-cmd/trace-output.c `tracecmd_output_create`). */
export const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing')]);

/** Option ids (trace-cmd lib/trace-cmd/include/trace-cmd-local.h `enum tracecmd_file_options`). */
const OPT = { DONE: 0, BUFFER: 3, CPUCOUNT: 8, HEADER_INFO: 16, FTRACE_EVENTS: 17, EVENT_FORMATS: 18, CMDLINES: 21 } as const;

/** One CPU's ring-buffer pages, decompressed. */
export interface CpuBuffer {
  cpu: number;
  /** Pages of `pageSize` bytes each. */
  data: Buffer;
  /** File offset of the CPU data (for messages). */
  fileOffset: number;
  /** Whether `data` was decompressed (offsets in it are not file offsets). */
  compressed?: boolean;
}

/** What a `trace.dat` holds, ready to read its events. */
export interface TraceDat {
  version: number;
  littleEndian: boolean;
  longSize: number;
  pageSize: number;
  compression: string;
  pageHeader: PageHeader;
  /** Event formats by id. */
  events: Map<number, EventFormat>;
  /** Saved command lines: pid -> comm. */
  comms: Map<number, string>;
  /** CPU count of the recording (CPUCOUNT option or header; at least 1 + the highest CPU with data). */
  cpus: number;
  buffers: CpuBuffer[];
  clock?: string;
}

/** Whether `head` starts with the trace-cmd magic. */
export function isTraceDat(head: Buffer): boolean {
  return head.length >= 10 && head.subarray(0, 10).equals(TRACE_DAT_MAGIC);
}

/**
 * Parse a whole `trace.dat` held in memory.
 * @throws InputError naming the file and the byte offset for a wrong magic, an unsupported version,
 *   a truncated or damaged header, a CPU buffer past the end of the file or a bad compressed block.
 */
export function parseTraceDat(buf: Buffer, file: string): TraceDat {
  if (!isTraceDat(buf)) {
    throw new InputError(`not a trace-cmd file: the first bytes are not the trace.dat magic 17 08 44 "tracing" (byte offset 0)`, file);
  }
  const probe = new Bytes(buf, file, true, 0, 'the file', 10);
  const versionText = probe.cstr('the file version', 16);
  const version = Number(versionText);
  if (version !== 6 && version !== 7) {
    throw probe.fail(
      `trace-cmd file version "${versionText}" is not supported (versions 6 and 7 are: \`trace-cmd convert --file-version 7\` rewrites a file)`,
      10,
    );
  }
  const endian = probe.u8('the endianness byte');
  if (endian > 1) throw probe.fail(`the endianness byte is ${endian} (0 or 1 expected): the file is damaged`, probe.pos - 1);
  const b = new Bytes(buf, file, endian === 0, 0, 'the file', probe.pos);
  const longSize = b.u8('the long size');
  if (longSize !== 4 && longSize !== 8) throw b.fail(`the long size is ${longSize} (4 or 8 expected): the file is damaged`, b.pos - 1);
  const pageSize = b.u32('the page size');
  if (pageSize < 64 || pageSize > 1 << 24 || (pageSize & (pageSize - 1)) !== 0)
    throw b.fail(`the page size is ${pageSize}: the file is damaged`, b.pos - 4);
  return version === 6 ? parseV6(b, longSize, pageSize) : parseV7(b, longSize, pageSize);
}

function readHeaderInfo(b: Bytes): PageHeader {
  expectTag(b, 'header_page');
  const page = b.take(b.u64('the header_page size'), 'the header_page format').toString('latin1');
  expectTag(b, 'header_event');
  b.take(b.u64('the header_event size'), 'the header_event format');
  return parsePageHeader(page);
}

function expectTag(b: Bytes, tag: string): void {
  const at = b.pos;
  const got = b.take(tag.length + 1, `the "${tag}" tag`);
  if (got.toString('latin1') !== `${tag}\0`) throw b.fail(`expected the "${tag}" tag: the file is damaged`, at);
}

function readFtraceEvents(b: Bytes, events: Map<number, EventFormat>): void {
  const n = b.u32('the ftrace event count');
  for (let i = 0; i < n; i++)
    addFormat(events, b.take(b.u64('an ftrace event format size'), 'an ftrace event format').toString('latin1'), 'ftrace');
}

function readEventFormats(b: Bytes, events: Map<number, EventFormat>): void {
  const systems = b.u32('the event system count');
  for (let s = 0; s < systems; s++) {
    const system = b.cstr('an event system name', 256);
    const n = b.u32(`the event count of system ${system}`);
    for (let i = 0; i < n; i++)
      addFormat(
        events,
        b.take(b.u64(`an event format size of system ${system}`), `an event format of system ${system}`).toString('latin1'),
        system,
      );
  }
}

function addFormat(events: Map<number, EventFormat>, text: string, system: string): void {
  const f = parseEventFormat(text, system);
  if (f) events.set(f.id, f);
}

function parseCmdlines(text: string): Map<number, string> {
  const comms = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m) comms.set(Number(m[1]), m[2]!);
  }
  return comms;
}

function cpuBuffer(b: Bytes, cpu: number, offset: number, size: number, pageSize: number): CpuBuffer {
  if (offset + size > b.buf.length) {
    throw b.fail(
      `CPU ${cpu}'s trace data (${size} bytes at offset ${offset}) goes past the end of the file (${b.buf.length} bytes): the file is truncated or a CPU buffer is missing`,
      offset,
    );
  }
  const data = b.buf.subarray(offset, offset + size);
  if (size % pageSize !== 0)
    throw b.fail(`CPU ${cpu}'s trace data is ${size} bytes, not a whole number of ${pageSize}-byte pages: the file is damaged`, offset);
  return { cpu, data, fileOffset: offset };
}

function parseV6(b: Bytes, longSize: number, pageSize: number): TraceDat {
  const pageHeader = readHeaderInfo(b);
  const events = new Map<number, EventFormat>();
  readFtraceEvents(b, events);
  readEventFormats(b, events);
  b.take(b.u32('the kallsyms size'), 'the kallsyms');
  b.take(b.u32('the printk formats size'), 'the printk formats');
  const comms = parseCmdlines(b.take(b.u64('the saved command lines size'), 'the saved command lines').toString('latin1'));
  let cpus = b.u32('the CPU count');
  if (cpus > 4096) throw b.fail(`the CPU count is ${cpus}: the file is damaged`, b.pos - 4);
  let clock: string | undefined;
  let tag = b.take(10, 'the "options" or "flyrecord" tag').toString('latin1');
  if (tag === 'options  \0') {
    for (;;) {
      const id = b.u16('an option id');
      if (id === OPT.DONE) break;
      const data = b.take(b.u32('an option size'), 'an option');
      if (id === OPT.CPUCOUNT && data.length >= 4) cpus = Math.max(cpus, b.littleEndian ? data.readUInt32LE(0) : data.readUInt32BE(0));
      if (id === 4) clock = /\[(\S+)\]/.exec(data.toString('latin1'))?.[1];
    }
    tag = b.take(10, 'the "flyrecord" tag').toString('latin1');
  }
  if (tag === 'latency  \0')
    throw b.fail(
      'this trace.dat holds a latency trace (text), not per-CPU event buffers: record with `trace-cmd record -e sched`',
      b.pos - 10,
    );
  if (tag !== 'flyrecord\0') throw b.fail(`expected the "flyrecord" tag, found ${JSON.stringify(tag)}: the file is damaged`, b.pos - 10);
  const buffers: CpuBuffer[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const offset = b.u64(`CPU ${cpu}'s data offset`);
    const size = b.u64(`CPU ${cpu}'s data size`);
    if (size > 0) buffers.push(cpuBuffer(b, cpu, offset, size, pageSize));
  }
  return {
    version: 6,
    littleEndian: b.littleEndian,
    longSize,
    pageSize,
    compression: 'none',
    pageHeader,
    events,
    comms,
    cpus,
    buffers,
    clock,
  };
}

type Decompress = (data: Buffer, size: number, at: number) => Buffer;

function decompressor(name: string, b: Bytes): Decompress | undefined {
  const check = (out: Uint8Array, size: number, at: number): Buffer => {
    if (out.length !== size)
      throw b.fail(`a ${name} block decompresses to ${out.length} bytes, its header says ${size}: the file is damaged`, at);
    return Buffer.from(out.buffer, out.byteOffset, out.length);
  };
  const guard =
    (f: (d: Buffer) => Uint8Array): Decompress =>
    (data, size, at) => {
      let out: Uint8Array;
      try {
        out = f(data);
      } catch (e) {
        throw b.fail(`a ${name} block does not decompress (${(e as Error).message}): the file is damaged`, at);
      }
      return check(out, size, at);
    };
  if (name === 'none') return undefined;
  if (name === 'zstd') return guard((d) => zstdDecompress(d));
  if (name === 'zlib') return guard((d) => inflateSync(d));
  throw b.fail(
    `trace.dat compression "${name}" is not supported (zstd, zlib and none are): \`trace-cmd convert --compression zstd\` rewrites the file`,
    12,
  );
}

interface Section {
  id: number;
  body: Bytes;
}

function readSection(b: Bytes, offset: number, decompress: Decompress | undefined, what: string): Section {
  if (offset <= 0 || offset >= b.buf.length)
    throw b.fail(`${what} is at offset ${offset}, outside the file (${b.buf.length} bytes): the file is truncated or damaged`, offset);
  const h = new Bytes(b.buf, b.file, b.littleEndian, 0, 'the file', offset);
  const id = h.u16(`${what}'s section id`);
  const flags = h.u16(`${what}'s section flags`);
  h.u32(`${what}'s section description`);
  const size = h.u64(`${what}'s section size`);
  const start = h.pos;
  h.need(size, `${what}`);
  if ((flags & 1) === 0) return { id, body: new Bytes(b.buf.subarray(0, start + size), b.file, b.littleEndian, 0, 'the file', start) };
  if (!decompress) throw h.fail(`${what} is marked compressed but the file names no compression`, offset);
  const csize = h.u32(`${what}'s compressed size`);
  const usize = h.u32(`${what}'s uncompressed size`);
  const data = h.take(csize, `${what}'s compressed data`);
  return { id, body: new Bytes(decompress(data, usize, start), b.file, b.littleEndian, start, `the decompressed ${what}`) };
}

function parseV7(b: Bytes, longSize: number, pageSize: number): TraceDat {
  const compression = b.cstr('the compression name', 64);
  b.cstr('the compression version', 64);
  const decompress = decompressor(compression, b);
  let next = b.u64('the offset of the first options section');
  let pageHeader: PageHeader | undefined;
  const events = new Map<number, EventFormat>();
  let comms = new Map<number, string>();
  let cpus = 0;
  let buffers: CpuBuffer[] | undefined;
  let clock: string | undefined;
  const seen = new Set<number>();
  while (next !== 0) {
    if (seen.has(next)) throw b.fail('the options sections form a loop: the file is damaged', next);
    seen.add(next);
    const sec = readSection(b, next, decompress, 'an options section');
    if (sec.id !== 0)
      throw b.fail(`expected an options section (id 0) at offset ${next}, found section id ${sec.id}: the file is damaged`, next);
    const o = sec.body;
    next = 0;
    for (;;) {
      const id = o.u16('an option id');
      const size = o.u32('an option size');
      const data = new Bytes(o.take(size, 'an option'), b.file, b.littleEndian, o.base, o.what);
      if (id === OPT.DONE) {
        next = data.u64('the offset of the next options section');
        break;
      }
      if (id === OPT.HEADER_INFO)
        pageHeader = readHeaderInfo(readSection(b, data.u64('the header section offset'), decompress, 'the header section').body);
      else if (id === OPT.FTRACE_EVENTS)
        readFtraceEvents(readSection(b, data.u64('the ftrace events offset'), decompress, 'the ftrace events section').body, events);
      else if (id === OPT.EVENT_FORMATS)
        readEventFormats(readSection(b, data.u64('the event formats offset'), decompress, 'the event formats section').body, events);
      else if (id === OPT.CMDLINES) {
        const c = readSection(b, data.u64('the command lines offset'), decompress, 'the command lines section').body;
        comms = parseCmdlines(c.take(c.u64('the saved command lines size'), 'the saved command lines').toString('latin1'));
      } else if (id === OPT.CPUCOUNT) cpus = Math.max(cpus, data.u32('the CPU count'));
      else if (id === OPT.BUFFER && buffers === undefined) {
        const r = readBufferOption(b, data, size, decompress, pageSize);
        buffers = r.buffers;
        clock = r.clock;
      }
    }
  }
  if (!pageHeader) throw b.fail('no header section (header_page): the file is damaged or truncated', 0);
  if (!buffers) throw b.fail('no BUFFER option: the file holds no trace data (a flyrecord buffer)', 0);
  for (const c of buffers) cpus = Math.max(cpus, c.cpu + 1);
  return { version: 7, littleEndian: b.littleEndian, longSize, pageSize, compression, pageHeader, events, comms, cpus, buffers, clock };
}

/** The top instance's BUFFER option (the first one): name, clock, [page size], CPUs (id, offset, size). */
function readBufferOption(
  b: Bytes,
  o: Bytes,
  size: number,
  decompress: Decompress | undefined,
  filePageSize: number,
): { buffers: CpuBuffer[]; clock: string } {
  const offset = o.u64('the buffer section offset');
  o.cstr('the buffer name', 256);
  const clock = o.cstr('the buffer clock', 64);
  const rest = size - o.pos;
  let pageSize = filePageSize;
  // trace-cmd 3.x writes the page size before the CPU count; the v7.5 description does not list it
  const peek = (at: number) => (at + 4 > o.buf.length ? -1 : o.littleEndian ? o.buf.readUInt32LE(at) : o.buf.readUInt32BE(at));
  if (rest >= 8 && peek(o.pos + 4) * 20 === rest - 8) pageSize = o.u32('the buffer page size');
  const n = o.u32('the buffer CPU count');
  if (n > 4096) throw o.fail(`the buffer CPU count is ${n}: the file is damaged`);
  const sec = new Bytes(b.buf, b.file, b.littleEndian, 0, 'the file', offset);
  sec.u16('the buffer section id');
  const flags = sec.u16('the buffer section flags');
  const compressed = (flags & 1) !== 0;
  if (compressed && !decompress) throw sec.fail('the buffer section is marked compressed but the file names no compression', offset);
  const buffers: CpuBuffer[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = o.u32('a buffer CPU id');
    const at = o.u64(`CPU ${cpu}'s data offset`);
    const sz = o.u64(`CPU ${cpu}'s data size`);
    if (sz === 0) continue;
    if (at + sz > b.buf.length) {
      throw b.fail(
        `CPU ${cpu}'s trace data (${sz} bytes at offset ${at}) goes past the end of the file (${b.buf.length} bytes): the file is truncated or a CPU buffer is missing`,
        at,
      );
    }
    if (!compressed || !decompress) {
      buffers.push(cpuBuffer(b, cpu, at, sz, pageSize));
      continue;
    }
    const c = new Bytes(b.buf, b.file, b.littleEndian, 0, 'the file', at);
    const chunks = c.u32(`CPU ${cpu}'s chunk count`);
    const parts: Buffer[] = [];
    for (let k = 0; k < chunks; k++) {
      const start = c.pos;
      const csize = c.u32(`CPU ${cpu}'s chunk ${k} compressed size`);
      const usize = c.u32(`CPU ${cpu}'s chunk ${k} size`);
      parts.push(decompress(c.take(csize, `CPU ${cpu}'s chunk ${k}`), usize, start));
    }
    const data = Buffer.concat(parts);
    if (data.length % pageSize !== 0)
      throw b.fail(
        `CPU ${cpu}'s trace data decompresses to ${data.length} bytes, not a whole number of ${pageSize}-byte pages: the file is damaged`,
        at,
      );
    buffers.push({ cpu, data, fileOffset: at, compressed: true });
  }
  return { buffers, clock };
}
