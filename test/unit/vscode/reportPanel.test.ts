/**
 * Issue 18's report panel: one tab per audited model (a new report on the same model reuses
 * its tab), restored after a window reload from the webview's state (validated: it is untrusted),
 * and exports that propose a name no saved report or earlier export has.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { AuditReport } from '../../../src/core/report/report';
import { REPORTS_DIR, saveReport } from '../../../src/core/report/store';
import type { HostMessage } from '../../../src/vscode/protocol';
import { ROOT, tempDir } from '../../support/helpers';
import {
  answers,
  install,
  recorded,
  resetRecorded,
  stubPanel,
  Uri,
} from '../../support/vscodeStub';

install();

function report(fileName: string, verdict: AuditReport['verdict'] = 'present'): AuditReport {
  return {
    kind: 'recmark-audit',
    scheme: 'grew',
    verdict,
    createdAt: '2026-12-01T10:00:00.000Z',
    model: { fileName, sha256: 'ab'.repeat(32) },
  } as AuditReport;
}

const settle = () => new Promise((r) => setTimeout(r, 20));
/** The panel handles a message without returning its promise: wait for the nth save dialog. */
async function saveDialogs(n: number): Promise<void> {
  for (let waited = 0; recorded.saveDefaults.length < n && waited < 5000; waited += 10)
    await new Promise((r) => setTimeout(r, 10));
}
const posted = () => recorded.posted as HostMessage[];

test('one tab per model: a second report on the same model reuses its tab, at the top', async () => {
  resetRecorded();
  const { ReportPanel } = await import('../../../src/vscode/reportPanel');
  const ext = Uri.file(ROOT) as never;
  const rerun = async () => undefined;
  ReportPanel.show(ext, report('a.onnx'), { modelKey: '/ws/a.onnx', rerun });
  const aReady = recorded.webviewHandlers.at(-1)!;
  ReportPanel.show(ext, report('b.onnx'), { modelKey: '/ws/b.onnx' });
  assert.equal(recorded.ui.filter((u) => u === 'createWebviewPanel').length, 2);
  await aReady({ type: 'ready' });
  ReportPanel.show(ext, report('a.onnx', 'absent'), { modelKey: '/ws/a.onnx', rerun });
  await settle();
  assert.equal(recorded.ui.filter((u) => u === 'createWebviewPanel').length, 2, 'a reused');
  const reports = posted().filter((m) => m.type === 'report');
  assert.deepEqual(
    reports.map((m) => m.type === 'report' && [m.report.verdict, m.actions, m.state.modelKey]),
    [
      ['present', ['exportHtml', 'exportJson', 'rerun'], '/ws/a.onnx'],
      ['absent', ['exportHtml', 'exportJson', 'rerun'], '/ws/a.onnx'],
    ],
  );
});

test('a panel is restored after a reload from its state; a forged state is refused', async () => {
  resetRecorded();
  const { ReportPanel } = await import('../../../src/vscode/reportPanel');
  const dispose = ReportPanel.registerSerializer(Uri.file(ROOT) as never);
  const serializer = recorded.panelSerializers.get('recmark.report') as {
    deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void>;
  };
  dispose.dispose();

  await serializer.deserializeWebviewPanel(stubPanel(), {
    report: report('c.onnx'),
    modelKey: '/ws/c.onnx',
  });
  await recorded.webviewHandlers.at(-1)!({ type: 'ready' });
  const restored = posted().at(-1)!;
  assert.equal(restored.type, 'report');
  assert.ok(restored.type === 'report' && restored.report.model.fileName === 'c.onnx');
  // No Re-run after a reload: the audit's inputs are gone with the old window.
  assert.ok(restored.type === 'report' && !restored.actions.includes('rerun'));

  for (const forged of [
    null,
    { report: { kind: 'recmark-audit' }, modelKey: '/x' },
    { report: report('d.onnx'), modelKey: 'x'.repeat(5000) },
    Object.create({ report: report('e.onnx'), modelKey: '/x' }) as unknown,
  ]) {
    await serializer.deserializeWebviewPanel(stubPanel(), forged);
    await recorded.webviewHandlers.at(-1)!({ type: 'ready' });
    const shown = posted().at(-1)!;
    assert.equal(shown.type, 'error', JSON.stringify(forged));
  }
});

test('Export JSON proposes the workspace folder under a name no saved report or export has', async () => {
  resetRecorded();
  const { ReportPanel } = await import('../../../src/vscode/reportPanel');
  const ws = tempDir();
  const r = report('m.onnx');
  const saved = await saveReport(ws, r);
  assert.equal(path.dirname(saved), path.join(ws, REPORTS_DIR));
  ReportPanel.show(Uri.file(ROOT) as never, r, { modelKey: path.join(ws, 'm.onnx'), root: ws });
  const handler = recorded.webviewHandlers.at(-1)!;
  const stem = path.basename(saved, '.json');

  answers.saveDialog.push(undefined);
  await handler({ type: 'action', action: 'exportJson' });
  await saveDialogs(1);
  // An earlier export with that name: the next proposal is numbered past it.
  writeFileSync(path.join(ws, `${stem}-export.json`), '{}');
  mkdirSync(path.join(ws, `${stem}-export-2.json`)); // even a folder of that name
  answers.saveDialog.push(undefined);
  await handler({ type: 'action', action: 'exportJson' });
  await saveDialogs(2);
  answers.saveDialog.push(undefined);
  await handler({ type: 'action', action: 'exportHtml' });
  await saveDialogs(3);
  assert.deepEqual(recorded.saveDefaults, [
    path.join(ws, `${stem}-export.json`),
    path.join(ws, `${stem}-export-3.json`),
    path.join(ws, `${stem}-export.html`),
  ]);
  assert.ok(recorded.saveDefaults.every((f) => f !== saved));
});
