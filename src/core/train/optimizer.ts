/**
 * AdamW (Loshchilov & Hutter) over Float32Arrays, matching torch.optim.AdamW: decoupled weight
 * decay θ ← θ·(1 − lr·λ), then the bias-corrected Adam step. Gradients are first clipped to a
 * global L2 norm, as torch.nn.utils.clip_grad_norm_ does (scale = clip / (norm + 1e-6) when the
 * norm exceeds clip).
 */

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global gradient-norm clip; 0 or Infinity disables it. */
  clip?: number;
  /** Which parameters get weight decay (default: all). */
  decay?: (name: string) => boolean;
}

export const ADAMW_DEFAULTS = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  clip: 1.0,
};

export interface StepInfo {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Factor the gradients were scaled by (1 when not clipped). */
  scale: number;
}

export class AdamW {
  readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly clip: number;
  private readonly decay: (name: string) => boolean;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  /** `params` are updated in place by `step`. */
  constructor(
    readonly params: Map<string, Float32Array>,
    options: AdamWOptions = {},
  ) {
    const o = { ...ADAMW_DEFAULTS, ...options };
    for (const [key, value] of Object.entries({
      lr: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
    })) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`AdamW: bad ${key} ${value}`);
    }
    if (o.beta1 >= 1 || o.beta2 >= 1) throw new RangeError('AdamW: betas must be below 1');
    this.lr = o.lr;
    this.beta1 = o.beta1;
    this.beta2 = o.beta2;
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    this.clip = o.clip > 0 ? o.clip : Infinity;
    this.decay = options.decay ?? (() => true);
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  get steps(): number {
    return this.t;
  }

  /** One update from `grads` (same names and sizes as the parameters; missing = zero). */
  step(grads: Map<string, ArrayLike<number>>, lr = this.lr): StepInfo {
    let sq = 0;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`AdamW: gradient for unknown parameter "${name}"`);
      if (g.length !== p.length)
        throw new Error(
          `AdamW: gradient of "${name}" has ${g.length} values, expected ${p.length}`,
        );
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    }
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) throw new Error('AdamW: gradient is not finite');
    const scale = gradNorm > this.clip ? this.clip / (gradNorm + 1e-6) : 1;
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this;
    const bc1 = 1 - b1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.t);
    const stepSize = lr / bc1;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const keep = this.decay(name) ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g ? g[i] * scale : 0;
        const mi = b1 * m[i] + (1 - b1) * gi;
        const vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
      }
    }
    return { gradNorm, scale };
  }
}
