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
import { fixture, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';

const SECRET = Buffer.alloc(32, 0x5a);

async function embed(utilityUsers: UtilityUsers) {
  const out = path.join(tempDir(), 'marked.onnx');
  const r = await embedGrew({
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
