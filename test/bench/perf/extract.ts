/**
 * Section 5: data-free extraction of the bench model (EXTRACT_DEFAULTS: 3,000 synthetic
 * sequences, listwise loss, the victim's own architecture), wall time split into the victim's
 * queries and the surrogate's training, with the surrogate's top-10 overlap on held-out synthetic
 * prefixes (issue 17's target: under 5 minutes on 2 cores, fidelity no worse than before).
 */
import * as path from 'node:path';
import { EXTRACT_DEFAULTS, extractModel } from '../../../src/core/attack/extraction';
import { tempDir } from '../../support/helpers';
import type { BenchModel } from './model';
import { heading, loadText, seconds, timed, type BenchSettings } from './settings';

export async function extractSection(model: BenchModel, s: BenchSettings): Promise<void> {
  heading(
    `Data-free extraction: ${s.extractSequences} sequences (default ${EXTRACT_DEFAULTS.sequences}), ` +
      `${EXTRACT_DEFAULTS.loss}, arch ${EXTRACT_DEFAULTS.arch}`,
  );
  const out = path.join(tempDir('recmark-perf-extract-'), 'surrogate.onnx');
  const { value: r, ms } = await timed(() =>
    extractModel({ model: model.last, out, sequences: s.extractSequences }),
  );
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  console.log(
    `wall ${seconds(ms)} (${loadText()}): queries ${seconds(r.queries.seconds * 1000)} ` +
      `(${r.queries.total.toLocaleString('en-US')} at ${r.queries.perSecond.toFixed(0)}/s), ` +
      `training ${seconds(r.training.seconds * 1000)} (${r.training.steps} steps, ` +
      `${r.training.stepsPerSecond.toFixed(2)} steps/s, ${r.training.positions} positions, ${r.training.epochs} epochs)`,
  );
  console.log(
    `fidelity: top-10 overlap ${pct(r.fidelity.top10Overlap)} (chance ${pct(r.fidelity.chanceTop10)}), ` +
      `top-1 ${pct(r.fidelity.top1Agreement)}; steps ${r.timings.map((t) => `${t.step} ${seconds(t.ms)}`).join(', ')}`,
  );
  console.log('issue 17 target: under 5 minutes on 2 cores, top-10 overlap no worse than before');
}
