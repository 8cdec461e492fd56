/**
 * The default robustness sweep (DESIGN.md §6, issue 14) on watermarked SASRec models
 * (ml-latest-small, 3,650 items, with data): every row's verdict, headline number, top-10
 * overlap with the watermarked model, NDCG@10 and time, and the sweep's wall time — the number
 * behind "the default plan stays runnable in reasonable time". Fixed owner secrets; the thief's
 * overwrite keys are fresh and random, as in the product, so those rows vary a little per run.
 * Env: SWEEP_CASES (comma list of grew-serve,aow; default both), SWEEP_ATTACKS (comma list of
 * attack kinds, as `recmark robustness --attacks`; default all). About 8–17 minutes per case on
 * 2 cores shared with other jobs (extraction alone 6–11 minutes).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PLAN, robustnessSweep, type AttackKind } from '../../src/core/attack/robustness';
import type { AuditReport } from '../../src/core/report/report';
import { embedAow } from '../../src/core/watermark/aow';
import type { WatermarkKey } from '../../src/core/watermark/key';
import { fixture, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';
import { serveModeGrew } from '../support/serveGrew';

const data = movielensInteractionFile();
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function table(report: AuditReport): string {
  const rows = report.robustness!.rows;
  const pct = (x?: number) => (x === undefined ? '—' : `${(100 * x).toFixed(0)}%`);
  return rows
    .map((r) => {
      const metric = r.metric ? `${r.metric.name} ${r.metric.value.toFixed(2)}` : '';
      const what = r.error
        ? `NOT RUN: ${r.error}`
        : `${r.verdict.toUpperCase().padEnd(12)} p ${r.pValueText.padEnd(8)} ${metric.padEnd(16)} overlap ${pct(r.fidelity).padStart(4)}  NDCG@10 ${r.ndcg?.toFixed(4) ?? '—'}`;
      const note = r.note ? `\n${''.padEnd(58)}${r.note}` : '';
      return `  ${r.label.padEnd(56)}${what}  ${(r.ms / 1000).toFixed(1)} s\n${''.padEnd(58)}${r.setting}${note}`;
    })
    .join('\n');
}

const attacks = process.env.SWEEP_ATTACKS?.split(',') as AttackKind[] | undefined;

async function sweep(label: string, model: string, key: WatermarkKey): Promise<void> {
  const planned = DEFAULT_PLAN.filter((a) => !attacks || attacks.includes(a.attack)).length;
  console.log(`\n${label}: ${planned} attacks, load average before ${load()}`);
  const started = performance.now();
  const report = await robustnessSweep({ model, key, data, attacks });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label}: the model itself ${report.verdict.toUpperCase()} (p ${report.pValueText}), NDCG@10 ${report.robustness!.ndcg?.toFixed(4)}`,
  );
  console.log(table(report));
  console.log(
    `${label}: sweep ${(seconds / 60).toFixed(1)} min wall on ${os.cpus().length} cores, load average after ${load()}`,
  );
}

async function main(): Promise<void> {
  const cases = (process.env.SWEEP_CASES ?? 'grew-serve,aow').split(',');
  if (cases.includes('grew-serve')) {
    const { model, key } = await serveModeGrew('sasrec_opset17.onnx', data);
    await sweep('GREW (serve mode) SASRec', model, key);
  }
  if (cases.includes('aow')) {
    const out = path.join(tempDir(), 'aow.onnx');
    const r = await embedAow({
      model: fixture('sasrec_opset17.onnx'),
      out,
      data,
      secret: Buffer.alloc(32, 0x3c),
    });
    await sweep('AOW SASRec', out, r.key);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
