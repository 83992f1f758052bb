/**
 * `replay --perfetto x.json.gz`: gzip of exactly the bytes `--perfetto x.json` writes, in segments
 * (src/report/gzip.ts) that a standard gunzip reads as one stream; the size per event is a figure of
 * the file, not a timing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';
import { GzipSegments, SEGMENT, crc32Js } from '../src/report/gzip.js';
import { isGzipName } from '../src/report/pictures.js';
import { generateToFile } from '../src/generate/generate.js';

/** The gzip file of `chunks` written through GzipSegments (level 1), and the input they make. */
function gzipOf(chunks: Uint8Array[]): { gz: Buffer; input: Buffer } {
  const out: Buffer[] = [];
  const g = new GzipSegments({ write: (c: Uint8Array) => out.push(Buffer.from(c)) }, 1);
  for (const c of chunks) g.write(c);
  g.end();
  return { gz: Buffer.concat(out), input: Buffer.concat(chunks) };
}

/** Pseudo-random bytes, compressible in part (runs of text), the same for the same seed. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = (x >>> 0) % 7 === 0 ? x & 0xff : 97 + (i % 26);
  }
  return b;
}

describe('GzipSegments', () => {
  it('gunzip gives back the input: empty, small, one segment, many', () => {
    for (const size of [0, 1, 1000, SEGMENT - 1, SEGMENT, SEGMENT + 1, 7 * SEGMENT + 12345]) {
      const input = bytes(size, size + 1);
      // written in uneven chunks, as the Perfetto writer hands them over
      const chunks: Uint8Array[] = [];
      for (let i = 0, k = 1; i < size; k++) {
        const n = Math.min(size - i, (k * 7919) % 200_000);
        chunks.push(input.subarray(i, i + n));
        i += n;
      }
      const { gz } = gzipOf(chunks);
      expect(gz.subarray(0, 3), `${size}`).toEqual(Buffer.from([0x1f, 0x8b, 8]));
      expect(gunzipSync(gz).equals(input), `${size} bytes`).toBe(true);
      // the trailer: CRC-32 and the length of the input
      expect(gz.readUInt32LE(gz.length - 8)).toBe(zlib.crc32(input));
      expect(gz.readUInt32LE(gz.length - 4)).toBe(size);
    }
  });

  it('takes a copy: the writer may fill the same chunk again at once (as the Perfetto writer does)', () => {
    const input = bytes(6 * SEGMENT + 777, 11);
    const out: Buffer[] = [];
    const g = new GzipSegments({ write: (c: Uint8Array) => out.push(Buffer.from(c)) }, 1);
    expect(g.consumes).toBe(true);
    const chunk = Buffer.alloc(1 << 16);
    for (let i = 0; i < input.length; i += chunk.length) {
      const n = input.copy(chunk, 0, i, Math.min(input.length, i + chunk.length));
      g.write(chunk.subarray(0, n));
      chunk.fill(0x5a); // what a reused chunk holds next, before its bytes are compressed
    }
    g.end();
    expect(gunzipSync(Buffer.concat(out)).equals(input)).toBe(true);
  });

  it('compresses and writes a segment in write(), once it holds SEGMENT bytes at the end of a chunk (memory stays bounded)', () => {
    const input = bytes(3 * SEGMENT + 4321, 9);
    const out: Buffer[] = [];
    const g = new GzipSegments({ write: (c: Uint8Array) => out.push(Buffer.from(c)) }, 1);
    g.write(input.subarray(0, SEGMENT - 1));
    expect(out.length, 'one byte short: the header only').toBe(1);
    g.write(input.subarray(SEGMENT - 1, SEGMENT));
    expect(out.length, 'the segment, compressed before write() returned').toBe(2);
    expect(inflateRawSync(out[1]!, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(input.subarray(0, SEGMENT))).toBe(true);
    // the rest in the writer's 64 KiB chunks: a segment is cut at the end of the chunk that fills it
    for (let i = SEGMENT; i < input.length; i += 1 << 16) {
      g.write(input.subarray(i, Math.min(input.length, i + (1 << 16))));
      expect(out.length, `after ${i + (1 << 16)} bytes`).toBe(1 + Math.min(3, Math.floor((i + (1 << 16)) / SEGMENT)));
    }
    g.end();
    expect(gunzipSync(Buffer.concat(out)).equals(input)).toBe(true);
  });

  it('the bytes, as RFC 1952 and the segment design make them: header, one raw deflate per segment ending in a sync flush, the final empty block, CRC-32 and length', () => {
    const input = bytes(2 * SEGMENT + 999, 13);
    const cut = [input.subarray(0, SEGMENT), input.subarray(SEGMENT, 2 * SEGMENT), input.subarray(2 * SEGMENT)];
    const sync = { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(zlib.crc32(input), 0);
    trailer.writeUInt32LE(input.length, 4);
    const want = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]),
      ...cut.map((c) => zlib.deflateRawSync(c, sync)),
      zlib.deflateRawSync(Buffer.alloc(0), { level: 1 }),
      trailer,
    ]);
    expect(gzipOf(cut).gz.equals(want)).toBe(true);
    // an input of whole segments ends with no empty segment before the final block
    expect(
      gzipOf(cut.slice(0, 2))
        .gz.subarray(0, -8)
        .equals(
          Buffer.concat([
            want.subarray(0, 10),
            ...cut.slice(0, 2).map((c) => zlib.deflateRawSync(c, sync)),
            zlib.deflateRawSync(Buffer.alloc(0), { level: 1 }),
          ]),
        ),
    ).toBe(true);
    // an empty chunk changes nothing
    expect(gzipOf([cut[0]!, new Uint8Array(0), cut[1]!, cut[2]!]).gz.equals(want)).toBe(true);
  });

  it('the same input, the same bytes (no time in the header)', () => {
    const input = bytes(3 * SEGMENT, 7);
    const a = gzipOf([input]);
    const b = gzipOf([input.subarray(0, 5), input.subarray(5)]);
    expect(a.gz.equals(b.gz)).toBe(true);
  });

  it("the table-driven CRC-32 (for Node before 20.15) is zlib's", () => {
    for (const [n, seed] of [
      [0, 1],
      [1, 2],
      [255, 3],
      [100_000, 4],
    ])
      expect(crc32Js(bytes(n!, seed!))).toBe(zlib.crc32(bytes(n!, seed!)));
    const a = bytes(5000, 9);
    expect(crc32Js(a.subarray(1234), crc32Js(a.subarray(0, 1234)))).toBe(zlib.crc32(a));
  });
});

describe('replay --perfetto x.json.gz', () => {
  it('is gzip of exactly the .json bytes, at most 40 bytes per event on a kernel-build trace', async () => {
    const dir = tmp();
    const trace = join(dir, 'build.csv');
    const events = 30_000;
    await generateToFile('kernel-build', { events, seed: 3, cpus: 8, asidBits: 8, kpti: false }, trace);
    const plain = await cli('replay', trace, '--json', '--perfetto', join(dir, 't.json'));
    const gz = await cli('replay', trace, '--json', '--perfetto', join(dir, 't.json.gz'));
    expect(plain.code, plain.err).toBe(0);
    expect(gz.code, gz.err).toBe(0);
    expect(gz.out).toBe(plain.out);
    const json = readFileSync(join(dir, 't.json'));
    const packed = readFileSync(join(dir, 't.json.gz'));
    expect(gunzipSync(packed).equals(json)).toBe(true);
    expect(json.length).toBeGreaterThan(3 * SEGMENT); // several segments
    expect(packed.length / events).toBeLessThanOrEqual(40);
  });

  it('a trace of the corpus, and .GZ in capitals', async () => {
    const dir = tmp();
    for (const [name, trace] of [
      ['a.json.GZ', 'traces/scenarios/asid-move-race.csv'],
      ['b.json.gz', 'traces/real/juno-trace-txt.csv'],
    ]) {
      const r1 = await cli('replay', trace!, '--perfetto', join(dir, `${name}.plain.json`));
      const r2 = await cli('replay', trace!, '--perfetto', join(dir, name!));
      expect([r1.code, r2.code]).toEqual([0, 0]);
      expect(gunzipSync(readFileSync(join(dir, name!))).equals(readFileSync(join(dir, `${name}.plain.json`)))).toBe(true);
    }
  });

  it('which names are compressed', () => {
    expect(['x.json.gz', 'x.GZ', 'a/b.json.Gz', '.gz'].map(isGzipName)).toEqual([true, true, true, true]);
    expect(['x.json', 'x.gzip', 'x.gz.json', 'x.tgz.', '-'].map(isGzipName)).toEqual([false, false, false, false, false]);
  });

  it('a file that stops taking bytes mid-replay (a size limit: EFBIG) is exit 2 naming it, one line, no file left', () => {
    // The built command line under `ulimit -f` (1 KiB blocks): the worker's writes fail part way,
    // for .gz inside zlib's callbacks (past the first compressed segment), for .json after a batch.
    const dir = tmp();
    for (const name of ['x.json.gz', 'x.json']) {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `ulimit -f 64; exec "${process.execPath}" bin/asid-replay.js replay traces/generated/kernel-build.csv --perfetto "${join(dir, name)}"`,
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(r.status, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim(), name).toBe(
        `asid-replay: ${join(dir, name)}: cannot write the output file: EFBIG: file too large, write (EFBIG)`,
      );
      expect(readdirSync(dir), name).toEqual([]);
    }
  });

  it('an unwritable .gz output is exit 2 before any work', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--perfetto', '/nonexistent-dir/x.json.gz');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write the output file/);
  });
});
