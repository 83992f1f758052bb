/**
 * Bounds-checked reading of a trace-cmd binary file: every read past the end of the data is an
 * {@link InputError} naming the file, what was being read and the byte offset, so a truncated or
 * damaged `trace.dat` is refused with a message instead of garbage or a stack trace.
 */
import { InputError } from '../../trace/errors.js';

/** A cursor over a byte buffer in the file's endianness. */
export class Bytes {
  pos: number;

  constructor(
    readonly buf: Buffer,
    readonly file: string,
    readonly littleEndian: boolean,
    /** File offset of `buf[0]` (for messages; 0 for the file itself, the section start for a decompressed section). */
    readonly base = 0,
    /** What `buf` is, for messages ("the file", "the decompressed options section"). */
    readonly what = 'the file',
    start = 0,
  ) {
    this.pos = start;
  }

  /** An InputError at the current position. */
  fail(message: string, at = this.pos): InputError {
    const where = this.what === 'the file' ? `byte offset ${this.base + at}` : `byte ${at} of ${this.what} (at file offset ${this.base})`;
    return new InputError(`${message} (${where})`, this.file);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw this.fail(
        `truncated trace-cmd file: ${what} needs ${n} bytes but ${this.what} ends after ${Math.max(0, this.buf.length - this.pos)}`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.littleEndian ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.littleEndian ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 64-bit unsigned integer that must fit a JavaScript number (sizes and offsets). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.littleEndian ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${what} is ${v}, beyond any file size: the file is damaged`);
    this.pos += 8;
    return Number(v);
  }

  /** A NUL-terminated string of at most `max` bytes. */
  cstr(what: string, max = 4096): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0 || end - this.pos > max) {
      throw this.fail(
        end < 0 ? `truncated trace-cmd file: ${what} has no terminating NUL` : `${what} is longer than ${max} bytes: the file is damaged`,
      );
    }
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  take(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
