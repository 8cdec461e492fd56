import { ATTACK_KINDS, robustnessSweep, type AttackKind } from '../../core/attack/robustness';
import { sidecarPath } from '../../core/onnx/sidecar';
import { reportLines } from '../../core/report/text';
import { readKeyFile } from '../../core/watermark/keyFile';
import { DEFAULT_SEED } from '../../core/util/random';
import {
  dataInputs,
  dataOptions,
  dataRef,
  FORCE,
  intOption,
  JSON_OUTPUT,
  numberOption,
  parse,
  seedOption,
  UsageError,
  UTILITY_USERS,
  utilityUsersOption,
} from '../args';
import { writeHtmlReport } from '../htmlReport';
import { printJson, printLines, stepPrinter } from '../output';
import { command, REQUIRED, str } from '../spec';
import { checkOutput } from '../targets';
import { ALPHA, PROBES, REPORT_HTML } from './verify';

export const ROBUSTNESS = command({
  name: 'robustness',
  synopsis: [
    'robustness MODEL --key KEY [--data FILE] [--attacks extraction,finetune,...] [options]',
  ],
  about: `Robustness sweep of a watermarked MODEL: run extraction (3,000 sequences), fine-tuning on
1/5/10% of users (needs --data), pruning at 20/50/80%, noise at 0.1/0.5, int8
quantization, stripping post-processing, overwriting with a thief's own GREW and AOW
watermark, and extraction then fine-tuning on 10% (needs --data); verify KEY after each,
and print the audit with one row per attack. Writes no model files.`,
  options: {
    key: str('KEY', "the owner's key file, verified after each attack", REQUIRED),
    ...dataOptions('fine-tuning users, probes and utility before/after'),
    'utility-users': UTILITY_USERS,
    attacks: str(
      'LIST',
      `the attacks to run, comma-separated among ${ATTACK_KINDS.join(', ')}`,
      'all (finetune kinds only with --data)',
    ),
    probes: PROBES,
    alpha: ALPHA,
    seed: seedOption(DEFAULT_SEED),
    'report-html': REPORT_HTML,
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

/** robustness MODEL --key KEY: attack a watermarked model many ways, verify after each. */
export async function robustnessCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, ROBUSTNESS);
  if (positionals.length !== 1) throw new UsageError('robustness takes exactly one MODEL path');
  if (!values.key) throw new UsageError('robustness needs --key KEY.wmkey.json');
  const model = positionals[0];
  const kinds: readonly string[] = ATTACK_KINDS;
  const attacks = values.attacks?.split(',').map((a) => a.trim());
  const unknown = attacks?.filter((a) => !kinds.includes(a)) ?? [];
  if (unknown.length > 0)
    throw new UsageError(`--attacks takes ${kinds.join(', ')}; "${unknown.join(', ')}" is not one`);
  const inputs = [model, sidecarPath(model), values.key, ...dataInputs(values)];
  if (values['report-html'])
    await checkOutput(values['report-html'], inputs, values.force ?? false, '--report-html');
  const key = await readKeyFile(values.key);
  const quiet = values.json ?? false;
  const report = await robustnessSweep({
    model,
    key,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    attacks: attacks as AttackKind[] | undefined,
    probes: intOption(values.probes, 'probes'),
    seed: intOption(values.seed, 'seed'),
    alpha: numberOption(values.alpha, 'alpha'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (values['report-html']) await writeHtmlReport(report, values['report-html']);
  if (quiet) printJson(report);
  else printLines(reportLines(report));
}
