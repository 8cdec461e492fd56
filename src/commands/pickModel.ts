/** Choose an .onnx checkpoint: the active one, else a quick pick over the workspace, else a file dialog. */
import * as vscode from 'vscode';

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
  const items = files
    .map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const choice = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'ONNX checkpoint',
  });
  return choice?.uri;
}
