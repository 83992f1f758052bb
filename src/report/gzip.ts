/**
 * A gzip file (RFC 1952) written as the bytes come, compressed in segments, with memory bounded
 * whatever its length: `replay --perfetto x.json.gz`, in the Perfetto worker's thread
 * (perfetto-worker.ts).
 *
 * Why not `zlib.createGzip()`: a gzip stream queues what it has not compressed yet, and the
 * timeline's writer never waits for a stream's `drain` (100 MB more at 10^6 events on a busy
 * machine). Here the input is cut into {@link SEGMENT}-byte segments, each compressed at once, in
 * the writer's thread, as raw deflate ending with a sync flush (no final block: one deflate stream,
 * as pigz writes it); then the final empty block and the trailer (CRC-32 and length of the input).
 * The worker has a thread of its own to wait in: compressing the segments in libuv's thread pool
 * instead (as this class did, four at a time) took as long, and left each segment's output and
 * buffers to a collector that seldom runs in a thread making little garbage: 60 MB of
 * ArrayBuffers waiting to be freed and 200 MB of RSS at 10^7 events, against 145 MB
 * (docs/performance.md).
 *
 * Each segment starts without the previous one's 32 KB window: 1 MB segments lose about 0.5% of the
 * compression.
 */
import * as zlib from 'node:zlib';
import { constants, deflateRawSync, type ZlibOptions } from 'node:zlib';

/** Input bytes per segment. */
export const SEGMENT = 1 << 20;
/** Room past {@link SEGMENT} in a segment's buffer: the chunk that fills it ends there (the writer's are 64 KiB). */
const SLACK = 1 << 17;

/** The gzip header: deflate, no name, no time (the same bytes for the same input), OS unknown. */
const HEADER = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

/** Where bytes go (a Writable, a {@link GzipSegments}, a file descriptor written synchronously). */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
  /** `write` is done with the bytes when it returns: the caller may fill the same buffer again. */
  readonly consumes?: boolean;
}

/** The gzip writer; {@link write} the input, then {@link end} once. */
export class GzipSegments implements ByteSink {
  /** Each chunk is copied into the segment being filled: the writer fills the same chunk again. */
  readonly consumes = true;
  private readonly opts: ZlibOptions;
  /** The segment being filled (input not yet compressed), and how much of it is. */
  private seg: Buffer;
  private partBytes = 0;
  private crc = 0;
  private size = 0;

  /**
   * @param out where the gzip bytes go, in order (not ended here)
   * @param level zlib compression level (1 fastest to 9 smallest)
   */
  constructor(
    private readonly out: ByteSink,
    level: number,
  ) {
    this.opts = { level, finishFlush: constants.Z_SYNC_FLUSH };
    // Stryker disable next-line ArithmeticOperator: equivalent, a buffer too small is replaced by a bigger one (write)
    this.seg = Buffer.allocUnsafe(SEGMENT + SLACK);
    out.write(HEADER);
  }

  /**
   * Take `chunk` (copied: the caller may fill it again). A segment is cut, compressed and written
   * once it holds {@link SEGMENT} bytes or more, at the end of a chunk.
   * @throws the compressor's error, if any.
   */
  write(chunk: Uint8Array): void {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a bigger buffer made for nothing holds the same bytes
    if (this.partBytes + chunk.length > this.seg.length) {
      // a chunk longer than the slack (a line of a huge label): a bigger buffer for this segment
      const bigger = Buffer.allocUnsafe(this.partBytes + chunk.length);
      this.seg.copy(bigger, 0, 0, this.partBytes);
      this.seg = bigger;
    }
    this.seg.set(chunk, this.partBytes);
    this.partBytes += chunk.length;
    if (this.partBytes >= SEGMENT) this.segment();
  }

  /**
   * Compress what is left, write the final block and the trailer.
   * @throws the compressor's error, if any.
   */
  end(): void {
    if (this.partBytes > 0) this.segment();
    // Stryker disable next-line ObjectLiteral: equivalent, the final empty block is 03 00 at any level (Z_FINISH is deflateRawSync's default)
    this.out.write(deflateRawSync(Buffer.alloc(0), { ...this.opts, finishFlush: constants.Z_FINISH }));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.size % 2 ** 32, 4); // ISIZE: the input length modulo 2^32
    this.out.write(trailer);
  }

  /** The segment's bytes, compressed, to the output; the buffer is filled again next. */
  private segment(): void {
    const data = this.seg.subarray(0, this.partBytes);
    this.partBytes = 0;
    this.out.write(deflateRawSync(data, this.opts));
  }
}

/** CRC-32 table (polynomial 0xEDB88320), for a Node 20 before 20.15 (no `zlib.crc32`). */
let table: Int32Array | undefined;

/** `zlib.crc32` (Node 20.15 and later), read from the namespace: a named import of it would not link on an older Node 20. */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * CRC-32 of `data` continuing `value` (zlib's `crc32`): `zlib.crc32` when Node has it, else a
 * table-driven loop (test/perfetto-gzip.test.ts checks that both agree).
 */
export function crc32(data: Uint8Array, value = 0): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: equivalent, both give the same CRC (test/perfetto-gzip.test.ts)
  return typeof zlibCrc32 === 'function' ? zlibCrc32(data, value) : crc32Js(data, value);
}

/** The table-driven CRC-32 (the fallback of {@link crc32}). */
export function crc32Js(data: Uint8Array, value = 0): number {
  // Stryker disable next-line ConditionalExpression: equivalent, the table made again is the same table
  if (!table) {
    table = new Int32Array(256);
    // Stryker disable next-line EqualityOperator: equivalent, table[256] of an Int32Array(256) is not stored
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
