/**
 * GREW verification statistics (DESIGN.md §4): green hits in top-k lists, the classic z
 * (Kirchenbauer et al.), the popularity-aware z_w under the stratified split, and a null
 * distribution from random re-partitions of the same clusters.
 */
import { normalSf, oneProportionZ, type PValue } from '../stats/tests';
import { Rng } from '../util/random';
import { NOT_AN_ITEM } from './key';

export interface GrewPartitionView {
  gamma: number;
  clusters: Uint16Array;
  green: Uint8Array;
  numClusters: number;
}

export interface GrewStatistics {
  probes: number;
  topK: number;
  /** Hits on catalogued items (T = Q·k less any item the key does not know). */
  trials: number;
  greenHits: number;
  gamma: number;
  /** Classic one-proportion z (treats all hits as independent). */
  zClassic: number;
  /** Popularity-aware z under H0 with the stratified split. */
  z: number;
  expectedHits: number;
  sdHits: number;
  /** z of G against the null-key distribution. */
  zNull: number;
  pEmpirical: number;
  nullKeys: number;
  /** The verdict statistic: the more conservative of z and zNull. */
  zDecision: number;
  pValue: PValue;
  pValueClassic: PValue;
  /** Chart data. */
  perProbeGreen: number[];
  greenRateByRank: number[];
  nullGreenHits: number[];
  /** Per-probe green counts of the first few null keys, pooled (for the histogram). */
  nullPerProbeGreen: number[];
  distinctItems: number;
}

export function grewStatistics(
  lists: readonly Int32Array[],
  key: GrewPartitionView,
  options: { topK: number; nullKeys: number; seed: number },
): GrewStatistics {
  const { clusters, green, gamma } = key;
  const k = options.topK;
  const counts = new Map<number, number>();
  const perProbeGreen: number[] = [];
  const greenByRank = new Float64Array(k);
  const rankTrials = new Float64Array(k);
  let greenHits = 0;
  let trials = 0;
  for (const list of lists) {
    let g = 0;
    for (let r = 0; r < Math.min(k, list.length); r++) {
      const id = list[r];
      if (id < 0 || id >= clusters.length || clusters[id] === NOT_AN_ITEM) continue;
      trials++;
      rankTrials[r]++;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (green[id]) {
        g++;
        greenByRank[r]++;
      }
    }
    greenHits += g;
    perProbeGreen.push(g);
  }

  // Cluster sizes and green fractions over the whole catalogue.
  const size = new Float64Array(key.numClusters);
  const greenCount = new Float64Array(key.numClusters);
  clusters.forEach((c, id) => {
    if (c === NOT_AN_ITEM) return;
    size[c]++;
    greenCount[c] += green[id];
  });
  const s1 = new Float64Array(key.numClusters);
  const s2 = new Float64Array(key.numClusters);
  const byCluster = new Map<number, number[]>();
  for (const [id, c] of counts) {
    const j = clusters[id];
    s1[j] += c;
    s2[j] += c * c;
    const list = byCluster.get(j) ?? [];
    list.push(id);
    byCluster.set(j, list);
  }
  let mean = 0;
  let variance = 0;
  for (let j = 0; j < key.numClusters; j++) {
    if (size[j] === 0) continue;
    const p = greenCount[j] / size[j];
    mean += p * s1[j];
    if (size[j] > 1)
      variance += p * (1 - p) * (size[j] / (size[j] - 1)) * (s2[j] - (s1[j] * s1[j]) / size[j]);
  }
  const sd = Math.sqrt(Math.max(variance, 0));
  const z = sd > 0 ? (greenHits - mean) / sd : 0;

  // Null keys: each cluster keeps its green count, members drawn uniformly (what a random key
  // does). Only items that appear matter, drawn sequentially so the subset is exactly uniform.
  const rng = new Rng(options.seed);
  const nullGreenHits: number[] = [];
  const nullPerProbeGreen: number[] = [];
  for (let m = 0; m < options.nullKeys; m++) {
    let g = 0;
    const nullGreen = m < 5 ? new Set<number>() : null;
    for (const [j, ids] of byCluster) {
      let remainingGreen = greenCount[j];
      let remaining = size[j];
      for (const id of ids) {
        const isGreen = rng.next() * remaining < remainingGreen;
        remaining--;
        if (isGreen) {
          remainingGreen--;
          g += counts.get(id)!;
          nullGreen?.add(id);
        }
      }
    }
    nullGreenHits.push(g);
    if (nullGreen) {
      for (const list of lists) {
        let c = 0;
        for (let r = 0; r < Math.min(k, list.length); r++) if (nullGreen.has(list[r])) c++;
        nullPerProbeGreen.push(c);
      }
    }
  }
  const nullMean = nullGreenHits.reduce((a, b) => a + b, 0) / Math.max(1, nullGreenHits.length);
  const nullSd = Math.sqrt(
    nullGreenHits.reduce((a, b) => a + (b - nullMean) ** 2, 0) /
      Math.max(1, nullGreenHits.length - 1),
  );
  const zNull = nullGreenHits.length > 1 && nullSd > 0 ? (greenHits - nullMean) / nullSd : z;
  const pEmpirical =
    (1 + nullGreenHits.filter((g) => g >= greenHits).length) / (nullGreenHits.length + 1);
  const zDecision = Math.min(z, zNull);
  const classic = oneProportionZ(greenHits, trials, gamma);
  // Zero trials (no listed item is in the key's catalogue) is no evidence either way: p is NaN,
  // which the verdict reads as inconclusive, never as absent.
  const noTrials: PValue = { value: Number.NaN, log10: Number.NaN };
  return {
    probes: lists.length,
    topK: k,
    trials,
    greenHits,
    gamma,
    zClassic: classic.z,
    z,
    expectedHits: mean,
    sdHits: sd,
    zNull,
    pEmpirical,
    nullKeys: nullGreenHits.length,
    zDecision,
    pValue: trials > 0 ? normalSf(zDecision) : noTrials,
    pValueClassic: trials > 0 ? classic.pValue : noTrials,
    perProbeGreen,
    greenRateByRank: Array.from(greenByRank, (g, r) => (rankTrials[r] > 0 ? g / rankTrials[r] : 0)),
    nullGreenHits,
    nullPerProbeGreen,
    distinctItems: counts.size,
  };
}
