/**
 * Issue 17's figures side by side in one run (`npm run bench:perf`): the 23,715-item SASRec
 * trained on Beauty and cached (perf/model.ts), verification against a plain onnxruntime session
 * and PyTorch (perf/verify.ts), the FLOP-limit estimate (perf/flops.ts), last- vs all-position
 * exports end to end (perf/endToEnd.ts) and data-free extraction (perf/extract.ts). Only public
 * core APIs are timed, so speed-ups inside them show here. Every timing is printed with the load
 * average: the machine is shared. Knobs in perf/settings.ts (BENCH_QUICK=1, BENCH_PARTS=...).
 */
import * as os from 'node:os';
import { endToEndSection } from './perf/endToEnd';
import { extractSection } from './perf/extract';
import { flopsSection } from './perf/flops';
import { benchModel } from './perf/model';
import { benchSettings, heading, loadText, seconds, timed } from './perf/settings';
import { verifySection, type VerifyTimes } from './perf/verify';

async function main(): Promise<void> {
  const s = benchSettings();
  console.log(
    `# RecMark perf bench (issue 17)${s.quick ? ' — BENCH_QUICK smoke sizes' : ''}: ` +
      `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${loadText()}`,
  );
  console.log(`# sections: ${[...s.parts].join(', ')}`);
  const { value: model, ms } = await timed(() => benchModel(s));
  if (!model) {
    console.log(`Beauty data not found at ${s.beauty} (set BENCH_BEAUTY): perf bench skipped.`);
    return;
  }
  if (s.parts.has('model')) {
    heading(
      `Model: SASRec, ${s.numItems.toLocaleString('en-US')} items, T = ${s.maxLen}, d = ${s.hidden}, ${s.blocks} blocks`,
    );
    console.log(`${model.last}\n${model.all}\ntrained: ${model.trained}; ready in ${seconds(ms)}`);
  }
  let verify: VerifyTimes | null = null;
  if (s.parts.has('verify')) verify = await verifySection(model, s);
  if (s.parts.has('flops')) await flopsSection(model, s, verify);
  // Extraction before the end-to-end pair: the all-position embed is the longest step of all.
  if (s.parts.has('extract')) await extractSection(model, s);
  if (s.parts.has('e2e')) await endToEndSection(model, s);
  console.log(`\n# done (${loadText()})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
