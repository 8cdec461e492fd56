/**
 * Learning-rate schedules for the trainer's `lrAt`. Fine-tuning a trained model at full rate from
 * the first step moves it furthest while Adam's moment estimates are still noise; a short linear
 * warm-up avoids that kick, and a cosine decay lets the last steps settle instead of oscillate.
 */

export interface WarmupCosine {
  /** The rate after warm-up. */
  peak: number;
  /** Steps of linear warm-up from peak/warmup to peak. */
  warmup: number;
  /** The step at which the decay reaches `floor`·peak (the step budget). */
  horizon: number;
  /** Share of the peak kept at the end of the decay (default 0.1). */
  floor?: number;
}

/** lr at step n (1-based): linear warm-up, then cosine decay to floor·peak at `horizon`, then flat. */
export function warmupCosine({ peak, warmup, horizon, floor = 0.1 }: WarmupCosine) {
  return (step: number): number => {
    if (step <= warmup) return (peak * step) / warmup;
    const progress = Math.min(1, (step - warmup) / Math.max(1, horizon - warmup));
    return peak * (floor + ((1 - floor) * (1 + Math.cos(Math.PI * progress))) / 2);
  };
}
