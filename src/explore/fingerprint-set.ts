/** The visited set of the search: 64-bit state fingerprints (see canon.ts). */

/**
 * Open-addressing set of 64-bit fingerprints in one Uint32Array (8 bytes a slot, kept at most half
 * full): about 16 bytes per stored state.
 */
export class FingerprintSet {
  private t: Uint32Array;
  private mask: number;
  /** Fingerprints stored. */
  size = 0;

  constructor(capacity = 1 << 16) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.t = new Uint32Array(c * 2);
    this.mask = c - 1;
  }

  /** Bytes of the table. */
  get bytes(): number {
    return this.t.byteLength;
  }

  /** Add `[hi, lo]`; false if it was already there. */
  add(hi: number, lo: number): boolean {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    return this.insert(hi, lo);
  }

  private insert(hi: number, lo: number): boolean {
    const t = this.t;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const a = t[2 * i]!;
      const b = t[2 * i + 1]!;
      if (a === 0 && b === 0) {
        t[2 * i] = hi;
        t[2 * i + 1] = lo;
        this.size++;
        return true;
      }
      if (a === hi && b === lo) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.t;
    this.t = new Uint32Array(old.length * 2);
    this.mask = this.t.length / 2 - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
  }
}
