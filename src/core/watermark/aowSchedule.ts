/**
 * When AOW memorisation stops, and how hard each prefix is pushed (issue 18: a fixed step budget
 * made embedding a coin toss). Training runs at least `minSteps`, stops as soon as every prefix
 * ranks its target first, and otherwise goes on only while the ranks keep improving: after
 * `patience` steps without a better ranking it gives up, long before the cap. A prefix still
 * short of rank 1 gets a growing weight (up to `maxBoost`), so one stubborn target that the
 * utility loss keeps pulling back to rank 2 is not out-voted by the prefixes already learnt.
 */

export interface MemorisationPlan {
  minSteps: number;
  patience: number;
  maxBoost: number;
  /** Weight growth per check for a prefix not yet at rank 1. */
  boostGrowth: number;
  /**
   * The least fall in distance (bits: log2 of the ranks, summed) that counts as progress. A rate
   * too small to memorise still nudges ranks (3,605 → 3,604 is 0.0004 bits) and would otherwise
   * keep a hopeless run alive to the cap; 0.1 bits is a 7% better rank of one target.
   */
  minGain: number;
}

export type MemorisationState = 'memorised' | 'improving' | 'stalled';

export class MemorisationTracker {
  /** Per prefix (w1..wi → w(i+1)), the weight its watermark examples train with. */
  readonly boosts: number[];
  private best = Infinity;
  private bestStep = 0;

  constructor(
    prefixes: number,
    private readonly plan: MemorisationPlan,
  ) {
    this.boosts = new Array<number>(prefixes).fill(1);
  }

  /** How far the ranks are from all-first, in bits: 0 when memorised, lower is better. */
  static distance(ranks: readonly number[]): number {
    return ranks.reduce((s, r) => s + Math.log2(r), 0);
  }

  /** Record the ranks measured at `step` (1-based) and say whether to stop. */
  observe(step: number, ranks: readonly number[]): MemorisationState {
    if (ranks.length !== this.boosts.length)
      throw new Error(`expected ${this.boosts.length} ranks, got ${ranks.length}`);
    const distance = MemorisationTracker.distance(ranks);
    if (distance <= this.best - this.plan.minGain) {
      this.best = distance;
      this.bestStep = step;
    }
    ranks.forEach((r, i) => {
      if (r > 1)
        this.boosts[i] = Math.min(this.plan.maxBoost, this.boosts[i] * this.plan.boostGrowth);
    });
    if (distance === 0 && step >= this.plan.minSteps) return 'memorised';
    // The patience clock starts once training may stop at all.
    const since = step - Math.max(this.bestStep, this.plan.minSteps);
    return since >= this.plan.patience ? 'stalled' : 'improving';
  }
}
