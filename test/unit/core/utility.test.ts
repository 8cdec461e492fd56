/**
 * Utility on a seeded sample of users (core/utility.ts): which users are measured, that before
 * and after see the same ones, and the intervals each row carries. The models are stand-in
 * recommenders answering fixed lists, so every number is known.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScoringSession } from '../../../src/core/onnx/session';
import type { Recommender } from '../../../src/core/recommender';
import { inspectModel } from '../../../src/core/report/modelCard';
import {
  checkUtilityUsers,
  leaveOneOutRows,
  measureUtility,
  nextItemNdcgRow,
  sampleUtilityUsers,
  UTILITY_USERS_DEFAULT,
} from '../../../src/core/utility';
import { fixture } from '../../support/helpers';
import { assertCounted, recordProgress } from '../../support/progressCounts';

/** `users` users of 3 items; user i's last item is i % 7 (so a recommender can hit or miss it). */
const data = (users: number): number[][] =>
  Array.from({ length: users }, (_v, i) => [100 + (i % 5), 200 + (i % 3), i % 7]);

/** Answers every history with the same list, and counts the queries it was asked. */
function fixedRecommender(list: number[]): Recommender & { asked: number } {
  const r = {
    itemIds: Int32Array.from({ length: 300 }, (_v, i) => i),
    asked: 0,
    topK(sequences: readonly (readonly number[])[], k: number) {
      r.asked += sequences.length;
      return Promise.resolve(sequences.map(() => Int32Array.from(list.slice(0, k))));
    },
    targetRanks() {
      return Promise.reject(new Error('not used'));
    },
  };
  return r;
}

test('the user sample: seeded, at most the cap, everyone when fewer, "all" for every user', () => {
  const many = data(12_000);
  const a = sampleUtilityUsers(many);
  assert.equal(UTILITY_USERS_DEFAULT, 5000);
  assert.deepEqual(a.users, { used: 5000, of: 12_000 });
  assert.equal(a.sequences.length, 5000);
  // The same data gives the same users, in the data's order.
  const again = sampleUtilityUsers(data(12_000));
  assert.deepEqual(again.sequences, a.sequences);
  const index = new Map(many.map((s, i) => [s, i]));
  const order = a.sequences.map((s) => index.get(s)!);
  assert.deepEqual(
    order,
    [...order].sort((x, y) => x - y),
  );
  assert.equal(new Set(order).size, 5000);
  // Not simply the first users: the sample spreads over the file.
  assert.ok(order[order.length - 1] > 10_000, String(order[order.length - 1]));

  assert.deepEqual(sampleUtilityUsers(many, 300).users, { used: 300, of: 12_000 });
  assert.deepEqual(sampleUtilityUsers(many, 'all').sequences, many);
  const few = data(40);
  assert.deepEqual(sampleUtilityUsers(few).sequences, few);
  assert.deepEqual(sampleUtilityUsers(few, 40).users, { used: 40, of: 40 });
  // Only users with a held-out item count (and are measured).
  const mixed = [[1], [1, 2], [], [3, 4, 5]];
  assert.deepEqual(sampleUtilityUsers(mixed), {
    sequences: [
      [1, 2],
      [3, 4, 5],
    ],
    users: { used: 2, of: 2 },
  });
});

test('a bad number of users is a usage error that names the fix', () => {
  for (const bad of [0, -3, 2.5, Number.NaN, 'some' as 'all']) {
    assert.throws(
      () => checkUtilityUsers(bad),
      (err: Error & { code?: string }) =>
        err.code === 'usage' && /positive number of users or "all"/.test(err.message),
      String(bad),
    );
  }
  for (const ok of [undefined, 1, 5000, 'all' as const]) checkUtilityUsers(ok);
});

test('before and after are measured on the same sampled users, with paired intervals', async () => {
  const sequences = data(12_000);
  // "before" ranks items 0..9 (hits every user, rank = target), "after" only 0..3 (hits 4 in 7).
  const before = fixedRecommender([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const after = fixedRecommender([0, 1, 2, 3, 10, 11, 12, 13, 14, 15]);
  const a = await measureUtility(before, sequences, { ks: [10], users: 2000 });
  const b = await measureUtility(after, sequences, { ks: [10], probes: a.probes, users: 2000 });
  assert.deepEqual(a.users, { used: 2000, of: 12_000 });
  assert.equal(a.probes.length, 2000);
  // Leave-one-out and the overlap probes: 2 × 2,000 queries, not 2 × 12,000.
  assert.equal(before.asked, 4000);
  assert.equal(after.asked, 4000);

  const [recall, ndcg] = leaveOneOutRows(a.loo!, b.loo!, '', a.users);
  assert.equal(recall.metric, 'Recall@10');
  assert.equal(recall.before, 1);
  assert.deepEqual(recall.users, { used: 2000, of: 12_000 });
  // Every user hits before: no spread, so the interval is the point.
  assert.deepEqual(recall.beforeCi95, [1, 1]);
  const p = recall.after;
  const half = 1.96 * Math.sqrt((p * (1 - p) * 2000) / 1999 / 2000);
  assert.ok(Math.abs(recall.afterCi95![0] - (p - half)) < 1e-12);
  assert.ok(Math.abs(recall.afterCi95![1] - (p + half)) < 1e-12);
  // The change's bootstrap interval holds the change, and is about as wide as after's.
  const [lo, hi] = recall.ci95!;
  assert.ok(lo <= recall.change! && recall.change! <= hi, `${lo} ${recall.change} ${hi}`);
  assert.ok(hi - lo > 0.5 * 2 * half && hi - lo < 2 * 2 * half, `${hi - lo} vs ${2 * half}`);
  assert.ok(ndcg.beforeCi95 && ndcg.afterCi95 && ndcg.ci95);

  // 'all' measures everyone, and the sample is a subset of them.
  const all = await measureUtility(before, sequences, { ks: [10], users: 'all' });
  assert.deepEqual(all.users, { used: 12_000, of: 12_000 });
});

test('the next-item NDCG row samples users too and carries both intervals', async () => {
  const sequences = data(9000);
  const before = fixedRecommender([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const after = fixedRecommender([0, 1, 2, 3, 10, 11, 12, 13, 14, 15]);
  const row = await nextItemNdcgRow(before, after, sequences, {
    maxHistory: 50,
    max: 100_000,
    seed: 1,
  });
  assert.deepEqual(row.users, { used: UTILITY_USERS_DEFAULT, of: 9000 });
  assert.match(row.metric, /every next item \(10,000\)/);
  assert.ok(row.beforeCi95 && row.afterCi95 && row.ci95);
  assert.ok(row.beforeCi95[0] <= row.before && row.before <= row.beforeCi95[1]);
  assert.ok(row.afterCi95[0] <= row.after && row.after <= row.afterCi95[1]);
});

test('utility on a checkpoint counts users measured, then overlap probes, each up to N/N', async () => {
  const model = fixture('gru4rec.onnx');
  const { adapter } = await inspectModel(model);
  const session = await ScoringSession.open(model, adapter);
  try {
    const ids = adapter.itemIds;
    const users = Array.from({ length: 300 }, (_v, i) => [
      ids[i % 50],
      ids[(i * 7) % 90],
      ids[i % 11],
    ]);
    const rec = recordProgress();
    const step = 'Measuring utility before embedding';
    const measured = await measureUtility(session, users, {
      ks: [10],
      users: 'all',
      progress: rec.progress,
      step,
    });
    assertCounted(rec.counts(step, 'users measured'), 300, 'leave-one-out');
    assertCounted(
      rec.counts(`${step} (top-10 overlap)`, 'probes'),
      measured.probes.length,
      'overlap lists',
    );
    // A sample of users: N is the sample, not the file.
    const sampled = recordProgress();
    await measureUtility(session, users, {
      ks: [10],
      users: 120,
      progress: sampled.progress,
      step,
    });
    assertCounted(sampled.counts(step, 'users measured'), 120, 'sampled users');

    // Without data the probes are sampled from the model, under a step of their own.
    const free = recordProgress();
    const sample = await measureUtility(session, null, {
      ks: [10],
      sample: { count: 300, seed: 3 },
      progress: free.progress,
      step,
    });
    const queries = sample.probes.reduce((s, p) => s + p.length - 1, 0);
    assertCounted(
      free.counts('Sampling probe sequences from the model', 'queries'),
      queries,
      'probe sampling',
    );
    assert.deepEqual(free.counts(step, 'users measured'), [], 'no data, no users');
    assertCounted(free.counts(`${step} (top-10 overlap)`, 'probes'), 300, 'overlap lists');

    // NDCG over every next item: each point on both models.
    const ndcg = recordProgress();
    const row = await nextItemNdcgRow(session, session, users, {
      maxHistory: 8,
      max: 500,
      seed: 1,
      users: 'all',
      progress: ndcg.progress,
    });
    const points = Number(/\(([\d,]+)\)/.exec(row.metric)![1].replace(/,/g, ''));
    assert.ok(points > 0);
    assertCounted(
      ndcg.counts('Measuring NDCG@10 on every next item', 'predictions'),
      2 * points,
      'next-item NDCG',
    );
  } finally {
    await session.release();
  }
});
