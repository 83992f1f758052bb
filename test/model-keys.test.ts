/**
 * The SMMU side's encodings (src/model/smmu/keys.ts), pinned by their properties rather than by
 * their values: an address-space id tells an mm (its key, >= 0) from a DMA domain (< 0) and gives the
 * domain id back; the SVA index key of (mm, SMMU) is one-to-one over every mm key and every SMMU
 * index a system may have (0 .. MAX_SMMUS - 1), and -1 (the shared-asid design's one CD per mm).
 */
import { describe, expect, it } from 'vitest';
import { MAX_SMMUS, domainAs, domainIdOf, isDomainAs, svaKey } from '../src/model/smmu/keys.js';

describe('address-space ids', () => {
  it('domain ids 0, 1, 2^20 map to domain ids and back; mm keys 0, 1, 2^20 are not domains', () => {
    for (const id of [0, 1, 2 ** 20]) {
      expect(isDomainAs(domainAs(id))).toBe(true);
      expect(domainIdOf(domainAs(id))).toBe(id);
    }
    for (const mm of [0, 1, 2 ** 20]) expect(isDomainAs(mm)).toBe(false);
    expect(new Set([0, 1, 2].map(domainAs)).size).toBe(3);
  });
});

describe('SVA index keys', () => {
  it('distinct (mm, SMMU) pairs give distinct keys, SMMU -1 .. MAX_SMMUS - 1, mm keys around multiples of 1024', () => {
    const keys = new Map<number, string>();
    const clashes: string[] = [];
    for (const mm of [0, 1, 2, 1022, 1023, 1024, 1025, 2047, 2048, 2049]) {
      for (let smmu = -1; smmu < MAX_SMMUS; smmu++) {
        const k = svaKey(mm, smmu);
        const other = keys.get(k);
        if (other !== undefined || !Number.isSafeInteger(k)) clashes.push(`svaKey(${mm}, ${smmu}) = ${k} (${other ?? 'not an integer'})`);
        keys.set(k, `${mm}, ${smmu}`);
      }
    }
    expect(clashes).toEqual([]);
    expect(keys.size).toBe(10 * (MAX_SMMUS + 1));
  });
});
