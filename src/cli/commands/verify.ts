/** verify MODEL (or --endpoint PROFILE) --key KEY: the audit report. */
import { ENDPOINT_CACHE_DIR } from '../../core/endpoint/cache';
import { verifyEndpoint } from '../../core/endpoint/verify';
import { sidecarPath } from '../../core/onnx/sidecar';
import { reportLines } from '../../core/report/text';
import { DEFAULT_ALPHA } from '../../core/report/report';
import { GREW_DEFAULTS } from '../../core/watermark/grew';
import { readKeyFile } from '../../core/watermark/keyFile';
import { verifyWithKeys } from '../../core/watermark/verify';
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
} from '../args';
import { writeHtmlReport } from '../htmlReport';
import { printJson, printLines, stepPrinter } from '../output';
import { command, flag, REQUIRED, str } from '../spec';
import { checkOutput } from '../targets';

/** The audit's options, shared with the verifications inside robustness and attack overwrite. */
export const PROBES = str(
  'N',
  'probe histories the model is queried with (GREW)',
  GREW_DEFAULTS.probes,
);
export const ALPHA = str('A', 'significance level: PRESENT needs a p-value below A', DEFAULT_ALPHA);
export const REPORT_HTML = str('FILE', 'also write the report as a standalone HTML page', 'none');

export const VERIFY = command({
  name: 'verify',
  synopsis: [
    'verify MODEL --key KEY [--key KEY2 ...] [--data FILE] [options]',
    'verify --endpoint PROFILE.recmark-endpoint.json --key KEY [--data FILE] [options]',
  ],
  about: `Check a suspect model for the watermark of KEY (GREW or AOW, read from the key file);
prints the verdict and the evidence. With several keys: one report, strongest first.
With --endpoint, the same audit through a live recommendation endpoint (black-box, within
the query budget); also prints queries spent, failures, probes lost and latency. Secrets the
profile names (\${secret:NAME}) come from RECMARK_SECRET_<NAME>. Answers are cached, so a
re-run only pays for what is missing.`,
  options: {
    key: {
      ...str(
        'KEY',
        'a key file (GREW or AOW); repeat for several keys, one with --endpoint',
        REQUIRED,
      ),
      multiple: true,
    },
    ...dataOptions("GREW's probe histories from its users instead of sampled from the model"),
    probes: PROBES,
    'top-k': str(
      'K',
      'how many top recommendations of each probe are counted (GREW)',
      `the key's, else ${GREW_DEFAULTS.topK}`,
    ),
    'null-keys': str(
      'N',
      'random keys audited alike, to calibrate what chance looks like (GREW)',
      GREW_DEFAULTS.nullKeys,
    ),
    alpha: ALPHA,
    seed: seedOption(),
    'report-html': REPORT_HTML,
    force: FORCE,
    json: JSON_OUTPUT,
    endpoint: str(
      'PROFILE',
      'audit the live service PROFILE describes instead of a MODEL file',
      'none',
    ),
    budget: str('N', 'with --endpoint: the most queries to spend', 'no limit'),
    cache: str(
      'DIR',
      "with --endpoint: where the service's answers are cached",
      ENDPOINT_CACHE_DIR,
    ),
    'no-cache': flag('with --endpoint: ask the service afresh and cache nothing'),
  },
});

export async function verifyCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, VERIFY);
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
