/**
 * Last-position rewrite: what a [batch, T, N] export costs against its [batch, N] twin. A SASRec
 * of 23,715 items (T = 50, d = 64) is built twice with the same weights, and 1,000 probes are
 * scored to top-20 through: the last-position export, the all-position export rewritten at
 * load (the default), and the all-position export with the rewrite off. Open time includes the
 * rewrite's probe run and numerical check. Run with `npm run bench`; the machine is shared, so
 * the load average is printed beside every figure and the ratios (taken back to back in one
 * process) are the point.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { detectAdapter } from '../../src/core/onnx/adapter';
import { encodeModel, type onnx } from '../../src/core/onnx/model';
import { ScoringSession } from '../../src/core/onnx/session';
import { buildSasrec } from '../../src/core/train/sasrecBuilder';
import { mulberry32 } from '../support/helpers';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 23_715);
const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
const K = 20;

const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

interface Run {
  label: string;
  scoring: string;
  openS: number;
  scoreS: number;
  lists: Int32Array[];
  loadAfter: string;
}

async function measure(
  label: string,
  proto: onnx.ModelProto,
  probes: number[][],
  lastPosition: boolean,
): Promise<Run> {
  const bytes = encodeModel(proto);
  const adapter = detectAdapter({ proto, file: `${label}.onnx`, fileBytes: 0, externalFiles: [] });
  const t0 = performance.now();
  const session = await ScoringSession.open(bytes, adapter, { lastPosition });
  const t1 = performance.now();
  const lists = await session.topK(probes, K);
  const t2 = performance.now();
  const scoring = session.scoring + (session.layout.note ? ` (${session.layout.note})` : '');
  await session.release();
  return {
    label,
    scoring,
    openS: (t1 - t0) / 1000,
    scoreS: (t2 - t1) / 1000,
    lists,
    loadAfter: load(),
  };
}

async function main(): Promise<void> {
  console.log(
    `# Last-position rewrite (${os.cpus().length} cores, node ${process.version}); load ${load()}`,
  );
  console.log(
    `# SASRec ${ITEMS} items, T = 50, d = 64; ${PROBES} probes of 1-60 items -> top-${K}\n`,
  );
  const options = { numItems: ITEMS, maxLen: 50, hidden: 64, seed: 1 };
  const last = buildSasrec({ ...options, output: 'last' });
  const all = buildSasrec({ ...options, output: 'all' });
  const rand = mulberry32(17);
  const probes = Array.from({ length: PROBES }, () =>
    Array.from({ length: 1 + Math.floor(rand() * 60) }, () => 1 + Math.floor(rand() * ITEMS)),
  );
  // Warm-up: loads onnxruntime so the first open is not charged for it.
  await measure('warm-up', last, probes.slice(0, 16), true);

  const runs = [
    await measure('last-position export', last, probes, true),
    await measure('all-position export, rewritten', all, probes, true),
    await measure('all-position export, rewrite off', all, probes, false),
  ];
  const base = runs[0];
  console.log(
    '| export | scoring | open s | score s | score vs last-position | same top-20 | load after |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    const same = r.lists.filter((l, i) => l.join() === base.lists[i].join()).length;
    console.log(
      `| ${r.label} | ${r.scoring} | ${r.openS.toFixed(2)} | ${r.scoreS.toFixed(2)} | ` +
        `${(r.scoreS / base.scoreS).toFixed(2)}x | ${same}/${PROBES} | ${r.loadAfter} |`,
    );
  }
  const [, rewritten, off] = runs;
  console.log(
    `\nrewrite vs off: scoring ${(off.scoreS / rewritten.scoreS).toFixed(1)}x faster; ` +
      `open +${(rewritten.openS - base.openS).toFixed(2)} s over the last-position export`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
