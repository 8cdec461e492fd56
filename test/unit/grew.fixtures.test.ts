/**
 * GREW on real fixtures, with fixed seeds and a fixed secret so every number is reproducible:
 * the watermark is found with overwhelming evidence, and neither the clean model nor a wrong
 * key is ever called "present".
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { inspectModel } from '../../src/core/report/modelCard';
import { ScoringSession } from '../../src/core/onnx/session';
import { decideVerdict } from '../../src/core/report/report';
import { embedGrew, verifyGrew } from '../../src/core/watermark/grew';
import { grewStatistics } from '../../src/core/watermark/grewStats';
import { keyFromJson, keyToJson, type GrewKey } from '../../src/core/watermark/key';
import { greenFromClusters } from '../../src/core/watermark/partition';
import { probesFromModel } from '../../src/core/watermark/probes';
import { fixture, tempDir } from './helpers';

const SECRET = Buffer.alloc(32, 0x5a);
const ALPHA = 1e-4;
const NULL_KEYS = 200;

/** Wrong keys: other secrets over the same clusters, the hardest kind of wrong key. */
function wrongKeys(key: GrewKey, count: number): GrewKey[] {
  return Array.from({ length: count }, (_, i) => {
    const secret = Buffer.alloc(32, 0);
    secret.writeUInt32BE(i + 1, 0);
    return {
      ...key,
      green: greenFromClusters(key.clusters, secret, key.gamma),
      keyId: `wrong-${i}`,
    };
  });
}

for (const name of ['sasrec_opset17.onnx', 'gru4rec.onnx']) {
  describe(`GREW on ${name}`, () => {
    const dir = tempDir();
    const marked = path.join(dir, 'marked.onnx');
    let key: GrewKey;

    before(async () => {
      const result = await embedGrew({
        model: fixture(name),
        out: marked,
        keyOut: path.join(dir, 'key.wmkey.json'),
        secret: SECRET,
        seed: 1,
      });
      // Verification only sees what a key file without the secret holds.
      key = keyFromJson(JSON.parse(JSON.stringify(keyToJson(result.key, false)))) as GrewKey;
      assert.ok(result.topKOverlap >= 0.8, `top-10 overlap ${result.topKOverlap}`);
    });

    test('the watermarked model: z ≥ 6 and empirical p at its floor (Q = 1000, k = 20, γ = 0.5)', async () => {
      const report = await verifyGrew({
        model: marked,
        key,
        probes: 1000,
        topK: 20,
        nullKeys: NULL_KEYS,
        seed: 7,
      });
      const g = report.grew!;
      assert.equal(report.verdict, 'present');
      assert.ok(g.z >= 6, `z_w = ${g.z}`);
      assert.ok(g.zNull >= 6, `z_null = ${g.zNull}`);
      assert.equal(g.pEmpirical, 1 / (NULL_KEYS + 1));
      assert.ok(!JSON.stringify(report).includes(SECRET.toString('hex')));
    });

    test('the clean model and the watermarked model under 50 wrong keys are never "present"', async () => {
      for (const model of [fixture(name), marked]) {
        const { adapter } = await inspectModel(model);
        const session = await ScoringSession.open(model, adapter);
        const probes = await probesFromModel(session, { count: 1000, seed: 11 });
        const lists = await session.topK(probes, 20);
        await session.release();
        const keys = model === marked ? wrongKeys(key, 50) : [key, ...wrongKeys(key, 49)];
        for (const k of keys) {
          const stats = grewStatistics(lists, k, { topK: 20, nullKeys: NULL_KEYS, seed: 3 });
          assert.notEqual(
            decideVerdict(stats.pValue, ALPHA),
            'present',
            `${path.basename(model)} with ${k.keyId}: z = ${stats.zDecision}`,
          );
        }
      }
    });
  });
}
