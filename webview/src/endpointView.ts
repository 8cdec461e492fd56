/**
 * The endpoint section of an audit through a live service: what the audit cost (queries spent,
 * retries, cache), how the service behaved (failures by kind, latency) and how many probes were
 * lost — the statistics above were computed on the answered ones only.
 */
import type { EndpointSection } from '../../src/core/report/report';
import { int, num } from './format';
import { dataTable, keyValueTable } from './tables';
import { el } from './toolkit';

const ms = (x: number): string => `${num(x, x < 10 ? 1 : 0)} ms`;

export function renderEndpoint(e: EndpointSection): HTMLElement {
  const f = e.failures;
  const http = Object.entries(f.http).sort(([a], [b]) => Number(a) - Number(b));
  const failureRows: [string, string][] = [
    ['Timeouts', int(f.timeout)],
    ['Network errors', int(f.network)],
    ...http.map(([status, count]): [string, string] => [`HTTP ${status}`, int(count)]),
    ['Malformed bodies', int(f.malformed)],
  ];
  const lat = e.latencyMs;
  const table = keyValueTable('Endpoint', [
    ['Endpoint', el('span', {}, `${e.name} · `, el('code', {}, `${e.method} ${e.url}`))],
    ['Answers', e.answers],
    [
      'Probes',
      `${int(e.probes.answered)} of ${int(e.probes.wanted)} answered, ${int(e.probes.lost)} lost`,
    ],
    [
      'Requests',
      `${int(e.requests.total)}: ${int(e.requests.answered)} answered, ${int(e.requests.fromCache)} from the cache, ${int(e.requests.lost)} lost`,
    ],
    [
      'Queries spent',
      `${int(e.queries.spent)}${e.queries.budget === null ? ' (no budget)' : ` of ${int(e.queries.budget)}`}, ${int(e.queries.retries)} retries`,
    ],
    [
      'Latency',
      lat
        ? `p50 ${ms(lat.p50)} · p90 ${ms(lat.p90)} · p99 ${ms(lat.p99)}`
        : '— (all from the cache)',
    ],
    ['Throughput', `${num(e.probesPerSecond, 1)} probes/s over ${num(e.seconds, 1)} s`],
  ]);
  const failures = dataTable(
    'Failed attempts by kind',
    ['Failure', 'Attempts'],
    failureRows.map(([k, v]) => [k, v]),
    [false, true],
  );
  const parts: HTMLElement[] = [table, failures];
  if (e.unknownIds > 0) {
    parts.push(
      el(
        'p',
        { class: 'rm-note' },
        `${int(e.unknownIds)} returned ids are not catalogue items (or not in the id map) and were skipped.`,
      ),
    );
  }
  if (e.note) parts.push(el('p', { class: 'rm-note rm-endpoint-note', role: 'note' }, e.note));
  return el('div', { class: 'rm-endpoint' }, ...parts);
}
