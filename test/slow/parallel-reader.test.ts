/**
 * The parallel reader with a chunk boundary at (almost) every byte (`npm run test:slow`: hundreds of
 * worker tasks per file; test/parallel-reader.test.ts runs 7-, 9-, 37- and 64-byte chunks and more).
 */
import { describe, expect, it } from 'vitest';
import { readEventBatchesParallel } from '../../src/trace/parallel-reader.js';
import { readEventBatches } from '../../src/trace/reader.js';
import { tmpFile } from '../helpers/cli.js';
import { BAD, all, failure } from '../helpers/parallel.js';

describe('parallel reader, tiny chunks', () => {
  it('src cells (provenance) come through the workers unchanged, 5-byte chunks', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},fork,${i + 1},P${i},${1000 + i}.${String(i).padStart(6, '0')}@L${3 * i + 7}`);
    const f = tmpFile(`time,event,task,mm,src\n${rows.join('\n')}\n`);
    const seq = (await all(readEventBatches(f))) as { src?: string }[];
    expect(seq[199]!.src).toBe('1199.000199@L604');
    expect(await all(readEventBatchesParallel(f, 2, 5))).toStrictEqual(seq);
  });

  for (const [what, text] of BAD) {
    it(`reports the sequential reader's error for ${what}, 1-byte chunks`, async () => {
      const f = tmpFile(text);
      expect(await failure(readEventBatchesParallel(f, 2, 1))).toBe(await failure(readEventBatches(f)));
    });
  }
});
