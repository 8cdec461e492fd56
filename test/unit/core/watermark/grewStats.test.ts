import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOT_AN_ITEM } from '../../../../src/core/watermark/key';
import { grewStatistics } from '../../../../src/core/watermark/grewStats';
import { Rng } from '../../../../src/core/util/random';

/** A catalogue of 400 items in 8 clusters with a random half-green split per cluster. */
function partition(seed: number) {
  const rng = new Rng(seed);
  const W = 401;
  const clusters = new Uint16Array(W);
  clusters[0] = NOT_AN_ITEM;
  for (let id = 1; id < W; id++) clusters[id] = id % 8;
  const green = new Uint8Array(W);
  for (let c = 0; c < 8; c++) {
    const members = rng.shuffle([...Array(W).keys()].filter((id) => id > 0 && clusters[id] === c));
    members.slice(0, members.length / 2).forEach((id) => (green[id] = 1));
  }
  return { gamma: 0.5, clusters, green, numClusters: 8 };
}

/** Top-k lists dominated by a few popular items, like a real recommender. */
function popularLists(seed: number, probes: number, k: number): Int32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: probes }, () => {
    const set = new Set<number>();
    while (set.size < k) set.add(rng.next() < 0.6 ? 1 + rng.int(30) : 1 + rng.int(400));
    return Int32Array.from(set);
  });
}

test('z_w is calibrated under H0 where the classic z is not', () => {
  const lists = popularLists(3, 500, 10);
  const zw: number[] = [];
  const zc: number[] = [];
  for (let key = 0; key < 200; key++) {
    const s = grewStatistics(lists, partition(100 + key), { topK: 10, nullKeys: 0, seed: key });
    zw.push(s.z);
    zc.push(s.zClassic);
  }
  const sd = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  };
  // Over random keys z_w has unit spread (± sampling error of 200 draws); the classic z is inflated.
  assert.ok(Math.abs(sd(zw) - 1) < 0.15, `sd(z_w) = ${sd(zw)}`);
  assert.ok(sd(zc) > 2, `sd(z_classic) = ${sd(zc)}`);
});

test('null keys reproduce the analytic mean and spread', () => {
  const lists = popularLists(5, 300, 10);
  const s = grewStatistics(lists, partition(1), { topK: 10, nullKeys: 2000, seed: 9 });
  const mean = s.nullGreenHits.reduce((a, b) => a + b, 0) / s.nullGreenHits.length;
  const sd = Math.sqrt(
    s.nullGreenHits.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.nullGreenHits.length - 1),
  );
  assert.ok(
    Math.abs(mean - s.expectedHits) < 4 * (s.sdHits / Math.sqrt(2000)),
    `${mean} vs ${s.expectedHits}`,
  );
  assert.ok(Math.abs(sd / s.sdHits - 1) < 0.08, `${sd} vs ${s.sdHits}`);
});

test('green-biased lists give a large z, and chart data adds up', () => {
  const key = partition(2);
  const rng = new Rng(4);
  const greenIds = [...key.green.keys()].filter((id) => key.green[id]);
  const lists = popularLists(6, 400, 10).map((list) =>
    list.map((id) => (rng.next() < 0.6 ? greenIds[rng.int(greenIds.length)] : id)),
  );
  const s = grewStatistics(lists, key, { topK: 10, nullKeys: 200, seed: 1 });
  assert.ok(s.z > 6, `z = ${s.z}`);
  assert.ok(s.zNull > 6, `zNull = ${s.zNull}`);
  assert.equal(s.pEmpirical, 1 / 201);
  assert.equal(
    s.perProbeGreen.reduce((a, b) => a + b, 0),
    s.greenHits,
  );
  assert.equal(s.greenRateByRank.length, 10);
  assert.ok(s.pValue.log10 < -8);
});
