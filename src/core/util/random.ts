/** The seed an embed or audit uses when none is given (the `recmark.seed` setting's default). */
export const DEFAULT_SEED = 1;

/** Seeded PRNG (mulberry32) for reproducible sampling; never used to make secrets. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * `n` draws of N(0, std²) by Box–Muller, two per pair of uniform draws (an odd n drops the last
   * pair's second value), u1 floored at 1e-12 so its logarithm is finite: weight initialisers.
   */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(Math.max(this.next(), 1e-12))) * std;
      const a = 2 * Math.PI * this.next();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
    return out;
  }

  /**
   * Standard normal draws one at a time by Box–Muller, u1 = 1 − next() in (0, 1]; the second
   * value of each pair is kept for the next call (weight noise). The two conventions differ
   * only in their streams, which seeded results (fixtures, attacks) depend on.
   */
  normalSource(): () => number {
    let spare: number | null = null;
    return () => {
      if (spare !== null) {
        const z = spare;
        spare = null;
        return z;
      }
      const u1 = 1 - this.next();
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return r * Math.cos(2 * Math.PI * u2);
    };
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
