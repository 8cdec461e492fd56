/** The endpoint section of a report as plain text lines (the CLI's human-readable output). */
import type { EndpointSection } from '../report/report';

const n = (x: number): string => x.toLocaleString('en-US');

/** "429 ×3, 500 ×2" */
export function httpFailures(http: Record<string, number>): string {
  return Object.entries(http)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status} ×${n(count)}`)
    .join(', ');
}

export function endpointLines(e: EndpointSection): string[] {
  const f = e.failures;
  const failures = [
    f.timeout > 0 ? `timeouts ${n(f.timeout)}` : '',
    f.network > 0 ? `network errors ${n(f.network)}` : '',
    Object.keys(f.http).length > 0 ? `HTTP ${httpFailures(f.http)}` : '',
    f.malformed > 0 ? `malformed bodies ${n(f.malformed)}` : '',
  ].filter((s) => s !== '');
  const lat = e.latencyMs;
  const lines = [
    `endpoint ${e.name}: ${e.method} ${e.url} (${e.answers})`,
    `probes ${n(e.probes.answered)} of ${n(e.probes.wanted)} answered, ${n(e.probes.lost)} lost; ` +
      `requests ${n(e.requests.total)} (${n(e.requests.fromCache)} from the cache, ${n(e.requests.answered)} answered, ${n(e.requests.lost)} lost)`,
    `queries spent ${n(e.queries.spent)}${e.queries.budget === null ? '' : ` of a budget of ${n(e.queries.budget)}`}, ` +
      `retries ${n(e.queries.retries)}; failures: ${failures.length > 0 ? failures.join(', ') : 'none'}`,
    lat
      ? `latency p50 ${lat.p50} ms, p90 ${lat.p90} ms, p99 ${lat.p99} ms; ${e.probesPerSecond} probes/s over ${e.seconds.toFixed(1)} s`
      : 'no request was sent: every answer came from the cache',
  ];
  if (e.note) lines.push(`note: ${e.note}`);
  return lines;
}
