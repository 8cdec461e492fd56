import { ATTACK_KINDS, robustnessSweep, type AttackKind } from '../../core/attack/robustness';
import { sidecarPath } from '../../core/onnx/sidecar';
import { reportLines } from '../../core/report/text';
import { readKeyFile } from '../../core/watermark/keyFile';
import {
  DATA_OPTIONS,
  dataInputs,
  dataRef,
  intOption,
  numberOption,
  parse,
  UsageError,
  utilityUsersOption,
} from '../args';
import { writeHtmlReport } from '../htmlReport';
import { printJson, printLines, stepPrinter } from '../output';
import { checkOutput } from '../targets';

/** robustness MODEL --key KEY: attack a watermarked model many ways, verify after each. */
export async function robustnessCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    key: { type: 'string' },
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    attacks: { type: 'string' },
    probes: { type: 'string' },
    seed: { type: 'string' },
    alpha: { type: 'string' },
    'report-html': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
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
