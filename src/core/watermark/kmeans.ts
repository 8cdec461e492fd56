/**
 * Spherical k-means (cosine similarity) on item embeddings. Assignment — the N×d by d×C product —
 * runs in onnxruntime, chunked, so a million items stay fast; updates use flat typed arrays.
 */
import { throwIfAborted } from '../errors';
import { makeAttr } from '../onnx/attributes';
import { onnx, encodeModel } from '../onnx/model';
import { createSession, ortFloatTensor, runSession } from '../onnx/ort';
import { Rng } from '../util/random';

export interface KMeansOptions {
  clusters: number;
  seed: number;
  maxIterations?: number;
  /** Stop when fewer than this fraction of points change cluster. */
  tolerance?: number;
  /** k-means++ runs on a sample of this many points (the full set when smaller). */
  initSample?: number;
  signal?: AbortSignal;
  onProgress?: (iteration: number, changed: number) => void;
}

export interface KMeansResult {
  assignment: Uint16Array;
  centroids: Float32Array;
  iterations: number;
}

const CHUNK_ROWS = 65_536;

/** Iterations when not told otherwise: a cap, most runs stop earlier at the tolerance. */
export const KMEANS_MAX_ITERATIONS = 25;

/** Unit-normalise rows in place (zero rows stay zero). */
export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < x.length / dim; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[r * dim + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) x[r * dim + d] *= inv;
  }
  return x;
}

/** ONNX graph: X [n, d] · C [d, k] -> best cluster [n] and its similarity [n]. */
function assignmentGraph(): Uint8Array {
  const { DataType } = onnx.TensorProto;
  const tensor = (name: string, type: number, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: type,
          shape: {
            dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
          },
        },
      },
    });
  return encodeModel(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'kmeans_assign',
        node: [
          { opType: 'MatMul', input: ['X', 'C'], output: ['S'] },
          {
            opType: 'ArgMax',
            input: ['S'],
            output: ['best'],
            attribute: [makeAttr('axis', 1), makeAttr('keepdims', 0)],
          },
          {
            opType: 'ReduceMax',
            input: ['S'],
            output: ['sim'],
            attribute: [makeAttr('axes', [1]), makeAttr('keepdims', 0)],
          },
        ],
        input: [tensor('X', DataType.FLOAT, ['n', 'd']), tensor('C', DataType.FLOAT, ['d', 'k'])],
        output: [tensor('best', DataType.INT64, ['n']), tensor('sim', DataType.FLOAT, ['n'])],
      },
    }),
  );
}

/** k-means++ on a sample: each next centre drawn with probability ∝ (1 − best cosine). */
function initCentroids(
  x: Float32Array,
  n: number,
  dim: number,
  k: number,
  rng: Rng,
  sampleSize: number,
): Float32Array {
  const sample =
    n <= sampleSize
      ? Array.from({ length: n }, (_, i) => i)
      : rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, sampleSize);
  const centroids = new Float32Array(k * dim);
  const dist = new Float64Array(sample.length).fill(Infinity);
  let chosen = sample[rng.int(sample.length)];
  for (let c = 0; c < k; c++) {
    centroids.set(x.subarray(chosen * dim, (chosen + 1) * dim), c * dim);
    let total = 0;
    for (let s = 0; s < sample.length; s++) {
      const row = sample[s] * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += x[row + d] * centroids[c * dim + d];
      const dd = Math.max(0, 1 - dot);
      if (dd < dist[s]) dist[s] = dd;
      total += dist[s];
    }
    if (c === k - 1) break;
    let target = rng.next() * total;
    let pick = sample.length - 1;
    for (let s = 0; s < sample.length; s++) {
      target -= dist[s];
      if (target <= 0) {
        pick = s;
        break;
      }
    }
    chosen = sample[total > 0 ? pick : rng.int(sample.length)];
  }
  return centroids;
}

/**
 * Cluster n unit rows of x (n × dim, row-major) into k clusters by cosine similarity.
 * Deterministic for a given seed.
 */
export async function sphericalKMeans(
  x: Float32Array,
  dim: number,
  options: KMeansOptions,
): Promise<KMeansResult> {
  const n = x.length / dim;
  const k = Math.max(1, Math.min(options.clusters, n));
  const rng = new Rng(options.seed);
  const maxIterations = options.maxIterations ?? KMEANS_MAX_ITERATIONS;
  const tolerance = options.tolerance ?? 1e-3;
  const session = await createSession(assignmentGraph());
  let centroids = initCentroids(x, n, dim, k, rng, options.initSample ?? 20_000);
  const assignment = new Uint16Array(n).fill(0xffff);
  const similarity = new Float32Array(n);
  let iterations = 0;
  try {
    for (let iter = 0; iter < maxIterations; iter++) {
      throwIfAborted(options.signal);
      iterations = iter + 1;
      // Transpose centroids to [dim, k] for X · C.
      const ct = new Float32Array(dim * k);
      for (let c = 0; c < k; c++)
        for (let d = 0; d < dim; d++) ct[d * k + c] = centroids[c * dim + d];
      const cTensor = ortFloatTensor(ct, [dim, k]);
      let changed = 0;
      for (let start = 0; start < n; start += CHUNK_ROWS) {
        const rows = Math.min(CHUNK_ROWS, n - start);
        const out = await runSession(session, {
          X: ortFloatTensor(x.subarray(start * dim, (start + rows) * dim), [rows, dim]),
          C: cTensor,
        });
        const best = out.best.data as BigInt64Array;
        const sim = out.sim.data as Float32Array;
        for (let r = 0; r < rows; r++) {
          const c = Number(best[r]);
          if (assignment[start + r] !== c) changed++;
          assignment[start + r] = c;
          similarity[start + r] = sim[r];
        }
        throwIfAborted(options.signal);
      }
      options.onProgress?.(iterations, changed);
      // Update: mean direction of each cluster; an empty cluster takes the worst-fitting point.
      const sums = new Float64Array(k * dim);
      const counts = new Uint32Array(k);
      for (let i = 0; i < n; i++) {
        const c = assignment[i];
        counts[c]++;
        for (let d = 0; d < dim; d++) sums[c * dim + d] += x[i * dim + d];
      }
      const next = new Float32Array(k * dim);
      for (let c = 0; c < k; c++) {
        if (counts[c] === 0) {
          let worst = 0;
          for (let i = 1; i < n; i++) if (similarity[i] < similarity[worst]) worst = i;
          similarity[worst] = Infinity;
          next.set(x.subarray(worst * dim, (worst + 1) * dim), c * dim);
          continue;
        }
        for (let d = 0; d < dim; d++) next[c * dim + d] = sums[c * dim + d];
      }
      centroids = normalizeRows(next, dim);
      if (iter > 0 && changed <= tolerance * n) break;
    }
  } finally {
    await session.release();
  }
  return { assignment, centroids, iterations };
}
