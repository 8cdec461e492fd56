/**
 * Section 3: how far verification is from the hardware. FLOPs per probe counted from the graph
 * (every MatMul/Gemm, shapes from one probe run of src/core/train/shapes.ts), the fp32 MatMul
 * rate onnxruntime reaches on this machine (a one-MatMul model at two shapes), and the implied
 * lower bound for the section-2 probes beside RecMark's measured time.
 */
import * as ort from 'onnxruntime-node';
import { floatTensor } from '../../../src/core/onnx/graph';
import { encodeModel, graphOf, onnx, readModel } from '../../../src/core/onnx/model';
import { openModel } from '../../../src/core/onnx/open';
import { loadOrt } from '../../../src/core/onnx/ort';
import { modelFeeds } from '../../../src/core/onnx/session';
import { probeShapes } from '../../../src/core/train/shapes';
import { Rng } from '../../../src/core/util/random';
import type { BenchModel } from './model';
import { benchProbes, type VerifyTimes } from './verify';
import { heading, loadText, seconds, table, type BenchSettings } from './settings';

const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export interface FlopCount {
  /** Per probe, every MatMul/Gemm as the graph computes it. */
  perProbe: number;
  /** Per probe if the last block computed only the last query position (SASRec's layout). */
  lastQueryOnly: number;
}

/** MatMul/Gemm FLOPs of one probe through `file` (2·M·K·N each). */
export async function countFlops(
  file: string,
  probe: readonly number[],
  blocks: number,
  T: number,
): Promise<FlopCount> {
  const { adapter } = await openModel(file);
  const { proto } = await readModel(file);
  await loadOrt();
  const shapes = await probeShapes(proto, modelFeeds(adapter, [probe]).feeds);
  const dims = (name: string): number[] => shapes.get(name)?.dims ?? [];
  const lastBlock = `blocks.${blocks - 1}.`;
  const attention: number[] = [];
  let perProbe = 0;
  let saved = 0;
  for (const node of graphOf(proto).node) {
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') continue;
    const a = dims(node.input![0]);
    const out = dims(node.output![0]);
    const transA = node.attribute?.find((x) => x.name === 'transA')?.i;
    const k = node.opType === 'Gemm' && Number(transA ?? 0) === 1 ? a[0] : a[a.length - 1];
    const flops = 2 * prod(out) * k;
    perProbe += flops;
    const weight = node.input![1];
    // In the last block only the last query row matters: q, out and the feed-forward shrink by T
    // (k and v still cover every key); the two attention products are the last 4-D MatMuls.
    if (/\.(attn\.q|attn\.out|ff\.0|ff\.3)\.weight$/.test(weight) && weight.startsWith(lastBlock))
      saved += flops * (1 - 1 / T);
    if (out.length === 4) attention.push(flops);
  }
  for (const f of attention.slice(-2)) saved += f * (1 - 1 / T);
  return { perProbe, lastQueryOnly: perProbe - saved };
}

/** Best GFLOP/s of a one-MatMul model [m, k] × [k, n] over repeated runs (≥ 1 s in total). */
async function matmulRate(m: number, k: number, n: number): Promise<number> {
  const rng = new Rng(3);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'matmul',
      node: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'], name: 'mm' }],
      initializer: [floatTensor('w', [k, n], rng.normals(k * n))],
      input: [
        {
          name: 'x',
          type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: m }, { dimValue: k }] } } },
        },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
    },
  });
  const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3 });
  const x = new ort.Tensor('float32', rng.normals(m * k), [m, k]);
  try {
    await session.run({ x }); // warm-up
    let bestMs = Infinity;
    let total = 0;
    for (let r = 0; r < 3 || total < 1000; r++) {
      const start = performance.now();
      await session.run({ x });
      const ms = performance.now() - start;
      total += ms;
      bestMs = Math.min(bestMs, ms);
    }
    return (2 * m * k * n) / (bestMs / 1000) / 1e9;
  } finally {
    await session.release();
  }
}

export async function flopsSection(
  model: BenchModel,
  s: BenchSettings,
  verify: VerifyTimes | null,
): Promise<void> {
  heading('FLOP-limit estimate');
  const probe = benchProbes(model, 1, s.maxLen)[0];
  const last = await countFlops(model.last, probe, s.blocks, s.maxLen);
  const all = await countFlops(model.all, probe, s.blocks, s.maxLen);
  const P = verify?.probes ?? s.probes;
  const g = (f: number): string => `${((f * P) / 1e9).toFixed(2)} GFLOP`;
  console.log(
    `per pass of ${P} probes (MatMul/Gemm): last export ${g(last.perProbe)} ` +
      `(${g(last.lastQueryOnly)} if the last block computed only the last query), all export ${g(all.perProbe)}`,
  );
  const shapes: [number, number, number][] = [
    [64, s.hidden, s.numItems + 1], // one scoring batch's item head
    [1000, s.hidden, s.numItems + 1], // every probe's head in one product
    [1024, 1024, 1024], // square: the kernel's best case
  ];
  const rates: number[] = [];
  const rows = [['MatMul [m,k]×[k,n]', 'GFLOP/s', 'load after']];
  for (const [m, k, n] of shapes) {
    rates.push(await matmulRate(m, k, n));
    rows.push([`${m}×${k} · ${k}×${n}`, rates[rates.length - 1].toFixed(1), loadText()]);
  }
  table(rows);
  const peak = Math.max(...rates);
  const bound = ((last.perProbe * P) / 1e9 / peak) * 1000;
  const boundLastQuery = ((last.lastQueryOnly * P) / 1e9 / peak) * 1000;
  console.log(
    `lower bound at ${peak.toFixed(1)} GFLOP/s: ${seconds(bound)} (${seconds(boundLastQuery)} last query only)` +
      (verify
        ? `; RecMark measured ${seconds(verify.recmarkMs)} = ${(verify.recmarkMs / bound).toFixed(1)}× the bound`
        : '; RecMark time: run the verify section too'),
  );
}
