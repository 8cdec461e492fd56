/**
 * GREW benches.
 * 1. In the weights (the default) on the five fixtures with MovieLens data: training steps and
 *    time, z_w at the stopping check and in a verification on other probes, top-10 overlap,
 *    NDCG@10 over every next-item prediction (with its 95% interval) and leave-one-out — the
 *    README's table. GREW_BENCH_FIXTURES=a,b limits it.
 * 2. A served head on a Beauty-sized catalogue (54,542 items, as in the AOW paper's Amazon
 *    Beauty): embed and verify times. The model is a synthetic embedding → mean-pool →
 *    projection recommender built in code (64 dims), so the bench needs no large file; timings
 *    are dominated by k-means and by scoring 54k items per query, as for a real model.
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeModel } from '../../src/core/onnx/model';
import { embedGrew } from '../../src/core/watermark/grew';
import { verifyGrew } from '../../src/core/watermark/grewAudit';
import { keyFromJson, keyToJson } from '../../src/core/watermark/keyJson';
import { fixture, MAIN_FIXTURES, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';
import { tinyModel } from '../support/tinyModel';

const ITEMS = 54_542;

async function weightsTable(): Promise<void> {
  const names = process.env.GREW_BENCH_FIXTURES?.split(',') ?? MAIN_FIXTURES;
  const data = movielensInteractionFile();
  const load = () => os.loadavg()[0].toFixed(1);
  console.log(`# GREW in the weights on the fixtures (${os.cpus().length} cores, load ${load()})`);
  console.log(
    '| fixture | steps | embed | z_w check / verify | p | top-10 overlap | NDCG@10, every next item | NDCG@10, leave-one-out | Recall@20 |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}%`;
  for (const name of names) {
    const out = path.join(tempDir('recmark-bench-'), 'marked.onnx');
    const t = performance.now();
    const r = await embedGrew({ model: fixture(name), out, data, secret: Buffer.alloc(32, 0x5a) });
    const seconds = (performance.now() - t) / 1000;
    const key = keyFromJson(JSON.parse(JSON.stringify(keyToJson(r.key, false))));
    if (key.scheme !== 'grew') throw new Error('unexpected key');
    const v = await verifyGrew({ model: out, key, data, seed: 7 });
    const row = (prefix: string) => r.utility.find((u) => u.metric.startsWith(prefix))!;
    const change = (u: { before: number; after: number }) => u.after / u.before - 1;
    const all = row('NDCG@10, every');
    console.log(
      `| ${name} | ${r.training!.steps} | ${seconds.toFixed(0)} s | ${r.training!.checks.at(-1)!.z.toFixed(2)} / ${v.grew!.z.toFixed(2)} | ${v.pValueText} | ${(100 * r.topKOverlap).toFixed(1)}% | ${pct(change(all))} [${pct(all.ci95![0])}, ${pct(all.ci95![1])}] | ${pct(change(row('NDCG@10')))} | ${pct(change(row('Recall@20')))} |`,
    );
  }
  console.log(`(load after: ${load()})`);
}

async function main(): Promise<void> {
  await weightsTable();
  const dir = tempDir('recmark-bench-');
  const model = path.join(dir, 'beauty-sized.onnx');
  writeFileSync(model, encodeModel(tinyModel({ items: ITEMS, dim: 64, seqLen: 50, seed: 2 })));
  console.log(
    `# GREW served head on a ${ITEMS.toLocaleString('en-US')}-item catalogue (${os.cpus().length} cores, node ${process.version})`,
  );
  let t = performance.now();
  const steps: string[] = [];
  const result = await embedGrew({
    model,
    out: path.join(dir, 'marked.onnx'),
    mode: 'serve',
    secret: Buffer.alloc(32, 1),
    seed: 1,
  });
  const embedMs = performance.now() - t;
  steps.push(...result.timings.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`));
  console.log(
    `embed: ${(embedMs / 1000).toFixed(1)} s  (${steps.join(', ')}; ${result.numClusters} clusters)`,
  );
  const key = keyFromJson(JSON.parse(JSON.stringify(keyToJson(result.key, false))));
  if (key.scheme !== 'grew') throw new Error('unexpected key');
  t = performance.now();
  const report = await verifyGrew({
    model: path.join(dir, 'marked.onnx'),
    key,
    probes: 1000,
    topK: 20,
    nullKeys: 200,
  });
  const verifyMs = performance.now() - t;
  console.log(
    `verify (Q=1000, k=20, M=200): ${(verifyMs / 1000).toFixed(1)} s  (${report.timings.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}); verdict ${report.verdict}, z_w ${report.grew!.z.toFixed(1)} over ${report.grew!.distinctItems} distinct items`,
  );
  console.log(
    '(a random synthetic model repeats few items across top-k lists, so its evidence is weak; the timings are the point)',
  );
  const keyBytes = Buffer.byteLength(JSON.stringify(keyToJson(result.key, false)));
  console.log(
    `key file (public part): ${(keyBytes / 1024).toFixed(0)} KB for ${ITEMS.toLocaleString('en-US')} items`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
