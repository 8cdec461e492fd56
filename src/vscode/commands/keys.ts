/** Import, export and pick watermark keys (SecretStorage inside VS Code, files outside). */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { allowReplace } from '../../core/util/files';
import { addGitignoreLine, KEY_FILE_PATTERN } from '../../core/util/gitignore';
import * as notify from '../notify';
import type { WatermarkKey } from '../../core/watermark/key';
import { readKeyFile, writeKeyFile } from '../../core/watermark/keyFile';
import type { KeyStore } from '../keyStore';
import { log } from '../log';

export async function importKeyCommand(
  store: KeyStore,
  uri?: vscode.Uri,
): Promise<WatermarkKey | undefined> {
  const file =
    uri instanceof vscode.Uri
      ? uri
      : (
          await vscode.window.showOpenDialog({
            title: 'Import a RecMark key file',
            canSelectMany: false,
            filters: { 'RecMark keys': ['json'] },
          })
        )?.[0];
  if (!file) return undefined;
  const key = await readKeyFile(file.fsPath);
  await store.add(key, path.basename(file.fsPath));
  log.info(`Imported ${key.scheme.toUpperCase()} key ${key.keyId} into secret storage.`);
  void notify.showInformationMessage(
    `Imported ${key.scheme.toUpperCase()} key ${key.keyId}. It now lives in VS Code's secret storage; the file can be moved somewhere safe.`,
  );
  return key;
}

export async function exportKeyCommand(store: KeyStore): Promise<void> {
  const info = await pickStoredKey(store, 'Export which key?', false);
  if (!info || typeof info === 'string') return;
  const key = await store.get(info.keyId);
  if (!key) throw new Error(`Key ${info.keyId} is no longer in secret storage.`);
  const confirm = await notify.showWarningMessage(
    `The exported file contains the secret of key ${key.keyId}. Anyone holding it can verify — and forge — this watermark. Store it like a password.`,
    { modal: true },
    'Export',
  );
  if (confirm !== 'Export') return;
  // Outside the workspace by default: a key file in a repository gets committed.
  const target = await vscode.window.showSaveDialog({
    title: 'Export the key file (keep it outside your repositories)',
    defaultUri: vscode.Uri.joinPath(vscode.Uri.file(os.homedir()), `${key.keyId}.wmkey.json`),
    filters: { 'RecMark keys': ['json'] },
  });
  if (!target) return;
  if (!(await confirmInsideWorkspace(target))) return;
  // The save dialog asked before replacing an existing file.
  allowReplace(target.fsPath);
  await writeKeyFile(target.fsPath, key, true);
  log.info(`Exported key ${key.keyId} to a file (mode 0600).`);
  void notify.showInformationMessage(`Key ${key.keyId} exported (readable only by you).`);
}

const IGNORE = `Save and Add "${KEY_FILE_PATTERN}" to .gitignore`;
const SAVE_ANYWAY = 'Save Here Anyway';

/**
 * A key file inside a workspace folder can be committed: say so, and offer the .gitignore line
 * (added to that folder's .gitignore). False when the user backs out.
 */
async function confirmInsideWorkspace(target: vscode.Uri): Promise<boolean> {
  const folder = vscode.workspace.getWorkspaceFolder(target);
  if (!folder) return true;
  const answer = await notify.showWarningMessage(
    `${path.basename(target.fsPath)} would be inside the workspace folder "${folder.name}", where it can be committed and pushed with the repository. Anyone holding it can verify and forge this watermark.`,
    { modal: true },
    IGNORE,
    SAVE_ANYWAY,
  );
  if (answer === IGNORE) {
    const added = await addGitignoreLine(folder.uri.fsPath, KEY_FILE_PATTERN);
    log.info(
      added
        ? `Added "${KEY_FILE_PATTERN}" to ${folder.name}/.gitignore.`
        : `${folder.name}/.gitignore already ignores "${KEY_FILE_PATTERN}".`,
    );
    return true;
  }
  return answer === SAVE_ANYWAY;
}

export async function forgetKeyCommand(store: KeyStore): Promise<void> {
  const info = await pickStoredKey(store, 'Remove which key from secret storage?', false);
  if (!info || typeof info === 'string') return;
  const confirm = await notify.showWarningMessage(
    `Remove key ${info.keyId} (${info.label}) from VS Code? Without an exported copy, its watermark can no longer be verified.`,
    { modal: true },
    'Remove',
  );
  if (confirm !== 'Remove') return;
  await store.remove(info.keyId);
  log.info(`Removed key ${info.keyId} from secret storage.`);
}

type Picked = ReturnType<KeyStore['list']>[number] | 'import' | 'all';

export async function pickStoredKey(
  store: KeyStore,
  title: string,
  offerImport = true,
  offerAll = false,
): Promise<Picked | undefined> {
  // The store lists the key added last first: Enter picks the key just made or imported.
  const keys = store.list();
  if (keys.length === 0) {
    if (!offerImport) {
      void notify.showInformationMessage(
        'RecMark has no stored keys yet. Embed a watermark or import a key file first.',
      );
      return undefined;
    }
    return 'import';
  }
  const items: (vscode.QuickPickItem & { value: Picked })[] = keys.map((k) => ({
    label: `$(key) ${k.label}`,
    description: `${k.scheme.toUpperCase()} · ${k.keyId}`,
    detail: k.createdAt ? `created ${new Date(k.createdAt).toLocaleString()}` : undefined,
    value: k,
  }));
  if (offerAll && keys.length > 1)
    items.push({
      label: `$(checklist) All ${keys.length} stored keys`,
      description: 'one report, strongest evidence first',
      value: 'all',
    });
  if (offerImport) items.push({ label: '$(folder-opened) Import a key file…', value: 'import' });
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true }))?.value;
}
