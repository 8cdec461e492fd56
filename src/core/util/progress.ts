/** How long operations report progress: a step name and, when known, the fraction done (0..1). */
export type Progress = (update: { message: string; fraction?: number }) => void;

export const noProgress: Progress = () => undefined;

/** Times named steps for reports. */
export class StepTimer {
  readonly steps: { step: string; ms: number }[] = [];
  private last = performance.now();
  private readonly start = this.last;

  lap(step: string): void {
    const now = performance.now();
    this.steps.push({ step, ms: Math.round(now - this.last) });
    this.last = now;
  }

  get totalMs(): number {
    return Math.round(performance.now() - this.start);
  }
}
