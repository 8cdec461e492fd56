/** verify MODEL (or --endpoint PROFILE) --key KEY: the audit report. */
import { ENDPOINT_CACHE_DIR } from '../../core/endpoint/cache';
import { verifyEndpoint } from '../../core/endpoint/verify';
import { sidecarPath } from '../../core/onnx/sidecar';
import { reportLines } from '../../core/report/text';
import { GREW_DEFAULTS } from '../../core/watermark/grew';
import { readKeyFile } from '../../core/watermark/keyFile';
import { verifyWithKeys } from '../../core/watermark/verify';
import {
  DATA_OPTIONS,
  dataInputs,
  dataRef,
  intOption,
  numberOption,
  parse,
  UsageError,
} from '../args';
import { writeHtmlReport } from '../htmlReport';
import { printJson, printLines, stepPrinter } from '../output';
import { checkOutput } from '../targets';

export async function verifyCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    key: { type: 'string', multiple: true },
    ...DATA_OPTIONS,
    probes: { type: 'string' },
    'top-k': { type: 'string' },
    'null-keys': { type: 'string' },
    seed: { type: 'string' },
    alpha: { type: 'string' },
    'report-html': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    endpoint: { type: 'string' },
    budget: { type: 'string' },
    cache: { type: 'string' },
    'no-cache': { type: 'boolean' },
  });
  const endpoint = values.endpoint;
  if (endpoint === undefined && positionals.length !== 1)
    throw new UsageError('verify takes exactly one MODEL path (or --endpoint PROFILE)');
  if (endpoint !== undefined && positionals.length !== 0)
    throw new UsageError('verify --endpoint PROFILE takes no MODEL path');
  if (endpoint === undefined) {
    for (const option of ['budget', 'cache', 'no-cache'] as const)
      if (values[option] !== undefined) throw new UsageError(`--${option} needs --endpoint`);
  }
  if (!values.key || values.key.length === 0)
    throw new UsageError('verify needs --key KEY.wmkey.json');
  if (endpoint !== undefined && values.key.length > 1)
    throw new UsageError('verify --endpoint takes one --key (each key spends queries)');
  const model = endpoint ?? positionals[0];
  const inputs = [model, ...values.key, ...dataInputs(values)];
  if (endpoint === undefined) inputs.push(sidecarPath(model));
  if (values['report-html'])
    await checkOutput(values['report-html'], inputs, values.force ?? false, '--report-html');
  const keys = [];
  for (const file of values.key) keys.push(await readKeyFile(file));
  const quiet = values.json ?? false;
  const common = {
    data: dataRef(values),
    probes: intOption(values.probes, 'probes') ?? GREW_DEFAULTS.probes,
    topK: intOption(values['top-k'], 'top-k'),
    nullKeys: intOption(values['null-keys'], 'null-keys'),
    seed: intOption(values.seed, 'seed'),
    alpha: numberOption(values.alpha, 'alpha'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  };
  const report =
    endpoint !== undefined
      ? await verifyEndpoint({
          ...common,
          profile: endpoint,
          key: keys[0],
          budget: intOption(values.budget, 'budget'),
          cacheDir: values['no-cache'] ? null : (values.cache ?? ENDPOINT_CACHE_DIR),
        })
      : await verifyWithKeys({ ...common, model, keys });
  if (values['report-html']) await writeHtmlReport(report, values['report-html']);
  if (quiet) printJson(report);
  else printLines(reportLines(report));
}
