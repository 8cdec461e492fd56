/**
 * GREW on real fixtures, with fixed seeds and a fixed secret so every number is reproducible:
 * the watermark is found with overwhelming evidence, utility is kept, and neither the clean model
 * nor a wrong key is ever called "present".
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { decideVerdict } from '../../../../src/core/report/report';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { architectureDifferences } from '../../../../src/core/onnx/architecture';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { graphOf, readModel } from '../../../../src/core/onnx/model';
import {
  embedGrew,
  type EmbedGrewResult,
  type GrewMode,
} from '../../../../src/core/watermark/grew';
import { verifyGrew } from '../../../../src/core/watermark/grewAudit';
import { grewStatistics } from '../../../../src/core/watermark/grewStats';
import type { GrewKey } from '../../../../src/core/watermark/key';
import { keyFromJson, keyToJson } from '../../../../src/core/watermark/keyJson';
import { greenFromClusters } from '../../../../src/core/watermark/partition';
import { probesFromModel } from '../../../../src/core/watermark/probes';
import { fixture, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';

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

/** What a key file without the secret carries: all verification may use. */
const publicKey = (key: GrewKey): GrewKey =>
  keyFromJson(JSON.parse(JSON.stringify(keyToJson(key, false)))) as GrewKey;

const data = movielensInteractionFile();
const embedded = new Map<string, { marked: string; key: GrewKey; result: EmbedGrewResult }>();

async function embed(name: string, mode: GrewMode = 'weights') {
  const hit = embedded.get(`${name}/${mode}`);
  if (hit) return hit;
  const dir = tempDir();
  const marked = path.join(dir, 'marked.onnx');
  const result = await embedGrew({
    model: fixture(name),
    out: marked,
    data,
    mode,
    secret: SECRET,
    seed: 1,
  });
  const entry = { marked, key: publicKey(result.key), result };
  embedded.set(`${name}/${mode}`, entry);
  return entry;
}

const weightsOf = async (file: string) => {
  const { proto } = await readModel(file);
  return new Map(graphOf(proto).initializer.map((t) => [t.name, tensorFloat32(t)]));
};

// Three architectures (attention, GRU, GRU + attention) in the unit suite, about a minute each on
// 2 cores; all five fixtures, BERT4Rec (~5 min) and the opset-13 SASRec (~2 min) included, are
// measured by `node --import tsx test/bench/grew.bench.ts` (README, "How GREW is embedded").
for (const name of ['sasrec_opset17.onnx', 'gru4rec.onnx', 'narm.onnx']) {
  describe(`GREW in the weights of ${name}`, () => {
    test('the written model has the original graph exactly; only float weights moved', async () => {
      const { marked, result } = await embed(name);
      const original = await readModel(fixture(name));
      const written = await readModel(marked);
      assert.deepEqual(architectureDifferences(original.proto, written.proto), []);
      assert.equal(result.mode, 'weights');
      assert.equal((await inspectModel(marked)).card.servedHead, null);
      const [before, after] = [await weightsOf(fixture(name)), await weightsOf(marked)];
      const moved = [...after].filter(([n, w]) => w.some((v, i) => v !== before.get(n)![i]));
      assert.ok(moved.length > 0, 'no weight changed');
      assert.equal(result.key.mode, 'weights');
    });

    test('utility: NDCG@10 over every next-item prediction within 2%, top-10 overlap ≥ 80%', async () => {
      const { result } = await embed(name);
      const all = result.utility.find((u) => u.metric.startsWith('NDCG@10, every next item'))!;
      const change = all.after / all.before - 1;
      assert.ok(Math.abs(change) <= 0.02, `${all.metric}: ${all.before} → ${all.after}`);
      assert.ok(all.ci95![0] <= change && change <= all.ci95![1], `CI ${all.ci95}`);
      assert.ok(result.topKOverlap >= 0.8, `top-10 overlap ${result.topKOverlap}`);
    });

    test('the watermarked model: z ≥ 6 and empirical p at its floor (Q = 1000, k = 20, γ = 0.5)', async () => {
      const { marked, key } = await embed(name);
      const report = await verifyGrew({
        model: marked,
        key,
        data,
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
      // Classic z is huge here; its p-value must still print as a number (or, past a double's
      // range, as the honest bound "< 1e-300"), never 0.
      assert.match(g.pClassicText, /^(\d\.\de-\d+|< 1e-300)$/);
    });
  });
}

describe('GREW as a served head (--mode serve)', () => {
  test('sasrec_opset17: nodes appended, the head of every list untouched, z ≥ 6', async () => {
    const { marked, key, result } = await embed('sasrec_opset17.onnx', 'serve');
    assert.equal(result.training, null);
    assert.equal(key.mode, 'serve');
    assert.ok((await inspectModel(marked)).card.servedHead!.nodes >= 20);
    // The head keeps the top 10 exactly, so leave-one-out @10 cannot move.
    for (const metric of ['NDCG@10', 'Recall@10']) {
      const row = result.utility.find((u) => u.metric === metric)!;
      assert.equal(row.after, row.before, metric);
    }
    const report = await verifyGrew({ model: marked, key, data, seed: 7 });
    assert.equal(report.verdict, 'present');
    assert.ok(report.grew!.z >= 6, `z_w = ${report.grew!.z}`);
  });
});

describe('GREW without data: probes sampled from the suspect', () => {
  test('sasrec_opset17: z ≥ 6 with sampled probes', async () => {
    const { marked, key } = await embed('sasrec_opset17.onnx');
    const report = await verifyGrew({
      model: marked,
      key,
      probes: 1000,
      topK: 20,
      nullKeys: NULL_KEYS,
      seed: 7,
    });
    assert.equal(report.grew!.probeSource, 'sampled');
    assert.ok(report.grew!.z >= 6, `z_w = ${report.grew!.z}`);
    assert.equal(report.verdict, 'present');
  });
});

describe('GREW never accuses the innocent', () => {
  let key: GrewKey;
  let marked: string;
  before(async () => {
    ({ key, marked } = await embed('sasrec_opset17.onnx'));
  });

  for (const [label, which] of [
    ['the clean SASRec with its key and 49 others', 'clean'],
    ['the watermarked SASRec under 50 wrong keys', 'marked'],
  ] as const) {
    test(`${label}: never "present"`, async () => {
      const model = which === 'clean' ? fixture('sasrec_opset17.onnx') : marked;
      const { adapter } = await inspectModel(model);
      const session = await ScoringSession.open(model, adapter);
      const probes = await probesFromModel(session, { count: 1000, seed: 11 });
      const lists = await session.topK(probes, 20);
      await session.release();
      const keys = which === 'marked' ? wrongKeys(key, 50) : [key, ...wrongKeys(key, 49)];
      for (const k of keys) {
        const stats = grewStatistics(lists, k, { topK: 20, nullKeys: NULL_KEYS, seed: 3 });
        assert.notEqual(
          decideVerdict(stats.pValue, ALPHA),
          'present',
          `${k.keyId}: z = ${stats.zDecision}`,
        );
      }
    });
  }

  test('clean GRU4Rec, NARM and BERT4Rec with 50 keys: never "present"', async () => {
    for (const name of ['gru4rec.onnx', 'narm.onnx', 'bert4rec.onnx']) {
      const model = fixture(name);
      const { adapter } = await inspectModel(model);
      const session = await ScoringSession.open(model, adapter);
      const lists = await session.topK(
        await probesFromModel(session, { count: 1000, seed: 11 }),
        20,
      );
      await session.release();
      const { key: sasKey } = await embed('sasrec_opset17.onnx');
      // Same catalogue, so the SASRec key's clusters apply; 50 secrets over them.
      for (const k of wrongKeys(sasKey, 50)) {
        const stats = grewStatistics(lists, k, { topK: 20, nullKeys: NULL_KEYS, seed: 3 });
        assert.notEqual(
          decideVerdict(stats.pValue, ALPHA),
          'present',
          `${name} ${k.keyId}: z = ${stats.zDecision}`,
        );
      }
    }
  });
});
