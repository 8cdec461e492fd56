/**
 * Overwriting (DESIGN.md §6): the thief embeds a watermark of their own, with a fresh random
 * key, into the stolen model — to bury the owner's mark, or to claim the model as theirs. It
 * runs RecMark's own embedding (`embedGrew` / `embedAow`, through their public options only, so
 * it is the embedding a user of this version gets) and then, when the owner's key is given,
 * verifies the owner's watermark on the result.
 *
 * The thief's key never leaves this module: it is not written to any file and the result
 * carries only its key id and the evidence the thief's own audit found.
 */
import * as path from 'node:path';
import type { DataRef } from '../data/interactions';
import { RecMarkError, throwIfAborted } from '../errors';
import type { AuditReport, UtilityRow } from '../report/report';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { usageError } from '../util/validate';
import type { UtilityUsers } from '../utility';
import { embedAow } from '../watermark/aow';
import { embedGrew } from '../watermark/grew';
import type { WatermarkKey } from '../watermark/key';
import { verifyWithKey, type VerifyOptions } from '../watermark/verify';

export type OverwriteScheme = 'grew' | 'aow';

export interface OverwriteOptions {
  model: string;
  out: string;
  /** The thief's scheme. */
  scheme: OverwriteScheme;
  /** The thief's interaction data (GREW probes and utility, AOW utility); optional for both. */
  data?: DataRef;
  seed?: number;
  /** Users the thief's utility is measured on (default: a seeded sample, UTILITY_USERS_DEFAULT). */
  utilityUsers?: UtilityUsers;
  /** The owner's key: verified on the overwritten model when given. */
  ownerKey?: WatermarkKey;
  /** Options of that verification (probes, top-k, null keys, α). */
  verify?: Omit<VerifyOptions, 'model' | 'key' | 'data' | 'seed' | 'signal' | 'progress'>;
  /** Tests inject the thief's secret; a thief always gets a fresh random one. */
  thiefSecret?: Uint8Array;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface OverwriteResult {
  out: string;
  scheme: OverwriteScheme;
  /** The thief's watermark: its key id (never the key) and what the thief's own audit found. */
  thief: { keyId: string; pValueText: string; summary: string };
  /** Utility before/after as the embedding measured it (the thief's view of the cost). */
  utility: UtilityRow[];
  /** Top-10 overlap of the overwritten model with the input. */
  topKOverlap: number;
  /** The owner's watermark on the overwritten model (when the owner's key was given). */
  owner: AuditReport | null;
  timings: { step: string; ms: number }[];
}

export async function overwriteAttack(options: OverwriteOptions): Promise<OverwriteResult> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  if (options.scheme !== 'grew' && options.scheme !== 'aow')
    throw usageError(`The thief's scheme must be grew or aow, got "${String(options.scheme)}".`);
  if (path.resolve(options.out) === path.resolve(options.model)) {
    throw new RecMarkError(
      `Refusing to overwrite the input ${options.model}; choose a new output path.`,
      'usage',
    );
  }
  const thiefProgress: Progress = (u) =>
    progress({ ...u, message: `The thief's ${options.scheme.toUpperCase()}: ${u.message}` });
  const common = {
    model: options.model,
    out: options.out,
    data: options.data,
    seed: options.seed,
    utilityUsers: options.utilityUsers,
    secret: options.thiefSecret,
    signal,
    progress: thiefProgress,
  };
  let thief: OverwriteResult['thief'];
  let utility: UtilityRow[];
  let topKOverlap: number;
  if (options.scheme === 'grew') {
    const r = await embedGrew(common);
    const e = r.evidence;
    thief = {
      keyId: r.key.keyId,
      pValueText: e.pValueText,
      summary: `z_w ${e.z.toFixed(2)} on ${e.probes} ${e.probeSource} probes`,
    };
    utility = r.utility;
    topKOverlap = r.topKOverlap;
  } else {
    const r = await embedAow(common);
    thief = {
      keyId: r.key.keyId,
      pValueText: r.evidence.pValueText,
      summary: `ranks ${r.evidence.ranks.join(', ')} after ${r.training.steps} training steps`,
    };
    utility = r.utility;
    topKOverlap = r.utility.find((u) => u.metric.startsWith('Top-10 overlap'))?.after ?? NaN;
  }
  timer.lap('embed');
  throwIfAborted(signal);

  let owner: AuditReport | null = null;
  if (options.ownerKey) {
    owner = await verifyWithKey({
      ...options.verify,
      model: options.out,
      key: options.ownerKey,
      data: options.data,
      seed: options.seed,
      signal,
      progress: (u) => progress({ ...u, message: `The owner's watermark: ${u.message}` }),
    });
    timer.lap('verify');
  }
  return {
    out: options.out,
    scheme: options.scheme,
    thief,
    utility,
    topKOverlap,
    owner,
    timings: timer.steps,
  };
}
