/**
 * GREW embed and verify times on a Beauty-sized catalogue (54,542 items, as in the AOW paper's
 * Amazon Beauty). The model is a synthetic embedding → mean-pool → projection recommender built
 * in code (64 dims), so the bench needs no large file; timings are dominated by k-means and by
 * scoring 54k items per query, as for a real model of that catalogue.
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeModel } from '../../src/core/onnx/model';
import { embedGrew, verifyGrew } from '../../src/core/watermark/grew';
import { keyFromJson, keyToJson } from '../../src/core/watermark/key';
import { tempDir } from '../unit/helpers';
import { tinyModel } from '../unit/tinyModel';

const ITEMS = 54_542;

async function main(): Promise<void> {
  const dir = tempDir('recmark-bench-');
  const model = path.join(dir, 'beauty-sized.onnx');
  writeFileSync(model, encodeModel(tinyModel({ items: ITEMS, dim: 64, seqLen: 50, seed: 2 })));
  console.log(
    `# GREW on a ${ITEMS.toLocaleString('en-US')}-item catalogue (${os.cpus().length} cores, node ${process.version})`,
  );
  let t = performance.now();
  const steps: string[] = [];
  const result = await embedGrew({
    model,
    out: path.join(dir, 'marked.onnx'),
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
