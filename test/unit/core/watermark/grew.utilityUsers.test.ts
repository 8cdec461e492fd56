/**
 * Sampling users for utility changes only the utility rows of an embed: the watermarked model,
 * the key and the self-check's evidence (its probes come from the whole data file) are the
 * same whatever --utility-users says. Served-head GREW on the SASRec fixture, a fixed secret.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { embedGrew } from '../../../../src/core/watermark/grew';
import type { UtilityUsers } from '../../../../src/core/utility';
import type { Progress } from '../../../../src/core/util/progress';
import { fixture, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { assertCounted, recordProgress } from '../../../support/progressCounts';

const SECRET = Buffer.alloc(32, 0x5a);

async function embed(utilityUsers: UtilityUsers, progress?: Progress) {
  const out = path.join(tempDir(), 'marked.onnx');
  const r = await embedGrew({
    progress,
    model: fixture('sasrec_opset17.onnx'),
    out,
    data: movielensInteractionFile(),
    mode: 'serve',
    secret: SECRET,
    seed: 1,
    utilityUsers,
  });
  return { r, bytes: readFileSync(out) };
}

test('--utility-users changes the utility rows only: same model, key and evidence', async () => {
  const sample = await embed(200);
  const all = await embed('all');
  assert.ok(sample.bytes.equals(all.bytes), 'the watermarked model');
  assert.deepEqual({ ...sample.r.key, createdAt: '' }, { ...all.r.key, createdAt: '' }, 'the key');
  assert.deepEqual(sample.r.evidence, all.r.evidence);

  const of = all.r.utility[0].users!.of;
  assert.ok(of > 600, String(of));
  for (const row of all.r.utility) assert.deepEqual(row.users, { used: of, of }, row.metric);
  for (const row of sample.r.utility) assert.deepEqual(row.users, { used: 200, of }, row.metric);
  // Leave-one-out and next-item rows carry both intervals; the sample's are wider.
  const ndcg = (u: typeof all) => u.r.utility.find((x) => x.metric === 'NDCG@10')!;
  const width = (ci?: [number, number]) => (ci ? ci[1] - ci[0] : NaN);
  assert.ok(ndcg(all).beforeCi95 && ndcg(all).afterCi95 && ndcg(all).ci95);
  assert.ok(width(ndcg(sample).beforeCi95) > width(ndcg(all).beforeCi95));
  const next = all.r.utility.find((x) => x.metric.startsWith('NDCG@10, every next item'))!;
  assert.ok(next.beforeCi95 && next.afterCi95 && next.ci95);
});

test("utility inside an embed reports on the embed's progress: users measured n/N, before and after", async () => {
  const rec = recordProgress();
  const { r } = await embed(200, rec.progress);
  for (const when of ['before', 'after']) {
    const step = `Measuring utility ${when} embedding`;
    assertCounted(rec.counts(step, 'users measured'), 200, step);
    // The overlap probes are the sampled users' held-out histories.
    assertCounted(rec.counts(`${step} (top-10 overlap)`, 'probes'), 200, `${step}, overlap`);
  }
  const next = r.utility.find((x) => x.metric.startsWith('NDCG@10, every next item'))!;
  const points = Number(/\(([\d,]+)\)/.exec(next.metric)![1].replace(/,/g, ''));
  assertCounted(
    rec.counts('Measuring NDCG@10 on every next item', 'predictions'),
    2 * points,
    'next-item NDCG',
  );
  // k-means: iterations counted against its cap, stopping when few items move.
  const clustering = rec.messages().find((m) => m.startsWith('Clustering 3,650 items into'))!;
  const iterations = rec.counts(clustering, 'iterations');
  assert.ok(iterations.length >= 2 && iterations.every(([, t]) => t === 25), String(iterations));
  assert.deepEqual(
    iterations.map(([d]) => d),
    iterations.map((_c, i) => i + 1),
  );
  assert.ok(
    rec.updates.every((u) => !u.message.startsWith('Clustering') || !u.count || u.count.atMost),
  );
  const file = path.basename(movielensInteractionFile());
  const lines = readFileSync(movielensInteractionFile(), 'utf8').trimEnd().split('\n').length;
  assertCounted(rec.counts(`Reading ${file}`, 'lines'), lines, 'the data file');
});
