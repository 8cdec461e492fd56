/**
 * The bench's model: a SASRec built with the engine's builder (src/core/train/sasrecBuilder.ts)
 * at the size (23,715 items, T = 50, d = 64, 2 blocks), briefly trained on Beauty with
 * test/support/scratch.ts, and written twice with the same weights: the 'last'-position export
 * and the 'all'-position one ([batch, T, N], what a training-time forward returns). Cached under
 * .cache/bench/ keyed by every setting, so only the first run trains.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tensorFloat32 } from '../../../src/core/onnx/graph';
import { graphOf, readModel, writeModel, type onnx } from '../../../src/core/onnx/model';
import { buildSasrec } from '../../../src/core/train/sasrecBuilder';
import { writeWeights } from '../../../src/core/train/weights';
import { trainSasrecFromScratch } from '../../support/scratch';
import { beautySequences } from './beauty';
import { loadText, seconds, type BenchSettings } from './settings';

export interface BenchModel {
  /** The two exports of the same weights. */
  last: string;
  all: string;
  /** Beauty users in the model's index space (what data files and probes are drawn from). */
  sequences: number[][];
  /** Cache key: the file-name stem of everything derived from this model. */
  key: string;
  /** How the cached model was trained (read back from its meta file). */
  trained: string;
}

/** Load (or train and cache) the twins; null when the Beauty data is absent. */
export async function benchModel(s: BenchSettings): Promise<BenchModel | null> {
  const sequences = beautySequences(s.beauty, s.numItems);
  if (!sequences) return null;
  const key =
    `sasrec-beauty-n${s.numItems}-t${s.maxLen}-d${s.hidden}-b${s.blocks}` +
    `-e${s.trainEpochs}-s${s.trainSteps}-f${s.trainFraction}`;
  const last = path.join(s.cacheDir, `${key}-last.onnx`);
  const all = path.join(s.cacheDir, `${key}-all.onnx`);
  const meta = path.join(s.cacheDir, `${key}.json`);
  if (existsSync(last) && existsSync(all) && existsSync(meta)) {
    return { last, all, sequences, key, trained: readFileSync(meta, 'utf8').trim() };
  }
  const shape = {
    numItems: s.numItems,
    hidden: s.hidden,
    blocks: s.blocks,
    heads: 1,
    maxLen: s.maxLen,
  };
  console.log(
    `training ${key} on ${(100 * s.trainFraction).toFixed(0)}% of ${sequences.length.toLocaleString('en-US')} Beauty users ` +
      `(at most ${s.trainEpochs} epochs / ${s.trainSteps} steps; ${loadText()})`,
  );
  const start = performance.now();
  const run = await trainSasrecFromScratch({
    ...shape,
    sequences,
    epochs: s.trainEpochs,
    maxSteps: s.trainSteps,
    fraction: s.trainFraction,
    onEpoch: (e) => console.log(`  epoch ${e} (${seconds(performance.now() - start)})`),
  });
  mkdirSync(s.cacheDir, { recursive: true });
  await writeModel(run.proto, last);
  await writeModel(allTwin(run.proto, shape), all);
  const trained =
    `${run.result.steps} steps in ${seconds(performance.now() - start)} ` +
    `(${run.result.stepsPerSecond.toFixed(2)} steps/s), ${run.examples} windows; ` +
    `test NDCG@10 ${run.test.ndcg.toFixed(4)}, Recall@10 ${run.test.recall.toFixed(4)} on ${run.test.users} users`;
  writeFileSync(meta, `${JSON.stringify(trained)}\n`);
  return { last, all, sequences, key, trained: JSON.stringify(trained) };
}

/** The 'all'-position graph with the trained 'last' model's weights (same initializer names). */
function allTwin(
  trained: onnx.ModelProto,
  shape: Parameters<typeof buildSasrec>[0],
): onnx.ModelProto {
  const params = new Map<string, Float32Array>();
  for (const t of graphOf(trained).initializer as onnx.TensorProto[])
    if (t.dataType === 1) params.set(t.name, tensorFloat32(t));
  return writeWeights(buildSasrec({ ...shape, output: 'all' }), params);
}

/** The float initializers of a model file by name (for the PyTorch twin and FLOP counting). */
export async function floatInitializers(
  file: string,
): Promise<Map<string, { dims: number[]; data: Float32Array }>> {
  const { proto } = await readModel(file);
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of graphOf(proto).initializer as onnx.TensorProto[])
    if (t.dataType === 1)
      out.set(t.name, { dims: (t.dims ?? []).map(Number), data: tensorFloat32(t) });
  return out;
}
