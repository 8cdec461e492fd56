/**
 * What people read for each parameter key a report (or a key) records: the CLI and the webview
 * both use this table. The webview bundle imports it at build time, so it must stay plain data
 * with no imports (test/unit/core/report/reportFigures.test.ts checks).
 */
export const PARAMETER_LABELS: Readonly<Record<string, string>> = {
  // GREW
  gamma: 'Green fraction γ',
  delta: 'Bias strength δ',
  kc: 'Candidate set Kc',
  protectHead: 'Protected head',
  probes: 'Probes',
  topK: 'Top-k list length',
  nullKeys: 'Null keys',
  probeSource: 'Probe source',
  unusableProbes: 'Unusable probes (left out)',
  // AOW
  length: 'Watermark length L',
  queries: 'Queries (L − 1 prefixes)',
  bottomM: 'Items drawn from the M lowest-scored',
  start: 'First item drawn from',
  unusablePrefixes: 'Unusable prefixes (left out)',
  // Either scheme, or an endpoint audit
  seed: 'Seed',
  endpoint: 'Endpoint profile',
  budget: 'Query budget',
};

/** The label for a key; an unknown key (a newer report) shows as it is. */
export function parameterLabel(key: string): string {
  return Object.hasOwn(PARAMETER_LABELS, key) ? PARAMETER_LABELS[key] : key;
}
