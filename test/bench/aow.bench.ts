/**
 * AOW embedding wall time on the SASRec fixture (ml-latest-small, 3,650 items) on this machine:
 * with the user's data (cross-entropy on their sequences) and without (self-distillation), each
 * from the first byte read to the key written, with the step breakdown.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { embedAow } from '../../src/core/watermark/aow';
import { fixture, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';

async function main(): Promise<void> {
  const dir = tempDir('recmark-bench-');
  console.log(
    `# AOW embed on sasrec_opset17.onnx (${os.cpus().length} cores, node ${process.version})`,
  );
  for (const data of [movielensInteractionFile(), undefined]) {
    const t = performance.now();
    const r = await embedAow({
      model: fixture('sasrec_opset17.onnx'),
      out: path.join(dir, `marked-${data ? 'data' : 'distil'}.onnx`),
      data,
      secret: Buffer.alloc(32, 0x3c),
    });
    const wall = (performance.now() - t) / 1000;
    const ndcg = r.utility.find((u) => u.metric === 'NDCG@10');
    const overlap = r.utility.find((u) => u.metric.startsWith('Top-10 overlap'))!;
    console.log(
      `${data ? 'with data      ' : 'self-distilled '}: ${wall.toFixed(1)} s wall (target < 120 s; ` +
        `${r.timings.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}); ` +
        `${r.training.steps} steps at ${r.training.stepsPerSecond.toFixed(1)} steps/s; ranks ${r.evidence.ranks.join(',')}; ` +
        (ndcg ? `NDCG@10 ${ndcg.before.toFixed(4)} → ${ndcg.after.toFixed(4)}; ` : '') +
        `top-10 overlap ${(overlap.after * 100).toFixed(1)}%`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
