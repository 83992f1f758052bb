/**
 * The parallel reader gives the sequential reader's events (same rows, same values) and the same
 * first error, wherever the chunk boundaries fall. Tiny chunks put a boundary in almost every line.
 */
import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/replay/engine.js';
import { readEventBatchesParallel } from '../src/trace/parallel-reader.js';
import { readEventBatches } from '../src/trace/reader.js';
import { tmpFile } from './helpers/cli.js';
import { BAD, all, failure } from './helpers/parallel.js';

const TRACE = [
  '\uFEFF# system: {"cpus": 2}',
  '# a comment',
  '',
  'time,event,cpu,task,mm,va,size,prot',
  '1,fork,,1,P,,,',
  '# mid-trace comment',
  '2,"schedule",0,1,,,,',
  '',
  '3,map,,,P,0x1000,0x2000,r',
  '3,access,1,,,4096,,',
  '4,unmap,,,"P",0x1000,4096,',
  ' 5 , exit ,, 1 ,,,,',
].join('\n');

describe('parallel reader', () => {
  for (const eol of ['\n', '\r\n']) {
    for (const chunk of [1, 7, 40, 1 << 20]) {
      it(`same events as the sequential reader (${JSON.stringify(eol)}, ${chunk}-byte chunks)`, async () => {
        const f = tmpFile(TRACE.replaceAll('\n', eol) + eol);
        const seq = await all(readEventBatches(f));
        expect(seq).toHaveLength(6);
        expect(await all(readEventBatchesParallel(f, 2, chunk))).toStrictEqual(seq);
      });
    }
  }

  it('src cells (provenance) come through the workers unchanged (5-byte chunks: test/slow/)', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},fork,${i + 1},P${i},${1000 + i}.${String(i).padStart(6, '0')}@L${3 * i + 7}`);
    const f = tmpFile(`time,event,task,mm,src\n${rows.join('\n')}\n`);
    const seq = (await all(readEventBatches(f))) as { src?: string }[];
    expect(seq[199]!.src).toBe('1199.000199@L604');
    // 37 bytes: about a line, so the boundaries move through every cell of the rows.
    for (const chunk of [37, 300, 1 << 20]) expect(await all(readEventBatchesParallel(f, 2, chunk))).toStrictEqual(seq);
  });

  it('a file with CR line ends is read sequentially, with the same events', async () => {
    const f = tmpFile(TRACE.replaceAll('\n', '\r'));
    expect(await all(readEventBatchesParallel(f, 2, 16))).toStrictEqual(await all(readEventBatches(f)));
  });

  it('a lone CR in a comment before the header (csv-parse counts it as a line): same rows, none lost', async () => {
    // The data used to start after as many '\n' as the header's line number: one row too late.
    const f = tmpFile('# x\n# a\rb\nevent,task\nfork,1\nexit,1\n');
    const seq = await all(readEventBatches(f));
    expect(seq).toHaveLength(2);
    for (const chunk of [4, 64]) expect(await all(readEventBatchesParallel(f, 2, chunk))).toStrictEqual(seq);
  });

  it('a CR inside a data row (csv-parse counts it as a line): the rows after it keep their numbers', async () => {
    // The chunks' line counts were counts of '\n': every row after the CR was one line early.
    const f = tmpFile('event,task\nfork,1\r\nfork,2\nfork,3\nfork,4\n');
    const seq = await all(readEventBatches(f));
    expect((seq as { row: number }[]).map((e) => e.row)).toEqual([3, 4, 5, 6]);
    for (const chunk of [8, 64]) expect(await all(readEventBatchesParallel(f, 2, chunk))).toStrictEqual(seq);
  });

  it('a header-only trace has no events', async () => {
    expect(await all(readEventBatchesParallel(tmpFile('event,task\n'), 2, 4))).toEqual([]);
  });

  for (const [what, text] of BAD) {
    it(`reports the sequential reader's error for ${what} (1-byte chunks: test/slow/)`, async () => {
      const f = tmpFile(text);
      const expected = await failure(readEventBatches(f));
      for (const chunk of [9, 64]) expect(await failure(readEventBatchesParallel(f, 2, chunk))).toBe(expected);
    });
  }

  it('stopping early shuts the workers down', async () => {
    const f = tmpFile(`event,task\n${Array.from({ length: 2000 }, (_, i) => `fork,${i + 1}`).join('\n')}\n`);
    for await (const b of readEventBatchesParallel(f, 2, 256)) {
      expect(b.length).toBeGreaterThan(0);
      break;
    }
  });

  it('replay gives the same report with and without parser threads', async () => {
    for (const f of ['traces/generated/mixed.csv', 'traces/generated/sva-btm.csv', 'traces/real/juno-trace-txt-sva.csv']) {
      const seq = await replayFile(f, { parseThreads: 0 });
      expect(seq.trace.events).toBeGreaterThan(1000);
      expect(await replayFile(f, { parseThreads: 2, chunkBytes: 4096 })).toStrictEqual(seq);
    }
  });
});
