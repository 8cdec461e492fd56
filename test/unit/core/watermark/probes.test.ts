/**
 * Probe sampling's progress (watermark/probes.ts): one query per item after the first, counted
 * batch by batch, so a long sampling shows n/N queries; a probe an endpoint stops answering
 * takes its remaining queries off N, so the count still ends at N/N.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScoringSession } from '../../../../src/core/onnx/session';
import type { Recommender } from '../../../../src/core/recommender';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { probesFromModel } from '../../../../src/core/watermark/probes';
import { fixture } from '../../../support/helpers';
import { assertCounted } from '../../../support/progressCounts';

test('sampling from a checkpoint counts its queries batch by batch, up to N/N', async () => {
  const model = fixture('gru4rec.onnx');
  const { adapter } = await inspectModel(model);
  const session = await ScoringSession.open(model, adapter);
  try {
    const counts: [number, number][] = [];
    const probes = await probesFromModel(session, {
      count: 600,
      seed: 5,
      onProgress: (done, total) => void counts.push([done, total]),
    });
    // Every item after a probe's first was one query.
    const queries = probes.reduce((s, p) => s + p.length - 1, 0);
    assertCounted(counts, queries, 'probe sampling');
    // Batches of 256 within a step: more reports than the 19 steps, so the count moves steadily.
    assert.ok(counts.length > 19 + 1, `${counts.length} reports`);
  } finally {
    await session.release();
  }
});

test('a probe whose answer is lost ends there, and its remaining queries leave the total', async () => {
  const itemIds = Int32Array.from({ length: 50 }, (_v, i) => i + 1);
  let calls = 0;
  const recommender: Recommender = {
    itemIds,
    topK: (sequences, _k, options) => {
      calls++;
      // The second round loses every other query.
      const lists = sequences.map((_s, i) =>
        calls === 2 && i % 2 === 0 ? null : itemIds.slice(0, 10),
      );
      options?.onProgress?.(sequences.length, sequences.length);
      return Promise.resolve(lists);
    },
    targetRanks: () => Promise.reject(new Error('not asked')),
  };
  const counts: [number, number][] = [];
  const probes = await probesFromModel(recommender, {
    count: 40,
    seed: 2,
    minLength: 5,
    maxLength: 8,
    onProgress: (done, total) => void counts.push([done, total]),
  });
  const queries = probes.reduce((s, p) => s + p.length - 1, 0);
  // Lost answers in round 2 were asked (counted) but added no item: one more query each.
  const lost = Math.ceil(40 / 2);
  assert.ok(probes.filter((p) => p.length === 2).length === lost, 'every lost probe stopped at 2');
  const first = counts[0][1];
  assert.ok(first > queries + lost, `the first total (${first}) assumed full lengths`);
  const last = counts.at(-1)!;
  assert.deepEqual(last, [queries + lost, queries + lost], 'ends at N/N with N what was asked');
  const done = counts.map(([d]) => d);
  assert.ok(
    done.every((d, i) => i === 0 || d >= done[i - 1]),
    'counts only go up',
  );
  assert.ok(counts.every(([d, t]) => d <= t));
});
