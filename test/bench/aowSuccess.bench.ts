/**
 * AOW success rate (issue 18): embed with 10 different secrets on every fixture and count how
 * many succeed (every prefix's target at rank 1, the model written), with the steps it took and
 * the NDCG@10 change each run cost. The user's path: `embed aow --data` on MovieLens
 * (AOW_MODE=distil for the data-free path). AOW_SECRETS sets the count; AOW_FIXTURES names
 * other fixtures (e.g. population/sasrec_d32_seed1, a smaller SASRec).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RecMarkError } from '../../src/core/errors';
import { embedAow } from '../../src/core/watermark/aow';
import { fixture, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';

const FIXTURES = ['sasrec_opset17', 'sasrec_opset13', 'bert4rec', 'gru4rec', 'narm'];

interface Run {
  ok: boolean;
  steps: number;
  seconds: number;
  ndcgDrop: number | null;
  /** Top-10 overlap with the original (on data histories, or sampled without data). */
  overlap: number | null;
  distilled: boolean;
  why: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** A relative NDCG@10 change, signed: "−3.4%" is a loss, "+19.4%" a gain. */
const change = (drop: number) => `${drop > 0 ? '−' : '+'}${pct(Math.abs(drop))}`;

async function one(model: string, secretNo: number, dir: string, data?: string): Promise<Run> {
  const t = performance.now();
  const secret = Buffer.alloc(32, 0);
  secret.writeUInt32BE(0x5ec0 + secretNo, 0);
  try {
    const r = await embedAow({
      model: fixture(`${model}.onnx`),
      out: path.join(dir, `${path.basename(model)}-${secretNo}.onnx`),
      data,
      secret,
    });
    const ndcg = r.utility.find((u) => u.metric === 'NDCG@10');
    return {
      ok: true,
      steps: r.training.steps,
      seconds: (performance.now() - t) / 1000,
      ndcgDrop: ndcg ? (ndcg.before - ndcg.after) / ndcg.before : null,
      overlap: r.utility.find((u) => u.metric.startsWith('Top-10 overlap'))?.after ?? null,
      distilled: r.guard.distilled,
      why: `ranks ${r.evidence.ranks.join(',')}`,
    };
  } catch (err) {
    if (!(err instanceof RecMarkError)) throw err;
    return {
      ok: false,
      steps: NaN,
      seconds: (performance.now() - t) / 1000,
      ndcgDrop: null,
      overlap: null,
      distilled: false,
      why: err.message,
    };
  }
}

async function main(): Promise<void> {
  const secrets = Number(process.env.AOW_SECRETS ?? 10);
  const only = process.env.AOW_FIXTURES?.split(',');
  const distil = process.env.AOW_MODE === 'distil';
  const data = distil ? undefined : movielensInteractionFile();
  const dir = tempDir('recmark-aow-success-');
  console.log(
    `# AOW success over ${secrets} secrets per fixture, ${distil ? 'self-distilled (no data)' : 'with --data (MovieLens)'} ` +
      `(${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}, node ${process.version})`,
  );
  const summary: string[] = [];
  for (const model of only ?? FIXTURES) {
    const runs: Run[] = [];
    for (let s = 0; s < secrets; s++) {
      const run = await one(model, s, dir, data);
      runs.push(run);
      console.log(
        `${model} secret ${s}: ${run.ok ? 'ok' : 'FAILED'} ${run.ok ? `${run.steps} steps, ` : ''}` +
          `${run.seconds.toFixed(0)} s` +
          (run.ndcgDrop === null ? '' : `, NDCG@10 ${change(run.ndcgDrop)}`) +
          (run.overlap === null ? '' : `, top-10 overlap ${pct(run.overlap)}`) +
          (run.distilled ? ' (redone distilling: training on the data cost too much)' : '') +
          `; ${run.why}`,
      );
    }
    const ok = runs.filter((r) => r.ok);
    const drops = ok.map((r) => r.ndcgDrop).filter((d): d is number => d !== null);
    const steps = ok.map((r) => r.steps).sort((a, b) => a - b);
    const overlaps = ok.map((r) => r.overlap).filter((o): o is number => o !== null);
    summary.push(
      `${model.padEnd(15)} ${ok.length}/${runs.length} succeeded (${pct(ok.length / runs.length)}); ` +
        (steps.length ? `steps ${steps[0]}–${steps[steps.length - 1]}; ` : '') +
        (drops.length
          ? `NDCG@10 change mean ${change(drops.reduce((a, b) => a + b, 0) / drops.length)}, ` +
            `from ${change(Math.max(...drops))} to ${change(Math.min(...drops))}; ` +
            `${ok.filter((r) => r.distilled).length} redone distilling; `
          : '') +
        (overlaps.length
          ? `top-10 overlap ${pct(Math.min(...overlaps))}–${pct(Math.max(...overlaps))}; `
          : '') +
        `${(runs.reduce((a, r) => a + r.seconds, 0) / runs.length).toFixed(0)} s per embed`,
    );
  }
  console.log(`\n# summary (load ${os.loadavg()[0].toFixed(1)})\n${summary.join('\n')}`);
  console.log('issue 18 target: at least 95% on every fixture');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
