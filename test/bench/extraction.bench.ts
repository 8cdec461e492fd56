/**
 * Data-free extraction against watermarked SASRec victims (ml-latest-small, 3,650 items), and
 * whether the watermark survives in the surrogate (issue 6):
 *   (a) AOW victim  → surrogate → verifyAow   (target: Recall@10 of the watermark ≥ 80%)
 *   (b) GREW victim → surrogate → verifyGrew  (target: 'present' at α = 1e-3)
 *   (c) clean victim → surrogate → both keys  (must be 'absent')
 *   and an AOW victim embedded with `contextual: true` (the fix for (a)).
 * Prints the query budget and rate (queries/s), training steps and time, fidelity (top-10 overlap
 * with the victim on held-out synthetic prefixes and on users' histories) and leave-one-out
 * utility of victim and surrogate. Fixed seeds and secrets.
 * Env: EXTRACT_SEQUENCES (3000), EXTRACT_EPOCHS (default of extractModel), EXTRACT_ARCH (same),
 * EXTRACT_CASES (comma list of aow,grew,clean,aow-contextual; default all). About 3–5 minutes
 * per case on 2 cores.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  extractModel,
  type ExtractArch,
  type ExtractResult,
} from '../../src/core/attack/extraction';
import type { SyntheticQueries } from '../../src/core/attack/syntheticQueries';
import type { AuditReport } from '../../src/core/report/report';
import { embedAow } from '../../src/core/watermark/aow';
import { verifyAow } from '../../src/core/watermark/aowAudit';
import { embedGrew } from '../../src/core/watermark/grew';
import { verifyGrew } from '../../src/core/watermark/grewAudit';
import type { AowKey, GrewKey } from '../../src/core/watermark/key';
import { fixture, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';

const SECRET = Buffer.alloc(32, 0x3c);
const ALPHA = 1e-3;

function describeRun(label: string, r: ExtractResult, wallSeconds: number): string {
  const q = r.queries;
  const t = r.training;
  const f = r.fidelity;
  const u = r.utility;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return [
    `${label}: ${wallSeconds.toFixed(0)} s wall`,
    `  queries   ${q.training.toLocaleString('en-US')} training (${q.sequences} × ${q.length}, top-${q.topK}) + ${q.heldOut.toLocaleString('en-US')} held out in ${q.seconds.toFixed(1)} s = ${q.perSecond.toFixed(0)} queries/s`,
    `  training  ${r.arch}/${r.loss}, ${t.positions} positions, ${t.epochs} epochs, ${t.steps} steps in ${t.seconds.toFixed(1)} s (${t.stepsPerSecond.toFixed(2)} steps/s), loss ${t.firstLoss.toFixed(3)} → ${t.lastLoss.toFixed(3)}`,
    `  fidelity  held-out synthetic top-10 ${pct(f.top10Overlap)} (chance ${pct(f.chanceTop10)}), top-20 ${pct(f.top20Overlap)}, top-1 ${pct(f.top1Agreement)}` +
      (u ? `; users' histories top-10 ${pct(u.top10Overlap)}` : ''),
    u
      ? `  utility   Recall@10 ${u.victim.recall.toFixed(4)} → ${u.surrogate.recall.toFixed(4)}, NDCG@10 ${u.victim.ndcg.toFixed(4)} → ${u.surrogate.ndcg.toFixed(4)} (victim → surrogate)`
      : '',
    `  timings   ${r.timings.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}`,
  ]
    .filter(Boolean)
    .join('\n');
}

const aowLine = (r: AuditReport): string =>
  `AOW ${r.verdict} (p ${r.pValueText}): ranks ${r.aow!.ranks.join(', ')}, Recall@10 ${(100 * r.aow!.recall['10']).toFixed(0)}%`;
const grewLine = (r: AuditReport): string =>
  `GREW ${r.verdict} at α = ${ALPHA} (p ${r.pValueText}): z_w ${r.grew!.z.toFixed(2)}, z_null ${r.grew!.zNull.toFixed(2)}, green ${r.grew!.greenHits}/${r.grew!.trials}`;

/**
 * How much of the AOW watermark the thief's training queries could have seen: prefixes equal to
 * w1..wi, prefixes merely ending in wi, and how often the victim answered w(i+1) first there.
 */
function watermarkCoverage(q: SyntheticQueries, w: readonly number[], training: number): string {
  const exact = new Array<number>(w.length - 1).fill(0);
  const ending = new Array<number>(w.length - 1).fill(0);
  const endingTop1 = new Array<number>(w.length - 1).fill(0);
  q.sequences.slice(0, training).forEach((seq, s) =>
    seq.forEach((item, j) => {
      const i = w.indexOf(item);
      if (i < 0 || i === w.length - 1) return;
      ending[i]++;
      if (q.lists[s][j][0] === w[i + 1]) endingTop1[i]++;
      if (j === i && w.slice(0, i + 1).every((x, t) => seq[t] === x)) exact[i]++;
    }),
  );
  return (
    `training prefixes equal to w1..wi (i = 1..${w.length - 1}): ${exact.join(', ')}; ` +
    `ending in wi: ${ending.join(', ')} (victim's top-1 = w(i+1) in ${endingTop1.join(', ')})`
  );
}

async function main(): Promise<void> {
  const dir = tempDir('recmark-bench-');
  const data = movielensInteractionFile();
  const model = fixture('sasrec_opset17.onnx');
  const sequences = Number(process.env.EXTRACT_SEQUENCES ?? 3000);
  const epochs = process.env.EXTRACT_EPOCHS ? Number(process.env.EXTRACT_EPOCHS) : undefined;
  const arch = (process.env.EXTRACT_ARCH ?? 'same') as ExtractArch;
  const cases = (process.env.EXTRACT_CASES ?? 'aow,grew,clean,aow-contextual').split(',');
  console.log(
    `# Data-free extraction of sasrec_opset17.onnx, ${sequences} sequences, arch ${arch} (${os.cpus().length} cores, node ${process.version})`,
  );

  // Keys come from embedding the fixture; the clean case checks a surrogate of the unmarked fixture against both.
  const aow = await embedAow({
    model,
    out: path.join(dir, 'aow.onnx'),
    keyOut: path.join(dir, 'aow.wmkey.json'),
    data,
    secret: SECRET,
  });
  const grew = await embedGrew({
    model,
    out: path.join(dir, 'grew.onnx'),
    keyOut: path.join(dir, 'grew.wmkey.json'),
    data,
    secret: SECRET,
  });
  console.log(
    `victims: AOW ranks ${aow.evidence.ranks.join(', ')} (p ${aow.evidence.pValueText}); GREW z_w ${grew.evidence.z.toFixed(2)} (p ${grew.evidence.pValueText})`,
  );
  const aowKey: AowKey = aow.key;
  const grewKey: GrewKey = grew.key;
  const victims: Record<string, string> = { aow: aow.out, grew: grew.out, clean: model };
  if (cases.includes('aow-contextual')) {
    // The fix for (a): w_i → w(i+1) also taught after random history (same secret, same sequence).
    const ctx = await embedAow({
      model,
      out: path.join(dir, 'aow-contextual.onnx'),
      data,
      secret: SECRET,
      contextual: true,
    });
    console.log(
      `contextual AOW victim: ranks ${ctx.evidence.ranks.join(', ')}; ${ctx.utility.map((u) => `${u.metric} ${u.before.toFixed(4)} → ${u.after.toFixed(4)}`).join(', ')}`,
    );
    victims['aow-contextual'] = ctx.out;
  }

  for (const name of cases) {
    const out = path.join(dir, `surrogate-${name}.onnx`);
    const t = performance.now();
    let coverage = '';
    const r = await extractModel({
      model: victims[name],
      out,
      data,
      sequences,
      epochs,
      arch,
      onQueries: (q) => (coverage = watermarkCoverage(q, aowKey.sequence, sequences)),
    });
    console.log(describeRun(`(${name}) ${name} victim`, r, (performance.now() - t) / 1000));
    console.log(`  AOW keys  ${coverage}`);
    // Both keys on every surrogate: the other key is a false-positive check.
    console.log(`  verify    ${aowLine(await verifyAow({ model: out, key: aowKey }))}`);
    console.log(
      `  verify    ${grewLine(await verifyGrew({ model: out, key: grewKey, data, alpha: ALPHA }))}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
