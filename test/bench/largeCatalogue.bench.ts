/**
 * Memory and time on a 1,000,000-item catalogue (issue 8, limits): a synthetic sequential model
 * (item embedding → mean over the history → scores against the same tied table, dim 32) built
 * with onnx-proto, then inspect, GREW embed (k-means partition, graph, utility, self-check),
 * key read, GREW verify and AOW verify, each timed, with the process's peak RSS after each step.
 * A step that hits a limit is reported with the error instead of stopping the bench.
 * BENCH_ITEMS changes the catalogue size.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RecMarkError } from '../../src/core/errors';
import { encodeModel, onnx } from '../../src/core/onnx/model';
import { inspectModel } from '../../src/core/report/modelCard';
import { formatBytes } from '../../src/core/util/format';
import { Rng } from '../../src/core/util/random';
import { verifyAow } from '../../src/core/watermark/aowAudit';
import { embedGrew } from '../../src/core/watermark/grew';
import { verifyGrew } from '../../src/core/watermark/grewAudit';
import type { GrewKey } from '../../src/core/watermark/key';
import { readKeyFile } from '../../src/core/watermark/keyFile';
import { valueInfo } from '../support/tinyModel';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const DIM = 32;
const SEQ_LEN = 50;
/** Probes come from interaction data: growing 1,000 probes from a 1M-wide model costs minutes. */
const USERS = Number(process.env.BENCH_USERS ?? 500);
const { DataType } = onnx.TensorProto;

/** Tied embedding-dot-product recommender: scores = mean(E[history]) · Eᵀ over ITEMS + 1 ids. */
function syntheticModel(): onnx.ModelProto {
  const rng = new Rng(3);
  const rows = ITEMS + 1;
  const table = new Float32Array(rows * DIM);
  // Items around 256 topics, so k-means has structure to find. Row 0 (padding) stays zero, as
  // with padding_idx in a trained model: otherwise the ~40 pad positions of each history would
  // dominate the mean and every probe would get the same top items (25 distinct in 1,000 lists).
  const topics = Float32Array.from({ length: 256 * DIM }, () => rng.next() - 0.5);
  for (let i = 1; i < rows; i++) {
    const t = rng.int(256);
    for (let d = 0; d < DIM; d++)
      table[i * DIM + d] = topics[t * DIM + d] + 0.2 * (rng.next() - 0.5);
  }
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'recmark-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'large',
      node: [
        { opType: 'Gather', input: ['item_emb', 'item_seq'], output: ['h'], name: 'emb' },
        {
          opType: 'ReduceMean',
          input: ['h'],
          output: ['pooled'],
          name: 'pool',
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
          ],
        },
        {
          opType: 'Gemm',
          input: ['pooled', 'item_emb'],
          output: ['scores'],
          name: 'head',
          attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
        },
      ],
      initializer: [
        {
          name: 'item_emb',
          dims: [rows, DIM],
          dataType: DataType.FLOAT,
          rawData: new Uint8Array(table.buffer),
        },
      ],
      input: [valueInfo('item_seq', DataType.INT64, ['batch', SEQ_LEN])],
      output: [valueInfo('scores', DataType.FLOAT, ['batch', rows])],
    },
  });
}

interface Row {
  step: string;
  seconds: number;
  peakRss: string;
  note: string;
}

const peakRss = (): string => formatBytes(process.resourceUsage().maxRSS * 1024);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'recmark-large-'));
  const rows: Row[] = [];
  const step = async <T>(
    name: string,
    fn: () => Promise<T>,
    note: (r: T) => string,
  ): Promise<T | null> => {
    const start = performance.now();
    try {
      const r = await fn();
      rows.push({
        step: name,
        seconds: (performance.now() - start) / 1000,
        peakRss: peakRss(),
        note: note(r),
      });
      return r;
    } catch (err) {
      const what =
        err instanceof RecMarkError
          ? `failed (${err.code}): ${err.message}`
          : `crashed: ${String(err)}`;
      rows.push({
        step: name,
        seconds: (performance.now() - start) / 1000,
        peakRss: peakRss(),
        note: what,
      });
      return null;
    }
  };
  try {
    const model = path.join(dir, 'large.onnx');
    await step(
      'build + write model',
      async () => writeFileSync(model, encodeModel(syntheticModel())),
      () =>
        `${ITEMS.toLocaleString('en-US')} items × ${DIM} dims, ${formatBytes(statSync(model).size)}`,
    );
    await step(
      'inspect',
      () => inspectModel(model),
      ({ card }) =>
        `${card.numItems.toLocaleString('en-US')} items, embedding ${card.itemEmbedding}`,
    );
    const data = path.join(dir, 'data.txt');
    const rng = new Rng(9);
    const lines: string[] = [];
    for (let u = 0; u < USERS; u++)
      for (let t = 0; t < 10; t++) lines.push(`${u} ${1 + rng.int(ITEMS)} ${t}`);
    writeFileSync(data, `${lines.join('\n')}\n`);
    const marked = path.join(dir, 'marked.onnx');
    const keyFile = path.join(dir, 'marked.wmkey.json');
    const embedded = await step(
      'embed GREW',
      // The served head: training a million-column score layer into the weights is beyond
      // this bench's memory (one [64, 1M] batch of scores is 256 MB, and the loss holds several).
      () => embedGrew({ model, out: marked, keyOut: keyFile, data, mode: 'serve' }),
      (r) =>
        `${r.numClusters} clusters, z_w ${r.evidence.z.toFixed(2)} on ${r.evidence.probes} probes; top-10 overlap ${r.topKOverlap.toFixed(3)}; ` +
        `${r.timings.map((t) => `${t.step} ${(t.ms / 1000).toFixed(1)} s`).join(', ')}; output ${formatBytes(statSync(marked).size)}, key ${formatBytes(statSync(keyFile).size)}`,
    );
    if (embedded) {
      const key = (await step(
        'read key file',
        () => readKeyFile(keyFile),
        (k) => `${k.scheme}, tamper check with secret`,
      )) as GrewKey | null;
      if (key) {
        await step(
          'verify GREW',
          () => verifyGrew({ model: marked, key, data }),
          (r) =>
            `${r.verdict}, z_w ${r.grew!.z.toFixed(2)} (${r.grew!.distinctItems.toLocaleString('en-US')} distinct items in the lists), p ${r.pValueText}; ${r.timings.map((t) => `${t.step} ${(t.ms / 1000).toFixed(1)} s`).join(', ')}`,
        );
      }
    }
    await step(
      'verify AOW (key of 5 items)',
      () =>
        verifyAow({
          model,
          key: {
            scheme: 'aow',
            version: 1,
            keyId: 'bench',
            // Ids spread over the catalogue, so the key fits any BENCH_ITEMS.
            sequence: [0, 0.22, 0.33, 0.44, 1].map((f) => Math.max(1, Math.round(f * ITEMS))),
            L: 5,
            M: 100,
            start: 'external',
          },
        }),
      (r) => `${r.verdict}, ranks ${r.aow!.ranks.join(', ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `# ${ITEMS.toLocaleString('en-US')}-item synthetic catalogue (dim ${DIM}, T = ${SEQ_LEN}), probes from ${USERS} users × 10 interactions`,
  );
  console.log('| step | time | peak RSS so far | result |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows)
    console.log(`| ${r.step} | ${r.seconds.toFixed(1)} s | ${r.peakRss} | ${r.note} |`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
