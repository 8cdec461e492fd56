/**
 * Section 4: the same weights exported two ways — last position ([batch, N]) and all positions
 * ([batch, T, N], what a training-time forward returns) — through the product end to end:
 * `embed grew --data` (embedGrew), `verify` (verifyGrew with the key on the marked file) and
 * `attack finetune` (finetuneAttack on the marked file), each timed, with the all/last ratio
 * (issue 17's target: ≤ 1.5×). A fixed secret, so both twins get the same key material.
 */
import * as path from 'node:path';
import { finetuneAttack } from '../../../src/core/attack/finetune';
import { embedGrew, type EmbedGrewResult } from '../../../src/core/watermark/grew';
import { verifyGrew } from '../../../src/core/watermark/grewAudit';
import { tempDir } from '../../support/helpers';
import { userSampleFile } from './beauty';
import type { BenchModel } from './model';
import { heading, loadText, ratio, seconds, table, timed, type BenchSettings } from './settings';

const SECRET = new Uint8Array(32).fill(0x5a);

interface TwinRun {
  /** Wall ms per step; NaN when the step failed or could not run. */
  embed: number;
  verify: number;
  finetune: number;
  loads: string[];
}

/** What a step's failure reads as in the notes (the bench goes on with the next step). */
const failure = (step: string, err: unknown): string =>
  `${step} FAILED: ${err instanceof Error ? err.message : String(err)}`;

async function runTwin(
  label: string,
  file: string,
  data: string,
  dir: string,
  s: BenchSettings,
): Promise<TwinRun> {
  const name = path.basename(file, '.onnx');
  const run: TwinRun = { embed: NaN, verify: NaN, finetune: NaN, loads: [] };
  // Each step is printed as it ends, so a run cut short still shows what finished.
  const note = (line: string): void => {
    console.log(`  ${label}: ${line} (${loadText()})`);
    run.loads.push(loadText());
  };
  let marked: EmbedGrewResult | null = null;
  try {
    const embed = await timed(() =>
      embedGrew({
        model: file,
        out: path.join(dir, `${name}.grew.onnx`),
        data,
        secret: SECRET,
        maxSteps: s.grewSteps,
        targetZ: s.grewTargetZ,
      }),
    );
    marked = embed.value;
    run.embed = embed.ms;
    note(
      `embed ${seconds(embed.ms)}: z_w ${marked.evidence.z.toFixed(2)}, ${marked.training?.steps ?? 0} training steps; ` +
        `steps ${marked.timings.map((t) => `${t.step} ${seconds(t.ms)}`).join(', ')}`,
    );
  } catch (err) {
    note(failure('embed', err));
  }
  if (marked) {
    const key = marked.key;
    const verify = await timed(() => verifyGrew({ model: marked.out, key, data }));
    run.verify = verify.ms;
    note(`verify ${seconds(verify.ms)}: ${verify.value.verdict} (p ${verify.value.pValueText})`);
  } else note('verify: skipped (no key without an embed)');
  // The thief fine-tunes the marked model (the original when the embed failed).
  try {
    const finetune = await timed(() =>
      finetuneAttack({
        model: marked?.out ?? file,
        data,
        out: path.join(dir, `${name}.finetuned.onnx`),
      }),
    );
    const f = finetune.value;
    run.finetune = finetune.ms;
    note(
      `finetune ${seconds(finetune.ms)}${marked ? '' : ' (of the unmarked model)'}: ${f.steps} steps on ${f.users.finetuned} users; ` +
        `steps ${f.timings.map((t) => `${t.step} ${seconds(t.ms)}`).join(', ')}`,
    );
  } catch (err) {
    note(failure('finetune', err));
  }
  return run;
}

export async function endToEndSection(model: BenchModel, s: BenchSettings): Promise<void> {
  heading(`Last- vs all-position export, end to end (data file: ${s.users} Beauty users)`);
  const dir = tempDir('recmark-perf-e2e-');
  const data = userSampleFile(s.cacheDir, model.key, model.sequences, s.users);
  if (s.grewSteps || s.grewTargetZ)
    console.log(
      `GREW in the weights: step cap ${s.grewSteps ?? 'default'}, z_w target ${s.grewTargetZ ?? 'default'} (BENCH_GREW_STEPS, BENCH_GREW_TARGET_Z)`,
    );
  const last = await runTwin('last', model.last, data, dir, s);
  const all = await runTwin('all', model.all, data, dir, s);
  const steps = ['embed grew --data', 'verify', 'attack finetune'] as const;
  const keys = ['embed', 'verify', 'finetune'] as const;
  table([
    ['step', 'last', 'all', 'all/last', 'load after last', 'load after all'],
    ...keys.map((k, i) => [
      steps[i],
      Number.isNaN(last[k]) ? 'failed' : seconds(last[k]),
      Number.isNaN(all[k]) ? 'failed' : seconds(all[k]),
      Number.isNaN(all[k] + last[k]) ? '—' : ratio(all[k], last[k]),
      last.loads[i],
      all.loads[i],
    ]),
  ]);
  console.log('issue 17 target: all/last ≤ 1.5× for each step');
}
