/**
 * Choose an .onnx checkpoint: a quick pick over the workspace with the model open in the active
 * editor first (Enter takes it), else a file dialog.
 */
import * as vscode from 'vscode';
import { sidecarPath } from '../../core/onnx/sidecar';
import { checkOutputPath } from '../../core/util/files';

export async function pickModel(title: string): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.onnx', '**/node_modules/**', 500);
  if (files.length === 0) {
    const picked = await vscode.window.showOpenDialog({
      title,
      canSelectMany: false,
      filters: { 'ONNX models': ['onnx'] },
    });
    return picked?.[0];
  }
  const open = activeModel();
  const items = files
    .map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri, description: '' }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const current = open ? items.findIndex((item) => item.uri.fsPath === open.fsPath) : -1;
  if (current >= 0) {
    const [item] = items.splice(current, 1);
    items.unshift({ ...item!, description: 'open in the editor' });
  }
  const choice = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'ONNX checkpoint',
  });
  return choice?.uri;
}

/** The .onnx shown in the active editor tab (RecMark's model view or a text tab), if any. */
function activeModel(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri =
    input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText
      ? input.uri
      : undefined;
  return uri && /\.onnx$/i.test(uri.fsPath) ? uri : undefined;
}

/**
 * Where to save a model derived from `model` (suggested next to it as `<name><suffix>`); the
 * original is never a valid target, since RecMark never modifies it.
 */
export async function pickOutputModel(
  model: vscode.Uri,
  suffix: string,
  what: string,
): Promise<vscode.Uri | undefined> {
  const out = await vscode.window.showSaveDialog({
    title: `Save the ${what} as`,
    defaultUri: vscode.Uri.file(model.fsPath.replace(/\.onnx$/i, '') + suffix),
    filters: { 'ONNX models': ['onnx'] },
  });
  if (out && out.fsPath === model.fsPath)
    throw new Error(`The ${what} must be a new file; the original is never modified.`);
  // The CLI's rule: never an input (symlinks, hard links), a missing or read-only folder now,
  // not after minutes of work. The save dialog has already asked before replacing a file.
  if (out?.scheme === 'file')
    await checkOutputPath(out.fsPath, {
      flag: `The ${what}`,
      inputs: [model.fsPath, sidecarPath(model.fsPath)],
      force: true,
    });
  return out;
}
