/**
 * Examples to feeds at the fixed training batch shape: the last batch is padded to full size
 * with weight-0 filler rows so every shape stays static, and each loss kind gets its inputs.
 */
import { RecMarkError } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { ortFloatTensor, ortIdTensor, type OrtFeeds } from '../onnx/ort';
import { encodeBatch } from '../onnx/session';
import type { TrainExample } from './examples';
import { EXCLUDED_PENALTY, LOSS_INPUTS, type LossInput, type LossKind } from './losses';

/** Per-position cross-entropy (examples with `targets` or `targetDraws`) reads every position. */
export function needsAllPositions(kind: LossKind, examples: readonly TrainExample[]): boolean {
  return (
    kind === 'cross-entropy' &&
    examples.some((x) => x.targets !== undefined || x.targetDraws !== undefined)
  );
}

/**
 * The graph the batcher feeds when it is not the export as it is: the last-position rewrite of
 * a [batch, T, N] export returns [batch, N] and may read each row's last real position.
 */
export interface FedGraph {
  outputRank: 2 | 3;
  lastPositionInput: string | null;
}

/** Turns examples into feeds at the fixed training batch shape. */
export class Batcher {
  private readonly rank: 2 | 3;
  private readonly lastPositionInput: string | null;
  private readonly perPosition: boolean;
  /** Per-position targets per row (examples with `targetDraws`), else 1. */
  private readonly draws: number;
  private readonly k: number;
  private readonly isItem: Uint8Array;
  private readonly filler: TrainExample;
  /** KL examples carry focus sets: the loss gets its focus term and this batcher feeds its mask. */
  private readonly focused: boolean;
  /** Length every focus set must have (the first example's), and the boundary head once set. */
  private readonly focusLength: number;
  private readonly boundaryHead: number;

  constructor(
    private readonly adapter: Adapter,
    private readonly kind: LossKind,
    readonly batchSize: number,
    examples: readonly TrainExample[],
    private readonly boundary?: { head: number; weight: number },
    graph: FedGraph = { outputRank: adapter.outputRank, lastPositionInput: null },
  ) {
    this.rank = graph.outputRank;
    this.lastPositionInput = graph.lastPositionInput;
    this.perPosition = needsAllPositions(kind, examples);
    this.draws = this.perPosition ? (examples[0].targetDraws?.length ?? 1) : 1;
    this.isItem = new Uint8Array(adapter.scoreWidth);
    for (const id of adapter.itemIds) this.isItem[id] = 1;
    if (this.perPosition && (this.rank !== 3 || adapter.maskId !== null)) {
      throw new RecMarkError(
        'Per-position targets need a model that scores every position ([B, T, W]) without a mask token.',
        'usage',
      );
    }
    this.k = kind === 'margin' ? (examples[0].positives?.length ?? 0) : 0;
    this.focused = kind === 'kl' && examples.some((x) => x.focus !== undefined);
    this.focusLength = examples.find((x) => x.focus)?.focus?.length ?? 0;
    this.boundaryHead = this.boundaryWidth(boundary)?.head ?? 0;
    examples.forEach((x, i) => this.validate(x, i));
    const first = adapter.itemIds[0];
    this.filler = {
      history: examples[0].history,
      target: first,
      targets: examples[0].targets?.map(() => -1),
      targetDraws: examples[0].targetDraws?.map((d) => d.map(() => -1)),
      teacher: new Float32Array(adapter.scoreWidth),
      positives: new Array<number>(this.k).fill(first),
      negatives: new Array<number>(this.k).fill(first),
      weight: 0,
    };
  }

  lossSpec(o: { temperature?: number; margin?: number; focus?: number }) {
    const W = this.adapter.scoreWidth;
    const B = this.batchSize;
    const dims = this.rank === 2 ? [B, W] : [B, this.adapter.seqLen, W];
    const exclude = [...Array(W).keys()].filter((c) => !this.isItem[c]);
    const common = { logits: this.adapter.output, dims, exclude };
    if (this.kind === 'cross-entropy')
      return {
        kind: 'cross-entropy' as const,
        ...common,
        positions: this.perPosition ? ('targets' as const) : ('select' as const),
        draws: this.draws,
      };
    if (this.kind === 'kl')
      return {
        kind: 'kl' as const,
        ...common,
        temperature: o.temperature,
        focus: this.focused ? (o.focus ?? 1) : undefined,
        boundary: this.boundaryWidth(this.boundary),
      };
    return { kind: 'margin' as const, ...common, k: this.k, margin: o.margin };
  }

  /** The boundary hinge's shape: only with focus sets longer than its head. */
  private boundaryWidth(
    b: { head: number; weight: number } | undefined,
  ): { head: number; below: number; weight: number } | undefined {
    if (!b || !this.focused || this.focusLength <= b.head || b.head < 1) return undefined;
    return { ...b, below: this.focusLength - b.head };
  }

  /** Every loss input is one this batcher feeds. */
  check(inputs: LossInput[]): void {
    const fed = new Set(Object.keys(this.feeds([this.filler])));
    for (const i of inputs)
      if (!fed.has(i.name)) throw new Error(`internal: loss input ${i.name} is not fed`);
  }

  validate(x: TrainExample, i: number, label = 'Training example'): void {
    const bad = (what: string): never => {
      throw new RecMarkError(`${label} ${i + 1}: ${what}.`, 'train-bad-example');
    };
    const item = (id: number): boolean =>
      Number.isInteger(id) && id >= 0 && id < this.isItem.length && this.isItem[id] === 1;
    if (x.history.length === 0) bad('the history is empty');
    if (!(Number.isFinite(x.weight ?? 1) && (x.weight ?? 1) >= 0)) bad('the weight must be ≥ 0');
    if (this.kind === 'cross-entropy') {
      if (this.perPosition) {
        const sets = x.targetDraws ?? (this.draws === 1 && x.targets ? [x.targets] : []);
        if (sets.length !== this.draws)
          bad(`every example needs ${this.draws} per-position target draws`);
        for (const set of sets) {
          if (set.length !== x.history.length)
            bad('per-position targets must be as long as the history');
          if (set.some((t) => t !== -1 && !item(t))) bad('a target is not a real item id');
        }
      } else if (x.target === undefined || !item(x.target)) {
        bad(`the target ${x.target} is not a real item id`);
      }
    } else if (this.kind === 'kl') {
      if (!x.teacher || x.teacher.length !== this.adapter.scoreWidth)
        bad(`the teacher scores must have ${this.adapter.scoreWidth} values`);
    } else {
      if (this.k < 1) bad('margin examples need at least one positive');
      if (x.positives?.length !== this.k || x.negatives?.length !== this.k)
        bad(`margin examples need ${this.k} positives and ${this.k} negatives`);
      if (![...x.positives!, ...x.negatives!].every((id) => id >= 0 && id < this.isItem.length))
        bad('a positive or negative id is outside the score columns');
    }
  }

  /** The model's own inputs from `feeds` (for rewrites that probe the forward graph). */
  modelFeeds(feeds: OrtFeeds): OrtFeeds {
    const out: OrtFeeds = { [this.adapter.input]: feeds[this.adapter.input] };
    if (this.adapter.lengthInput) out[this.adapter.lengthInput] = feeds[this.adapter.lengthInput];
    if (this.lastPositionInput) out[this.lastPositionInput] = feeds[this.lastPositionInput];
    return out;
  }

  feeds(batch: readonly TrainExample[]): OrtFeeds {
    const B = this.batchSize;
    const T = this.adapter.seqLen;
    const W = this.adapter.scoreWidth;
    const full = [...batch];
    while (full.length < B) full.push(this.filler);
    const { rows, lengths, lastPositions } = encodeBatch(
      this.adapter,
      full.map((x) => x.history),
    );
    const int = (data: ArrayLike<number>, dims: number[]) =>
      ortIdTensor(this.adapter.inputType, data, dims);
    const i64 = (data: ArrayLike<number>, dims: number[]) => ortIdTensor('int64', data, dims);
    const feeds: OrtFeeds = { [this.adapter.input]: int(rows, [B, T]) };
    if (this.adapter.lengthInput) feeds[this.adapter.lengthInput] = int(lengths, [B]);
    if (this.lastPositionInput) feeds[this.lastPositionInput] = i64(lastPositions, [B]);
    const weights = Float32Array.from(full, (x) => x.weight ?? 1);

    if (this.kind === 'cross-entropy' && this.perPosition) {
      const D = this.draws;
      const targets = new Int32Array(B * T * D);
      const w = new Float32Array(B * T * D);
      full.forEach((x, b) => {
        const kept = Math.min(x.history.length, T);
        const offset = x.history.length - kept;
        const start = this.adapter.padding === 'left' ? T - kept : 0;
        const sets = x.targetDraws ?? [x.targets!];
        for (let j = 0; j < kept; j++)
          for (let d = 0; d < D; d++) {
            const t = sets[d][offset + j];
            if (t < 0) continue;
            targets[(b * T + start + j) * D + d] = t;
            w[(b * T + start + j) * D + d] = weights[b];
          }
      });
      const dims = D === 1 ? [B, T] : [B, T, D];
      feeds[LOSS_INPUTS.targets] = i64(targets, dims);
      feeds[LOSS_INPUTS.weights] = ortFloatTensor(w, dims);
      return feeds;
    }
    feeds[LOSS_INPUTS.weights] = ortFloatTensor(weights, [B]);
    if (this.rank === 3) {
      const onehot = new Float32Array(B * T);
      lastPositions.forEach((p, b) => (onehot[b * T + p] = 1));
      feeds[LOSS_INPUTS.positions] = ortFloatTensor(onehot, [B, T, 1]);
    }
    if (this.kind === 'cross-entropy') {
      feeds[LOSS_INPUTS.targets] = i64(
        full.map((x) => x.target!),
        [B],
      );
    } else if (this.kind === 'kl') {
      const teacher = new Float32Array(B * W);
      full.forEach((x, b) => teacher.set(x.teacher!, b * W));
      feeds[LOSS_INPUTS.teacher] = ortFloatTensor(teacher, [B, W]);
      if (this.focused) {
        const mask = new Float32Array(B * W).fill(EXCLUDED_PENALTY);
        full.forEach((x, b) => {
          for (const c of x.focus ?? this.adapter.itemIds) mask[b * W + c] = 0;
        });
        feeds[LOSS_INPUTS.focus] = ortFloatTensor(mask, [B, W]);
      }
      const h = this.boundaryHead;
      if (h > 0) {
        const L = this.focusLength;
        const ids = full.map((x) => {
          const f = x.focus ?? [];
          if (x.weight !== 0 && f.length !== L)
            throw new RecMarkError(`Every focus set must hold ${L} items.`, 'train-bad-example');
          return f.length === L ? f : new Array<number>(L).fill(this.adapter.itemIds[0]);
        });
        feeds[LOSS_INPUTS.boundaryHead] = i64(
          ids.map((f) => f[h - 1]),
          [B, 1],
        );
        feeds[LOSS_INPUTS.boundaryBelow] = i64(
          ids.flatMap((f) => f.slice(h)),
          [B, L - h],
        );
      }
    } else {
      feeds[LOSS_INPUTS.positives] = i64(
        full.flatMap((x) => [...x.positives!]),
        [B, this.k],
      );
      feeds[LOSS_INPUTS.negatives] = i64(
        full.flatMap((x) => [...x.negatives!]),
        [B, this.k],
      );
    }
    return feeds;
  }
}
