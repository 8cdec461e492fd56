/**
 * An audit report as plain text lines: what the CLI prints and the extension logs. Pure: lines
 * in, lines out; the caller escapes them for its terminal or log (core/util/terminalSafe).
 */
import { endpointLines } from '../endpoint/format';
import { explainReport } from './explain';
import { parameterLabel } from './labels';
import { alphaText, pClause } from './plain';
import type { AuditReport, UtilityRow, UtilityUsersCount } from './report';

/** A metric value as every before/after line shows it. */
export const fmt = (n: number): string => n.toFixed(4);

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

/**
 * The half-width shown as "± h" for a metric's 95% interval: the larger side, so an interval
 * kept within the metric's range (or a bootstrap's uneven one) is never shown narrower.
 */
export function ciHalfWidth(value: number, ci: [number, number]): number {
  return Math.max(value - ci[0], ci[1] - value, 0);
}

/** "5,000 of 31,013 users" (or "all 610 users"): what a utility row rests on. */
export function usersText(users: UtilityUsersCount): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return users.used === users.of
    ? `all ${n(users.of)} users`
    : `${n(users.used)} of ${n(users.of)} users`;
}

/**
 * One line per metric: before → after (each ± its 95% CI half-width when known), with the
 * relative change and its 95% CI; then which users they rest on, when the rows say.
 */
export function utilityLines(rows: readonly UtilityRow[]): string[] {
  const ci = (u: { ci95?: [number, number] }): string =>
    u.ci95 ? `, 95% CI ${signed(u.ci95[0] * 100)} … ${signed(u.ci95[1] * 100)}%` : '';
  const value = (x: number, interval?: [number, number]): string =>
    interval ? `${fmt(x)} ± ${fmt(ciHalfWidth(x, interval))}` : fmt(x);
  const lines = rows.map(
    (u) =>
      `${u.metric.padEnd(30)} ${value(u.before, u.beforeCi95)} → ${value(u.after, u.afterCi95)}${u.change !== undefined ? ` (${signed(u.change * 100)}%${ci(u)})` : ''}`,
  );
  const users = rows.find((u) => u.users)?.users;
  if (users) {
    const sampled = users.used < users.of ? ', a seeded sample' : '';
    const interval = rows.some((u) => u.beforeCi95) ? '; ± is the 95% CI' : '';
    lines.push(`${'Utility measured on'.padEnd(30)} ${usersText(users)}${sampled}${interval}`);
  }
  return lines;
}

/**
 * The verdict with its one deciding p-value and what it means; the supporting statistics under
 * "Details", each with what it says; then robustness rows, other keys, parameters and the model.
 */
export function reportLines(r: AuditReport): string[] {
  // Saved reports from before the explanation was recorded are explained the same way here.
  const x = r.explanation ?? explainReport(r);
  const c = r.correction;
  const alpha = `α = ${alphaText(c?.alpha ?? r.alpha)}${c ? `, corrected for ${c.keys} keys tried` : ''}`;
  const lines = [
    `${r.verdict.toUpperCase()}  (${r.scheme.toUpperCase()}, ${pClause(r.pValueText)}, ${alpha})`,
    // No evidence has no p to explain: the sentence says why ("No verdict: …").
    ...(x.pSentence ? [x.pSentence] : []),
    r.sentence,
  ];
  if (x.decidedBy) lines.push(x.decidedBy);
  if (x.details.length > 0) {
    lines.push('Details');
    for (const d of x.details)
      lines.push(`  ${d.label}: ${d.value}${d.decides ? '  ← decides' : ''}`, `      ${d.meaning}`);
  }
  for (const row of r.robustness?.rows ?? []) {
    const m = row.metric;
    const metric = !m
      ? ''
      : m.name === 'Recall@10'
        ? `Recall@10 ${(m.value * 100).toFixed(0)}%`
        : `${m.name} ${m.value.toFixed(1)}`;
    const fidelity =
      row.fidelity !== undefined ? `, top-10 overlap ${(row.fidelity * 100).toFixed(0)}%` : '';
    lines.push(
      row.error
        ? `${row.label.padEnd(46)} not run: ${row.error}`
        : `${row.label.padEnd(46)} ${row.verdict.toUpperCase().padEnd(12)} ${pClause(row.pValueText).padEnd(12)} ${metric}${fidelity}`,
    );
    if (row.note && !row.error) lines.push(`${''.padEnd(46)} ${row.note}`);
  }
  for (const c of r.keyChecks ?? [])
    lines.push(
      `key ${c.keyId} (${c.scheme}): ${c.error ? `not checked: ${c.error}` : `${c.verdict}, ${pClause(c.pValueText)}`}`,
    );
  if (c)
    lines.push(
      `Corrected for ${c.keys} keys tried: each key's p is compared with α / ${c.keys} = ${alphaText(c.alpha)} (Bonferroni).`,
    );
  const parameters = Object.entries(r.parameters);
  if (parameters.length > 0)
    lines.push(
      `Parameters: ${parameters.map(([k, v]) => `${parameterLabel(k)} ${String(v)}`).join(' · ')}`,
    );
  if (r.endpoint) lines.push(...endpointLines(r.endpoint), `key id ${r.keyId}`);
  else
    lines.push(
      `model ${r.model.fileName} sha256 ${r.model.sha256.slice(0, 16)}…, key id ${r.keyId}`,
    );
  return lines;
}
