/** Typed access to RecMark's settings (contributed in package.json with their defaults). */
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { DataRef } from '../core/data/interactions';
import { RecMarkError } from '../core/errors';
import { DEFAULT_ALPHA } from '../core/report/report';
import { UTILITY_USERS_DEFAULT, type UtilityUsers } from '../core/utility';
import { AOW_DEFAULTS } from '../core/watermark/aow';
import { GREW_DEFAULTS, type GrewMode } from '../core/watermark/grew';
import { GREW_WEIGHTS_DEFAULTS } from '../core/watermark/grewWeights';
import { DEFAULT_SEED } from '../core/util/random';

export function settings() {
  const c = vscode.workspace.getConfiguration('recmark');
  const dataFile = c.get<string>('dataFile', '').trim();
  const idMapFile = c.get<string>('idMapFile', '').trim();
  return {
    alpha: c.get<number>('alpha', DEFAULT_ALPHA),
    probes: c.get<number>('probes', GREW_DEFAULTS.probes),
    topK: c.get<number>('topK', GREW_DEFAULTS.topK),
    nullKeys: c.get<number>('grew.nullKeys', GREW_DEFAULTS.nullKeys),
    gamma: c.get<number>('grew.gamma', GREW_DEFAULTS.gamma),
    grewMode: c.get<GrewMode>('grew.mode', GREW_DEFAULTS.mode),
    /** null: the mode's default (2 as the teacher of the weights, 1 when served). */
    delta: c.get<number | null>('grew.delta', null),
    grewMaxSteps: c.get<number>('grew.maxSteps', GREW_WEIGHTS_DEFAULTS.maxSteps),
    kc: c.get<number>('grew.kc', GREW_DEFAULTS.kc),
    protectHead: c.get<number>('grew.protectHead', GREW_DEFAULTS.protectHead),
    aowLength: c.get<number>('aow.length', AOW_DEFAULTS.length),
    aowBottomM: c.get<number>('aow.bottomM', AOW_DEFAULTS.bottomM),
    aowRatio: c.get<number>('aow.ratio', AOW_DEFAULTS.ratio),
    aowUtility: c.get<'auto' | 'train' | 'distil'>('aow.utility', 'auto'),
    aowContextual: c.get<boolean>('aow.contextual', AOW_DEFAULTS.contextual),
    aowLr: c.get<number>('aow.learningRate', AOW_DEFAULTS.lr),
    aowMaxSteps: c.get<number>('aow.maxSteps', AOW_DEFAULTS.maxSteps),
    aowMaxNdcgDrop: c.get<number>('aow.maxNdcgDrop', AOW_DEFAULTS.maxNdcgDrop),
    seed: c.get<number>('seed', DEFAULT_SEED),
    /** Users utility is measured on: at most this many (a seeded sample); 0 = every user. */
    utilityUsers: c.get<number>('utilityUsers', UTILITY_USERS_DEFAULT),
    /** Interaction data for probes and utility, resolved against the first workspace folder. */
    dataFile: dataFile ? resolveWorkspacePath(dataFile) : undefined,
    /** Raw item id → model index for the data file (first column index, second raw id). */
    idMapFile: idMapFile ? resolveWorkspacePath(idMapFile) : undefined,
  };
}

type Settings = ReturnType<typeof settings>;

/**
 * The interaction data file (with its id map, when one is set) when it is set and exists; a
 * missing data file means "no data". A set id map is passed on even if missing, so reading it
 * fails with an error naming it rather than ids being misread.
 */
export function existingDataFile(s: Settings): DataRef | undefined {
  if (!s.dataFile || !existsSync(s.dataFile)) return undefined;
  return s.idMapFile ? { file: s.dataFile, idMap: s.idMapFile } : s.dataFile;
}

/**
 * recmark.utilityUsers as the core takes it: 0 means every user. Checked when a command needs
 * it, so a bad value stops only the commands that measure utility, with what to set instead.
 */
export function utilityUsersOf(s: Settings): UtilityUsers {
  const n = s.utilityUsers;
  if (n === 0) return 'all';
  if (Number.isSafeInteger(n) && n > 0) return n;
  throw new RecMarkError(
    `recmark.utilityUsers must be a whole number of users (0 = every user), got ${JSON.stringify(n)}; ` +
      `set it to ${UTILITY_USERS_DEFAULT} (the default) or 0 in the settings.`,
    'usage',
  );
}

/** What every audit (checkpoint or endpoint) takes from the settings. */
export function auditSettings(s: Settings) {
  const { probes, topK, nullKeys, seed, alpha } = s;
  return { data: existingDataFile(s), probes, topK, nullKeys, seed, alpha };
}

function resolveWorkspacePath(p: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder || p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) return p;
  return vscode.Uri.joinPath(folder.uri, p).fsPath;
}

/** Where reports are saved: the workspace folder holding the model, else the first folder. */
export function reportsRoot(model: vscode.Uri): string | undefined {
  return (vscode.workspace.getWorkspaceFolder(model) ?? vscode.workspace.workspaceFolders?.[0])?.uri
    .fsPath;
}
