/**
 * Training throughput: optimisation steps and sequences per second for the SASRec fixture at
 * batch 128 (forward, loss, gradients in onnxruntime; AdamW in JS), and — where Debian's
 * python3-torch is installed — the same step timed in PyTorch in the same run, as a ratio.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { readModel } from '../../src/core/onnx/model';
import { detectAdapter } from '../../src/core/onnx/adapter';
import { train } from '../../src/core/train/trainer';
import { Rng } from '../../src/core/util/random';
import { fixture, ROOT } from '../support/helpers';

const BATCH = 128;
const STEPS = Number(process.env.BENCH_TRAIN_STEPS ?? 30);

async function main(): Promise<void> {
  const model = await readModel(fixture('sasrec_opset17.onnx'));
  const adapter = detectAdapter(model);
  const rng = new Rng(1);
  const ids = adapter.itemIds;
  const pick = () => ids[rng.int(ids.length)];
  const examples = Array.from({ length: BATCH * STEPS }, () => ({
    history: Array.from({ length: 5 + rng.int(46) }, pick),
    target: pick(),
  }));
  const result = await train({
    model: model.proto,
    adapter,
    examples,
    batchSize: BATCH,
    maxSteps: STEPS,
    lr: 1e-3,
  });
  console.log(
    `# Training, sasrec_opset17 at batch ${BATCH} (${STEPS} steps): ${result.stepsPerSecond.toFixed(2)} steps/s, ` +
      `${result.sequencesPerSecond.toFixed(0)} sequences/s (graph build ${(result.setupMs / 1000).toFixed(1)} s)`,
  );
  const torch = spawnSync(
    '/usr/bin/python3',
    [path.join(ROOT, 'test', 'bench', 'torch_step.py'), String(BATCH), String(STEPS)],
    {
      encoding: 'utf8',
    },
  );
  if (torch.status !== 0) {
    console.log(
      '# PyTorch comparison skipped: /usr/bin/python3 with python3-torch is not installed.',
    );
    return;
  }
  const t = JSON.parse(torch.stdout.trim().split('\n').pop() ?? '{}') as {
    stepsPerSecond: number;
    torch: string;
    threads: number;
    blas: string;
  };
  console.log(
    `# PyTorch ${t.torch} (${t.threads} threads, BLAS ${t.blas}): ${t.stepsPerSecond.toFixed(2)} steps/s; ` +
      `RecMark/PyTorch = ${(result.stepsPerSecond / t.stepsPerSecond).toFixed(2)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
