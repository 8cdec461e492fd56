/**
 * From-scratch SASRec on MovieLens latest-small (issue 4 item 4): build the graph in code at the
 * fixture's size (hidden 64, 2 blocks, 1 head, maxLen 50), train it with the ONNX training
 * engine on every (prefix → next item) transition of each user's train part (all-position
 * cross-entropy over windows, as make_fixtures.py does), early-stop on the validation item, and
 * compare leave-one-out NDCG@10 / Recall@10 on the test item with the PyTorch fixture.
 * Env: SCRATCH_EPOCHS (default 40), SCRATCH_LR (3e-3), SCRATCH_FRACTION (1), SCRATCH_PATIENCE (4),
 * SCRATCH_WD (AdamW weight decay, 4), SCRATCH_BATCH (128).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectAdapter } from '../../src/core/onnx/adapter';
import { encodeModel, readModel } from '../../src/core/onnx/model';
import { ScoringSession } from '../../src/core/onnx/session';
import { leaveOneOut } from '../../src/core/utility';
import { trainSasrecFromScratch } from '../support/scratch';
import { fixture, ROOT } from '../support/helpers';
import { movielensSequences } from '../support/movielens';

async function main(): Promise<void> {
  const epochs = Number(process.env.SCRATCH_EPOCHS ?? 40);
  const lr = Number(process.env.SCRATCH_LR ?? 3e-3);
  const fraction = Number(process.env.SCRATCH_FRACTION ?? 1);
  const patience = Number(process.env.SCRATCH_PATIENCE ?? 4);
  const weightDecay = Number(process.env.SCRATCH_WD ?? 4);
  const batchSize = Number(process.env.SCRATCH_BATCH ?? 128);
  const sequences = movielensSequences();
  const started = performance.now();
  const run = await trainSasrecFromScratch({
    sequences,
    numItems: 3650,
    epochs,
    lr,
    fraction,
    patience,
    weightDecay,
    batchSize,
    onEpoch: (e) =>
      console.log(`  epoch ${e} (${((performance.now() - started) / 1000).toFixed(0)} s)`),
  });
  const wall = (performance.now() - started) / 1000;
  for (const e of run.result.epochs)
    console.log(
      `  epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.heldOutLoss?.toFixed(4)}`,
    );
  console.log(
    `  valid NDCG@10 before ${run.validBefore.ndcg.toFixed(4)}, after ${run.validAfter.ndcg.toFixed(4)}`,
  );
  const ours = run.test;
  const fx = await readModel(fixture('sasrec_opset17.onnx'));
  const fxSession = await ScoringSession.open(encodeModel(fx.proto), detectAdapter(fx));
  const [theirs] = await leaveOneOut(fxSession, sequences, [10]);
  await fxSession.release();
  const metrics = JSON.parse(
    readFileSync(path.join(ROOT, 'test', 'fixtures', 'metrics.json'), 'utf8'),
  ) as Record<string, { ndcg10: number; recall10: number; trainSeconds: number; epochs: number }>;
  const m = metrics['sasrec_opset17.onnx'];
  console.log(
    `# From-scratch SASRec (d=64, 2 blocks, 1 head, T=50) on ${ours.users} users:\n` +
      `#   ours:    NDCG@10 ${ours.ndcg.toFixed(4)}  Recall@10 ${ours.recall.toFixed(4)}  ` +
      `(${run.result.epochs.length} epochs, ${run.result.steps} steps, best epoch ${run.bestEpoch}, ` +
      `${run.examples} windows, ${run.result.stepsPerSecond.toFixed(2)} steps/s, wall ${wall.toFixed(0)} s)\n` +
      `#   fixture: NDCG@10 ${theirs.ndcg.toFixed(4)}  Recall@10 ${theirs.recall.toFixed(4)}  ` +
      `(metrics.json ${m.ndcg10} / ${m.recall10}, ${m.epochs} epochs, ${m.trainSeconds} s in PyTorch)\n` +
      `#   ratio ours/fixture NDCG@10: ${(ours.ndcg / m.ndcg10).toFixed(3)} (bar ≥ 0.9)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
