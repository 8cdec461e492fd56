/**
 * Utility rows with their intervals and users (core/report/report.ts utilityRow): what the text
 * lines show (the CLI and the VS Code log), and that saved reports round-trip with and without
 * the fields (reports saved before RecMark recorded them still load and render).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { latestReportFor, saveReport } from '../../../../src/core/report/store';
import { reportVerdict, utilityRow, type AuditReport } from '../../../../src/core/report/report';
import { ciHalfWidth, usersText, utilityLines } from '../../../../src/core/report/text';
import { tempDir } from '../../../support/helpers';

const sampled = { used: 5000, of: 31_013 };

const withIntervals = () => [
  utilityRow('Recall@10', 0.08, 0.075, [-0.12, 0.01], {
    beforeCi95: [0.0725, 0.0875],
    afterCi95: [0.068, 0.082],
    users: sampled,
  }),
  utilityRow('Top-10 overlap with original', 1, 0.91, undefined, { users: sampled }),
];

test('a row carries its intervals and users only when given, as plain copies', () => {
  const users = { used: 10, of: 20 };
  const row = utilityRow('NDCG@10', 0.2, 0.1, [-0.6, -0.4], {
    beforeCi95: [0.15, 0.25],
    afterCi95: [0.05, 0.15],
    users,
  });
  assert.deepEqual(row, {
    metric: 'NDCG@10',
    before: 0.2,
    after: 0.1,
    change: -0.5,
    ci95: [-0.6, -0.4],
    beforeCi95: [0.15, 0.25],
    afterCi95: [0.05, 0.15],
    users: { used: 10, of: 20 },
  });
  assert.notEqual(row.users, users);
  // The old shape: nothing new appears.
  assert.deepEqual(Object.keys(utilityRow('Recall@10', 0.3, 0.3)), [
    'metric',
    'before',
    'after',
    'change',
  ]);
});

test('the text lines show each metric ± its interval, the change CI and the users', () => {
  const lines = utilityLines(withIntervals());
  assert.equal(
    lines[0],
    `${'Recall@10'.padEnd(30)} 0.0800 ± 0.0075 → 0.0750 ± 0.0070 (-6.25%, 95% CI -12.00 … +1.00%)`,
  );
  assert.equal(lines[1], `${'Top-10 overlap with original'.padEnd(30)} 1.0000 → 0.9100 (-9.00%)`);
  assert.equal(
    lines[2],
    `${'Utility measured on'.padEnd(30)} 5,000 of 31,013 users, a seeded sample; ± is the 95% CI`,
  );
  assert.equal(lines.length, 3);
  // Every user: no "sample"; rows without users (no data): no users line at all.
  const all = utilityLines([
    utilityRow('NDCG@10', 0.1, 0.1, undefined, { users: { used: 610, of: 610 } }),
  ]);
  assert.equal(all[1], `${'Utility measured on'.padEnd(30)} all 610 users`);
  assert.deepEqual(utilityLines([utilityRow('Top-10 overlap with original (sampled)', 1, 0.9)]), [
    `${'Top-10 overlap with original (sampled)'.padEnd(30)} 1.0000 → 0.9000 (-10.00%)`,
  ]);
  // An uneven interval is shown by its wider side, never narrower than it is.
  assert.equal(ciHalfWidth(0.01, [0, 0.05]), 0.04);
  assert.equal(ciHalfWidth(0.01, [0.002, 0.012]), 0.008);
  assert.equal(usersText({ used: 1234, of: 56_789 }), '1,234 of 56,789 users');
});

function report(utility: AuditReport['utility']): AuditReport {
  return {
    kind: 'recmark-audit',
    version: 1,
    createdAt: new Date(Date.UTC(2026, 11, 1, 11, 0, 0)).toISOString(),
    scheme: 'grew',
    ...reportVerdict('grew', { value: 1e-9, log10: -9 }, 1e-4),
    model: {
      fileName: 'm.onnx',
      sha256: 'ab'.repeat(32),
      bytes: 10,
      numItems: 100,
      parameters: 1000,
      opset: 17,
      input: 'input_ids',
      output: 'scores',
      outputRank: 2,
      padding: 'left',
      maskId: null,
    } as AuditReport['model'],
    keyId: 'grew-0123456789ab',
    parameters: {},
    timings: [],
    utility,
  };
}

test('saved reports round-trip with the new fields, and older ones without them still load', async () => {
  const root = tempDir();
  const fresh = report(withIntervals());
  await saveReport(root, fresh);
  const loaded = await latestReportFor(root, fresh.model.sha256);
  assert.deepEqual(loaded?.utility, fresh.utility);
  assert.deepEqual(utilityLines(loaded!.utility!), utilityLines(fresh.utility!));

  // A report saved before the intervals existed: rows of metric/before/after/change only.
  const oldRoot = tempDir();
  const old = report([
    { metric: 'Recall@10', before: 0.2431, after: 0.2417, change: 0.2417 / 0.2431 - 1 },
  ]);
  await saveReport(oldRoot, old);
  const oldLoaded = await latestReportFor(oldRoot, old.model.sha256);
  assert.ok(oldLoaded, path.join(oldRoot, '.recmark', 'reports'));
  assert.deepEqual(utilityLines(oldLoaded.utility!), [
    `${'Recall@10'.padEnd(30)} 0.2431 → 0.2417 (-0.58%)`,
  ]);
});
