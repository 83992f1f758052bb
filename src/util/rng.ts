/**
 * Seeded, deterministic random numbers (pure-rand's xoroshiro128+), for the generator and tests.
 */
import prand from 'pure-rand';

export class Rng {
  private g: prand.RandomGenerator;
  constructor(seed: number) {
    this.g = prand.xoroshiro128plus(seed | 0);
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return prand.unsafeUniformIntDistribution(lo, hi, this.g);
  }
  /** True with probability p (resolution 1e-6). */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
}
