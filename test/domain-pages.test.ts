/**
 * A DMA domain's io-pgtable is kept per 4 KiB page: a map beyond what the model can hold is an input
 * error at its row (never a crash), and an unmap of a huge range over a few mappings stays quick.
 */
import { describe, expect, it } from 'vitest';
import { MAX_DOMAIN_PAGES } from '../src/model/smmu/domains.js';
import { run } from './helpers/mini.js';

const sys = { smmus: [{ name: 'smmu0', asidBits: 16 as const }], devices: [{ name: 'd', smmu: 'smmu0' }] };

describe('DMA-domain page limits', () => {
  it('a map of one page more than the limit is refused naming the row and the size column', () => {
    const pages = (n: number) => `0x${(n * 4096).toString(16)}`;
    expect(() => run(sys, `attach d D\ndmap D 0x0 ${pages(MAX_DOMAIN_PAGES + 1)}`)).toThrow(/at most 8388608 per domain/);
    try {
      run(sys, `attach d D\ndmap D 0x0 ${pages(MAX_DOMAIN_PAGES + 1)}`);
    } catch (e) {
      expect(e).toMatchObject({ row: 2, field: 'size' });
    }
    // The limit counts what the domain already maps.
    expect(() => run(sys, `attach d D\ndmap D 0x0 0x1000\ndmap D 0x10000 ${pages(MAX_DOMAIN_PAGES)}`)).toThrow(/which maps 1/);
  });
  it('an unmap of 2^40 pages over two mappings clears both (and the TLBI names the range)', () => {
    const r = run(
      sys,
      'attach d D\ndmap D 0x1000 0x1000\ndmap D 0x9000 0x1000\ndma d - 0x1000\ndunmap D 0x0 0x10000000000000\ndma d - 0x1000',
    );
    expect(r.devices.smmus[0]!.faults).toBe(1);
    expect(r.stale.total).toBe(0);
  });
});
