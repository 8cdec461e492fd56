/**
 * The robustness sweep (DESIGN.md §6): take a watermarked model and its key, run the attacks a
 * thief might — data-free extraction, fine-tuning on 1/5/10% of users, magnitude pruning, weight
 * noise, int8 quantization, stripping post-processing, overwriting with their own GREW or AOW
 * watermark, and extraction followed by fine-tuning — verify the watermark after each, and return
 * the audit of the model itself with one robustness row per attack. Nothing is embedded for the
 * owner; attacked copies live in a temporary folder that is removed when the sweep ends, however
 * it ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CancelledError, RecMarkError, throwIfAborted } from '../errors';
import { readItemSequences, type DataRef } from '../data/interactions';
import { ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import { robustnessSection } from '../report/figures';
import type { AuditReport, RobustnessRow } from '../report/report';
import { noProgress, type Progress } from '../util/progress';
import { DEFAULT_SEED } from '../util/random';
import {
  checkUtilityUsers,
  measureUtility,
  overlapWith,
  type ModelUtility,
  type UtilityUsers,
} from '../utility';
import type { WatermarkKey } from '../watermark/key';
import { verifyWithKey, type VerifyOptions } from '../watermark/verify';
import { extractModel } from './extraction';
import { finetuneAttack } from './finetune';
import { overwriteAttack, type OverwriteScheme } from './overwrite';
import { noiseAttack, pruneAttack } from './perturb';
import { quantizeAttack } from './quantize';
import { stripAttack } from './strip';

export type AttackKind = RobustnessRow['attack'];

/** Every kind of attack a plan may hold (the CLI's --attacks names), in the default plan's order. */
export const ATTACK_KINDS: readonly AttackKind[] = [
  'extraction',
  'finetune',
  'prune',
  'noise',
  'quantize',
  'strip',
  'overwrite',
  'extract-finetune',
];

export type PlannedAttack =
  | { attack: 'extraction'; sequences: number }
  | { attack: 'finetune'; fraction: number }
  | { attack: 'prune'; fraction: number }
  | { attack: 'noise'; scale: number }
  | { attack: 'quantize' }
  | { attack: 'strip' }
  | { attack: 'overwrite'; scheme: OverwriteScheme }
  | { attack: 'extract-finetune'; sequences: number; fraction: number };

/**
 * The default sweep: the attacks of issue 6 at the strengths owners ask about, then what a thief
 * holding the file also does (issue 14). The stacked row fine-tunes the extraction row's
 * surrogate, so extraction runs once.
 */
export const DEFAULT_PLAN: readonly PlannedAttack[] = [
  { attack: 'extraction', sequences: 3000 },
  { attack: 'finetune', fraction: 0.01 },
  { attack: 'finetune', fraction: 0.05 },
  { attack: 'finetune', fraction: 0.1 },
  { attack: 'prune', fraction: 0.2 },
  { attack: 'prune', fraction: 0.5 },
  { attack: 'prune', fraction: 0.8 },
  { attack: 'noise', scale: 0.1 },
  { attack: 'noise', scale: 0.5 },
  { attack: 'quantize' },
  { attack: 'strip' },
  { attack: 'overwrite', scheme: 'grew' },
  { attack: 'overwrite', scheme: 'aow' },
  { attack: 'extract-finetune', sequences: 3000, fraction: 0.1 },
];

export interface SweepOptions extends Omit<VerifyOptions, 'model' | 'key' | 'progress'> {
  model: string;
  key: WatermarkKey;
  /** Which attacks of the plan to run (default: all). */
  attacks?: readonly AttackKind[];
  plan?: readonly PlannedAttack[];
  /** Extraction surrogate training epochs (default: the extraction module's). */
  extractionEpochs?: number;
  /** Cap on fine-tuning steps per attack (default: one full epoch). */
  finetuneMaxSteps?: number;
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
  progress?: Progress;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const count = (n: number): string => n.toLocaleString('en-US');

function describe(a: PlannedAttack): string {
  switch (a.attack) {
    case 'extraction':
      return `Data-free extraction (${count(a.sequences)} sequences)`;
    case 'finetune':
      return `Fine-tune on ${pct(a.fraction)} of users`;
    case 'prune':
      return `Prune ${pct(a.fraction)} of each weight matrix`;
    case 'noise':
      return `Gaussian noise at ${a.scale} × each weight's std`;
    case 'quantize':
      return 'Int8 weight quantization (per tensor)';
    case 'strip':
      return 'Strip post-processing after the scoring layer';
    case 'overwrite':
      return `Overwrite with the thief's own ${a.scheme.toUpperCase()} watermark`;
    case 'extract-finetune':
      return `Extraction (${count(a.sequences)} sequences), then fine-tune on ${pct(a.fraction)} of users`;
  }
}

/** Surrogates extracted during this sweep, by sequence count, for the stacked rows. */
type Surrogates = Map<number, { file: string; setting: string }>;

/** Run one attack into `out`; returns the setting text for the report (and a note, if any). */
async function runAttack(
  a: PlannedAttack,
  out: string,
  options: SweepOptions,
  progress: Progress,
  surrogates: Surrogates,
): Promise<{ setting: string; note?: string }> {
  const { model, data, seed, signal } = options;
  const extract = async (sequences: number, file: string): Promise<string> => {
    const r = await extractModel({
      model,
      out: file,
      sequences,
      epochs: options.extractionEpochs,
      seed,
      signal,
      progress,
    });
    const setting = `${count(r.queries.total)} queries (top-${r.queries.topK}), ${r.training.steps} training steps`;
    surrogates.set(sequences, { file, setting });
    return setting;
  };
  const finetune = async (from: string, fraction: number) => {
    if (!data) throw new RecMarkError('Fine-tuning needs interaction data (--data).', 'usage');
    const r = await finetuneAttack({
      model: from,
      data,
      out,
      fraction,
      seed,
      maxSteps: options.finetuneMaxSteps,
      utilityUsers: options.utilityUsers,
      signal,
      progress,
    });
    return `${r.users.finetuned} users, ${count(r.examples)} examples, ${r.steps} steps`;
  };
  switch (a.attack) {
    case 'extraction':
      // Kept (not under `out`) while a stacked row may still fine-tune it.
      return { setting: await extract(a.sequences, `${out}.surrogate.onnx`) };
    case 'finetune':
      return { setting: await finetune(model, a.fraction) };
    case 'extract-finetune': {
      if (!data) throw new RecMarkError('Fine-tuning needs interaction data (--data).', 'usage');
      const earlier = surrogates.get(a.sequences);
      const surrogate = earlier?.file ?? `${out}.surrogate.onnx`;
      const extracted = earlier
        ? 'the extraction row’s surrogate'
        : await extract(a.sequences, surrogate);
      return { setting: `${extracted}; then ${await finetune(surrogate, a.fraction)}` };
    }
    case 'prune': {
      const r = await pruneAttack({ model, out, fraction: a.fraction, seed, signal, progress });
      return { setting: `${count(r.changed)} of ${count(r.parameters)} weights zeroed` };
    }
    case 'noise': {
      const r = await noiseAttack({ model, out, scale: a.scale, seed, signal, progress });
      return { setting: `${r.tensors} tensors, seed ${r.seed}` };
    }
    case 'quantize': {
      const r = await quantizeAttack({ model, out, seed, signal, progress });
      return {
        setting: `${r.tensors} tensors, ${count(r.parameters)} weights; max error ${r.maxAbsChange.toPrecision(2)}`,
      };
    }
    case 'strip': {
      const r = await stripAttack({ model, out, seed, signal, progress });
      const ops = Object.keys(r.removed.opTypes);
      const setting =
        r.removed.nodes === 0
          ? 'nothing to remove: the output is the scoring layer'
          : `${r.removed.nodes} nodes removed (${ops.slice(0, 4).join(', ')}${ops.length > 4 ? ', …' : ''})`;
      return { setting, note: r.grewServeHead ? r.note : undefined };
    }
    case 'overwrite': {
      const r = await overwriteAttack({
        model,
        out,
        scheme: a.scheme,
        data,
        seed,
        signal,
        progress,
      });
      return {
        setting: `thief's key ${r.thief.keyId}: ${r.thief.summary}, p = ${r.thief.pValueText}`,
      };
    }
  }
}

/** Headline number of a verification: AOW Recall@10, GREW z_w. */
function headline(report: AuditReport): RobustnessRow['metric'] {
  if (report.aow) return { name: 'Recall@10', value: report.aow.recall['10'] ?? 0 };
  return { name: 'z_w', value: report.grew?.z ?? 0 };
}

/** Top-10 lists and NDCG@10 of a model, for comparing attacked copies with the original. */
class Reference {
  private constructor(
    private readonly sequences: number[][] | null,
    private readonly measured: ModelUtility,
    private readonly users: UtilityUsers | undefined,
  ) {}

  get ndcg(): number | undefined {
    return this.measured.loo?.[0].ndcg;
  }

  static async of(
    model: string,
    data: DataRef | undefined,
    seed: number,
    users: UtilityUsers | undefined,
    signal: AbortSignal | undefined,
    progress: Progress,
  ): Promise<Reference> {
    const { adapter } = await openModel(model);
    const session = await ScoringSession.open(model, adapter);
    try {
      const sequences = data ? await readItemSequences(data, adapter, signal, progress) : null;
      const step = 'Measuring utility for the comparisons';
      progress({ message: step });
      const measured = await measureUtility(session, sequences, {
        ks: [10],
        sample: { count: 500, seed },
        users,
        signal,
        progress,
        step,
      });
      return new Reference(sequences, measured, users);
    } finally {
      await session.release();
    }
  }

  async compare(
    model: string,
    signal: AbortSignal | undefined,
    progress: Progress,
  ): Promise<{ fidelity: number; ndcg?: number }> {
    const { adapter } = await openModel(model);
    const session = await ScoringSession.open(model, adapter);
    try {
      const step = 'Measuring utility against the original';
      progress({ message: step });
      const copy = await measureUtility(session, this.sequences, {
        ks: [10],
        probes: this.measured.probes,
        users: this.users,
        signal,
        progress,
        step,
      });
      return { fidelity: overlapWith(this.measured, copy), ndcg: copy.loo?.[0].ndcg };
    } finally {
      await session.release();
    }
  }
}

export async function robustnessSweep(options: SweepOptions): Promise<AuditReport> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const seed = options.seed ?? DEFAULT_SEED;
  const plan = (options.plan ?? DEFAULT_PLAN).filter(
    (a) => !options.attacks || options.attacks.includes(a.attack),
  );
  if (plan.length === 0) throw new RecMarkError('The sweep has no attack to run.', 'usage');
  checkUtilityUsers(options.utilityUsers);
  const steps = plan.length + 1;
  const stepProgress =
    (i: number, prefix: string): Progress =>
    (u) =>
      progress({
        ...u,
        message: `${prefix}: ${u.message}`,
        fraction: (i + (u.fraction ?? 0)) / steps,
      });
  const verify = (model: string, i: number, prefix: string) =>
    verifyWithKey({ ...options, model, progress: stepProgress(i, prefix) });

  const base = await verify(options.model, 0, 'The watermarked model');
  const reference = await Reference.of(
    options.model,
    options.data,
    seed,
    options.utilityUsers,
    signal,
    stepProgress(0, 'The watermarked model'),
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'recmark-sweep-'));
  const rows: RobustnessRow[] = [];
  const surrogates: Surrogates = new Map();
  try {
    for (const [i, a] of plan.entries()) {
      throwIfAborted(signal);
      const label = describe(a);
      const prefix = `${i + 1}/${plan.length} ${label}`;
      const out = path.join(dir, `attack-${i}.onnx`);
      const started = performance.now();
      try {
        const { setting, note } = await runAttack(
          a,
          out,
          options,
          stepProgress(i + 1, prefix),
          surrogates,
        );
        // An extraction row is verified on its surrogate.
        const attacked = a.attack === 'extraction' ? surrogates.get(a.sequences)!.file : out;
        const report = await verify(attacked, i + 1, prefix);
        const compared = await reference.compare(attacked, signal, stepProgress(i + 1, prefix));
        rows.push({
          attack: a.attack,
          label,
          setting,
          ...(note ? { note } : {}),
          verdict: report.verdict,
          pValue: report.pValue,
          log10PValue: report.log10PValue,
          pValueText: report.pValueText,
          metric: headline(report),
          fidelity: compared.fidelity,
          ndcg: compared.ndcg,
          ms: Math.round(performance.now() - started),
        });
      } catch (err) {
        // One attack that cannot run (no data for fine-tuning, say) does not sink the sweep.
        if (err instanceof CancelledError || !(err instanceof RecMarkError)) throw err;
        rows.push({
          attack: a.attack,
          label,
          setting: '—',
          verdict: 'absent',
          pValue: 1,
          log10PValue: 0,
          pValueText: '—',
          error: err.message,
          ms: Math.round(performance.now() - started),
        });
      } finally {
        await rm(out, { force: true });
        // A surrogate no later stacked row fine-tunes is not kept.
        for (const [sequences, { file }] of surrogates) {
          const later = plan
            .slice(i + 1)
            .some((b) => b.attack === 'extract-finetune' && b.sequences === sequences);
          if (!later) {
            await rm(file, { force: true });
            surrogates.delete(sequences);
          }
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  progress({ message: 'Done', fraction: 1 });
  return { ...base, robustness: robustnessSection(rows, base.alpha, reference.ndcg) };
}
