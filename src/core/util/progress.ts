/**
 * How long operations report progress, and the one place that turns those reports into what a
 * person reads (counts, an ETA) at a pace a terminal or a notification can take. The CLI's
 * stepPrinter and VS Code's withCancellableProgress both render through `ProgressPacer`.
 */
import { formatCount as n } from './format';

/** What a long step has done so far, e.g. 120 of 500 probes: shown as "120/500 probes". */
export interface StepCount {
  done: number;
  total: number;
  /** What is counted, plural: "probes", "training steps", "users measured". */
  unit: string;
  /** `total` is a cap the step may stop short of (training until a goal is reached). */
  atMost?: boolean;
}

export interface ProgressUpdate {
  /** The step's name; the same for every report of one step (counts go in `count`). */
  message: string;
  /** The whole operation's fraction done (0..1), when known. */
  fraction?: number;
  count?: StepCount;
  /** What changes within the step besides the count: a loss, the requests spent. */
  detail?: string;
}

export type Progress = (update: ProgressUpdate) => void;

export const noProgress: Progress = () => undefined;

/** A step's count as a progress update field, or none when there is nothing to count. */
export function stepCount(
  done: number,
  total: number,
  unit: string,
  atMost = false,
): StepCount | undefined {
  if (!(total > 0)) return undefined;
  return { done: Math.min(done, total), total, unit, ...(atMost ? { atMost } : {}) };
}

/** An ETA is shown only after this long in a step and this share of its count done. */
const ETA_AFTER_MS = 3000;
const ETA_AFTER_FRACTION = 0.02;

/** "about 40 s left", "about 3 min left": coarse on purpose, a rate estimate is no better. */
export function etaText(remainingMs: number, atMost = false): string {
  const s = remainingMs / 1000;
  if (s < 10) return 'a few seconds left';
  const about = atMost ? 'up to' : 'about';
  if (s < 60) return `${about} ${Math.max(10, Math.round(s / 5) * 5)} s left`;
  const min = s / 60;
  if (min < 90) return `${about} ${Math.round(min)} min left`;
  return `${about} ${Math.round(min / 30) / 2} h left`;
}

/**
 * "Querying top-20: 120/500 probes, 131 of 1,000 requests spent, about 40 s left";
 * "…: 40 of at most 1,500 training steps, loss 0.1234, up to 3 min left".
 */
export function progressLine(update: ProgressUpdate, eta?: string): string {
  const parts: string[] = [];
  const c = update.count;
  if (c) parts.push(`${n(c.done)}${c.atMost ? ' of at most ' : '/'}${n(c.total)} ${c.unit}`);
  if (update.detail) parts.push(update.detail);
  if (eta) parts.push(eta);
  return parts.length > 0 ? `${update.message}: ${parts.join(', ')}` : update.message;
}

/**
 * Paces progress for display: a new step shows at once; reports within a step (counts going
 * up in a tight loop) at most every `intervalMs`, the last of a count always. The ETA comes
 * from the step's own rate since its first report, so a slow earlier step does not skew it.
 */
export class ProgressPacer {
  private step: string | null = null;
  private stepStart = 0;
  private firstDone = 0;
  private lastShown = '';
  private lastAt = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The line to show for this report, or null when it repeats or comes too soon. */
  line(update: ProgressUpdate): string | null {
    const t = this.now();
    const count = update.count;
    if (update.message !== this.step) {
      this.step = update.message;
      this.stepStart = t;
      this.firstDone = count?.done ?? 0;
    } else {
      const finished = count !== undefined && count.done >= count.total;
      if (t - this.lastAt < this.intervalMs && !finished) return null;
    }
    const text = progressLine(update, count ? this.eta(count, t) : undefined);
    if (text === this.lastShown) return null;
    this.lastShown = text;
    this.lastAt = t;
    return text;
  }

  private eta(count: StepCount, t: number): string | undefined {
    const elapsed = t - this.stepStart;
    const progressed = count.done - this.firstDone;
    const left = count.total - count.done;
    if (left <= 0 || progressed <= 0 || elapsed < ETA_AFTER_MS) return undefined;
    if (progressed / (count.total - this.firstDone) < ETA_AFTER_FRACTION) return undefined;
    return etaText((elapsed / progressed) * left, count.atMost);
  }
}

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
