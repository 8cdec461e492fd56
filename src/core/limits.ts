/**
 * Size limits on what RecMark accepts, in one place. An auditing tool is handed files by people
 * who may not be friendly: a declared dimension of 2^40 or a 10^7-line data file must fail fast
 * with a clear message, not exhaust memory. Each user-facing limit can be raised through an
 * environment variable (README, "CLI"); limits are read at the point of use so a changed
 * environment takes effect at once.
 */
import { RecMarkError } from './errors';

export interface Limits {
  /** The .onnx file plus its external data, in bytes. */
  modelBytes: number;
  /** Score columns (ids, including pad and mask) a model may have. */
  items: number;
  /** Sequence length T a model may declare. */
  seqLen: number;
  /** Probe sequences per verification. */
  probes: number;
  /** Lines in an interaction data file. */
  dataLines: number;
  /** Size of a key file, in bytes. */
  keyBytes: number;
  /** Size of an interaction data file, in bytes. */
  dataBytes: number;
  /** Size of an endpoint profile's id map, in bytes. */
  idMapBytes: number;
  /** Elements one tensor built from a shape (ConstantOfShape, Expand, Tile, ...) may hold. */
  shapeElements: number;
}

const MiB = 1024 * 1024;

/**
 * 2 GiB is the most one ONNX protobuf can hold (and what embedding can write); 10M items keep a
 * key file under 30 MB and a score row under 40 MB; 4,096 positions is 8-20x what sequential
 * recommenders are trained with; 5M interaction lines take about 300 MB as parsed sequences (and
 * 1 GiB of text is 5M lines at 200 bytes each); an id map of 10M items is about 200 MB; 2^28
 * float32 elements (1 GiB) is 25x the score row of the largest catalogue.
 */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  modelBytes: 2048 * MiB,
  items: 10_000_000,
  seqLen: 4096,
  probes: 1_000_000,
  dataLines: 5_000_000,
  keyBytes: 64 * MiB,
  dataBytes: 1024 * MiB,
  idMapBytes: 256 * MiB,
  shapeElements: 2 ** 28,
};

/** The environment variable that overrides each limit, and its unit. */
export const LIMIT_ENV: Record<keyof Limits, { name: string; unit: number }> = {
  modelBytes: { name: 'RECMARK_MAX_MODEL_MB', unit: MiB },
  items: { name: 'RECMARK_MAX_ITEMS', unit: 1 },
  seqLen: { name: 'RECMARK_MAX_SEQ_LEN', unit: 1 },
  probes: { name: 'RECMARK_MAX_PROBES', unit: 1 },
  dataLines: { name: 'RECMARK_MAX_DATA_LINES', unit: 1 },
  keyBytes: { name: 'RECMARK_MAX_KEY_MB', unit: MiB },
  dataBytes: { name: 'RECMARK_MAX_DATA_MB', unit: MiB },
  idMapBytes: { name: 'RECMARK_MAX_ID_MAP_MB', unit: MiB },
  shapeElements: { name: 'RECMARK_MAX_SHAPE_ELEMENTS', unit: 1 },
};

/** A sidecar is a handful of keys; anything bigger is not one. Not user-tunable. */
export const SIDECAR_MAX_BYTES = 1 * MiB;

/** An endpoint profile is a page of JSON; its id map is a separate file. Not user-tunable. */
export const PROFILE_MAX_BYTES = 1 * MiB;

/**
 * Scoring batches are cut so one output tensor stays under this many bytes: at 1M items a
 * [64, T, N] output would otherwise need gigabytes, and a GREW head holds several [batch, N]
 * intermediates. Measured on the 1M-item bench: 256 MiB (batch 64) peaked at 4.9 GB RSS during
 * GREW embed, 64 MiB (batch 16) at 1.9 GB, no slower. Not user-tunable.
 */
export const SCORE_BATCH_BYTES = 64 * MiB;

/** The limits in force: defaults, overridden by RECMARK_MAX_* environment variables. */
export function limits(env: NodeJS.ProcessEnv = process.env): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_ENV) as (keyof Limits)[]) {
    const { name, unit } = LIMIT_ENV[key];
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) {
      throw new RecMarkError(`${name} must be a positive number, got "${text}".`, 'usage');
    }
    out[key] = Math.floor(value * unit);
  }
  return out;
}

/** "raise it with RECMARK_MAX_ITEMS" — the fix every limit error ends with. */
export function raiseHint(key: keyof Limits): string {
  const { name, unit } = LIMIT_ENV[key];
  return `set ${name}${unit === MiB ? ' (in MiB)' : ''} to raise the limit`;
}
