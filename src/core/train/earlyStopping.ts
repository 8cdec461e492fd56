/** When to stop training between epochs, and which epoch's weights to keep then. */

export interface EpochState {
  epoch: number;
  step: number;
  trainLoss: number;
  heldOutLoss: number | null;
}

export type EarlyStop =
  | {
      /**
       * Epochs without improvement of the held-out loss (else the training loss) before
       * stopping; the weights of the best epoch are then restored.
       */
      patience: number;
      minDelta?: number;
    }
  | ((state: EpochState) => boolean);

/**
 * Applies an EarlyStop rule epoch by epoch. With a patience rule it keeps a copy of the weights
 * of the best epoch so far, for `restoreBest` once training stops.
 */
export class EarlyStopping {
  private best = Infinity;
  private bestParams: Map<string, Float32Array> | null = null;
  private sinceBest = 0;

  constructor(private readonly rule: EarlyStop | undefined) {}

  /** Called after each epoch with the current weights; true when training should stop. */
  shouldStop(state: EpochState, params: ReadonlyMap<string, Float32Array>): boolean {
    const stop = this.rule;
    if (typeof stop === 'function') return stop(state);
    if (!stop) return false;
    const watched = state.heldOutLoss ?? state.trainLoss;
    if (watched < this.best - (stop.minDelta ?? 0)) {
      this.best = watched;
      this.sinceBest = 0;
      this.bestParams = new Map([...params].map(([k, v]) => [k, v.slice()]));
      return false;
    }
    return ++this.sinceBest >= stop.patience;
  }

  /** Writes the best epoch's weights back into `params` (a no-op without a patience rule). */
  restoreBest(params: ReadonlyMap<string, Float32Array>): void {
    if (this.bestParams) for (const [k, v] of this.bestParams) params.get(k)!.set(v);
  }
}
