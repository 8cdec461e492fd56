/**
 * The utility panel: each metric before and after with its 95% interval (when the report has
 * one), the relative change with its interval, and the users it was measured on. Every number
 * comes from the report (core/utility.ts); older saved reports without intervals show none.
 */
import type { AuditReport } from '../../src/core/report/report';
import { int, signed } from './format';
import { dataTable } from './tables';
import { el } from './toolkit';

/** A metric with its 95% interval beneath, when the report has one (older reports do not). */
function metricCell(value: number, ci?: [number, number]): Node | string {
  if (!ci) return metric(value);
  return el(
    'span',
    {},
    metric(value),
    el('span', { class: 'rm-note rm-ci' }, ` (${metric(ci[0])}–${metric(ci[1])})`),
  );
}

export function utilityTable(report: AuditReport): HTMLElement {
  const rows = (report.utility ?? []).map((u) => {
    const { change, ci95 } = u;
    const changeCell =
      change !== undefined && Number.isFinite(change)
        ? el(
            'span',
            { class: change < -0.01 ? 'rm-worse' : 'rm-same' },
            `${signed(change * 100, 1)}%`,
            ...(ci95
              ? [
                  el(
                    'span',
                    { class: 'rm-note rm-ci' },
                    ` (${signed(ci95[0] * 100, 1)} … ${signed(ci95[1] * 100, 1)}%)`,
                  ),
                ]
              : []),
          )
        : '—';
    return [
      u.metric,
      metricCell(u.before, u.beforeCi95),
      metricCell(u.after, u.afterCi95),
      changeCell,
    ];
  });
  return dataTable('Utility before and after', ['Metric', 'Before', 'After', 'Change'], rows, [
    false,
    true,
    true,
    true,
  ]);
}

/** "Measured on 5,000 of 31,013 users (a seeded sample)": absent from older saved reports. */
export function utilityUsersNote(report: AuditReport): HTMLElement[] {
  const users = report.utility?.find((u) => u.users)?.users;
  if (!users) return [];
  const text =
    users.used === users.of
      ? `Measured on all ${int(users.of)} users with a held-out item.`
      : `Measured on ${int(users.used)} of ${int(users.of)} users (a seeded sample).`;
  const intervals = report.utility?.some((u) => u.beforeCi95 || u.ci95)
    ? ' In brackets: 95% confidence intervals.'
    : '';
  return [el('p', { class: 'rm-note' }, text + intervals)];
}

const metric = (x: number): string => (Math.abs(x) < 10 ? x.toFixed(4) : int(x));
