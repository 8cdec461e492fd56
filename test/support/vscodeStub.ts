/**
 * A recording stand-in for the `vscode` module, so the extension's own code paths (commands, key
 * store, report panel, model view, output channel) run under node's test runner. It implements
 * only what RecMark calls; dialogs answer from queues the test fills, and everything the
 * extension shows, logs, stores or posts is recorded. `install()` must run before any module
 * that imports `vscode` is loaded (use dynamic `import()` after it).
 */
import { promises as fs } from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  get path(): string {
    return this.fsPath;
  }
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.join(base.fsPath, ...parts));
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

type Item = string | { title?: string; label?: string };
type Handler = (raw: unknown) => unknown;

export interface Recorded {
  /** Output channel lines, as `level: text`. */
  log: string[];
  /** Every notification text (information, warning, error), and every modal's text. */
  notifications: string[];
  /** Every message the host posted to a webview. */
  posted: unknown[];
  /** Webview HTML set by the extension. */
  html: string[];
  /** Which dialog-like API was called (showInputBox, showQuickPick, withProgress, ...). */
  ui: string[];
  /** Every progress message reported under withProgress. */
  progress: string[];
  /** The increment (percent) of each report, undefined when it carried none. */
  increments: (number | undefined)[];
  /** The file each save dialog proposed (its defaultUri), or '' without one. */
  saveDefaults: string[];
  executed: string[];
  clipboard: string[];
  /** Message handlers the host registered on webviews: call them to play the webview. */
  webviewHandlers: Handler[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  editorProviders: Map<string, unknown>;
  /** Webview panel serializers (restore after reload), by view type. */
  panelSerializers: Map<string, unknown>;
}

export const recorded: Recorded = {
  log: [],
  notifications: [],
  posted: [],
  html: [],
  ui: [],
  progress: [],
  increments: [],
  saveDefaults: [],
  executed: [],
  clipboard: [],
  webviewHandlers: [],
  commands: new Map(),
  editorProviders: new Map(),
  panelSerializers: new Map(),
};

/** Queued answers; an empty queue answers `undefined` (the user pressed Escape). */
export const answers = {
  inputBox: [] as (string | undefined)[],
  saveDialog: [] as (Uri | undefined)[],
  openDialog: [] as (Uri[] | undefined)[],
  /** Picks an item from the offered list. */
  quickPick: [] as ((items: readonly { label: string }[]) => unknown)[],
  /** Chooses among a notification's buttons (by text). */
  message: [] as (string | undefined)[],
};

/** What an editor tab shows: RecMark's model view (custom) or a text editor. */
export class TabInputCustom {
  constructor(
    readonly uri: Uri,
    readonly viewType: string,
  ) {}
}
export class TabInputText {
  constructor(readonly uri: Uri) {}
}

export const state = {
  trusted: true,
  folders: [] as string[],
  config: {} as Record<string, unknown>,
  /** What workspace.findFiles finds (absolute paths). */
  files: [] as string[],
  /** The active editor tab's input (undefined: no editor open). */
  activeTab: undefined as TabInputCustom | TabInputText | undefined,
};

const disposable = { dispose: (): void => undefined };

function message(kind: string) {
  return async (text: string, ...rest: unknown[]): Promise<string | undefined> => {
    recorded.ui.push(kind);
    recorded.notifications.push(text);
    const buttons = rest.filter(
      (r): r is Item =>
        typeof r === 'string' || (typeof r === 'object' && r !== null && 'title' in r),
    );
    const answer = answers.message.shift();
    return buttons.some((b) => (typeof b === 'string' ? b : b.title) === answer)
      ? answer
      : undefined;
  };
}

function webview() {
  return {
    html: '',
    options: {},
    // What VS Code 1.9x reports: the origin it serves a webview's local resources from.
    cspSource: 'https://*.vscode-cdn.net',
    asWebviewUri: (uri: Uri) => ({
      toString: () => `https://file+.vscode-resource.vscode-cdn.net${uri.fsPath}`,
    }),
    postMessage: async (msg: unknown) => {
      recorded.posted.push(JSON.parse(JSON.stringify(msg)));
      return true;
    },
    onDidReceiveMessage: (handler: Handler) => {
      recorded.webviewHandlers.push(handler);
      return disposable;
    },
  };
}

/** A webview panel whose `html` assignments are recorded. */
function panel() {
  const view = webview();
  const wrapped = new Proxy(view, {
    set(target, key, value) {
      if (key === 'html') recorded.html.push(String(value));
      return Reflect.set(target, key, value);
    },
  });
  return {
    webview: wrapped,
    title: '',
    iconPath: undefined as unknown,
    reveal: () => undefined,
    onDidDispose: () => disposable,
    dispose: () => undefined,
  };
}

const folderOf = (uri: Uri) => {
  const root = state.folders.find((f) => uri.fsPath.startsWith(`${path.resolve(f)}${path.sep}`));
  return root ? { uri: Uri.file(root), name: path.basename(root), index: 0 } : undefined;
};

export const vscode = {
  Uri,
  TabInputCustom,
  TabInputText,
  ViewColumn: { Active: -1 },
  ProgressLocation: { Notification: 15 },
  ExtensionMode: { Production: 1, Development: 2, Test: 3 },
  RelativePattern: class {
    constructor(
      readonly base: unknown,
      readonly pattern: string,
    ) {}
  },
  workspace: {
    get isTrusted() {
      return state.trusted;
    },
    get workspaceFolders() {
      return state.folders.map((f, index) => ({ uri: Uri.file(f), name: path.basename(f), index }));
    },
    getWorkspaceFolder: folderOf,
    asRelativePath: (target: Uri | string) => {
      const p = typeof target === 'string' ? target : target.fsPath;
      const folder = state.folders.find((f) => p.startsWith(`${path.resolve(f)}${path.sep}`));
      return folder ? path.relative(folder, p) : p;
    },
    getConfiguration: () => ({
      get: <T>(key: string, fallback: T): T =>
        (key in state.config ? state.config[key] : fallback) as T,
    }),
    findFiles: async () => {
      recorded.ui.push('findFiles');
      return state.files.map((f) => Uri.file(f));
    },
    createFileSystemWatcher: () => ({
      onDidChange: () => disposable,
      onDidCreate: () => disposable,
      onDidDelete: () => disposable,
      dispose: () => undefined,
    }),
    fs: {
      createDirectory: async (uri: Uri) => void (await fs.mkdir(uri.fsPath, { recursive: true })),
      readFile: async (uri: Uri) => new Uint8Array(await fs.readFile(uri.fsPath)),
      writeFile: async (uri: Uri, data: Uint8Array) => fs.writeFile(uri.fsPath, data),
    },
  },
  window: {
    createOutputChannel: () => ({
      info: (m: string) => void recorded.log.push(`info: ${m}`),
      warn: (m: string) => void recorded.log.push(`warn: ${m}`),
      error: (m: string) => void recorded.log.push(`error: ${m}`),
      appendLine: (m: string) => void recorded.log.push(m),
      show: () => undefined,
      dispose: () => undefined,
    }),
    showInformationMessage: message('showInformationMessage'),
    showWarningMessage: message('showWarningMessage'),
    showErrorMessage: message('showErrorMessage'),
    showInputBox: async (options: { validateInput?: (v: string) => unknown }) => {
      recorded.ui.push('showInputBox');
      const value = answers.inputBox.shift();
      if (value !== undefined && options.validateInput?.(value))
        throw new Error(`the test answered an invalid value: ${value}`);
      return value;
    },
    showSaveDialog: async (options?: { defaultUri?: Uri }) => {
      recorded.ui.push('showSaveDialog');
      recorded.saveDefaults.push(options?.defaultUri?.fsPath ?? '');
      return answers.saveDialog.shift();
    },
    showOpenDialog: async () => {
      recorded.ui.push('showOpenDialog');
      return answers.openDialog.shift();
    },
    get tabGroups() {
      const input = state.activeTab;
      return { activeTabGroup: { activeTab: input ? { input } : undefined } };
    },
    showQuickPick: async (items: readonly { label: string }[]) => {
      recorded.ui.push('showQuickPick');
      return answers.quickPick.shift()?.(items);
    },
    withProgress: async <T>(
      _options: unknown,
      task: (
        progress: { report: (v: { message?: string; increment?: number }) => void },
        token: unknown,
      ) => Promise<T>,
    ): Promise<T> => {
      recorded.ui.push('withProgress');
      return task(
        {
          report: (v) => {
            if (v.message !== undefined) recorded.progress.push(v.message);
            recorded.increments.push(v.increment);
          },
        },
        { isCancellationRequested: false, onCancellationRequested: () => disposable },
      );
    },
    createWebviewPanel: () => {
      recorded.ui.push('createWebviewPanel');
      return panel();
    },
    registerWebviewPanelSerializer: (viewType: string, serializer: unknown) => {
      recorded.panelSerializers.set(viewType, serializer);
      return disposable;
    },
    registerCustomEditorProvider: (viewType: string, provider: unknown) => {
      recorded.editorProviders.set(viewType, provider);
      return disposable;
    },
  },
  commands: {
    registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
      recorded.commands.set(id, handler);
      return disposable;
    },
    executeCommand: async (id: string) => {
      recorded.executed.push(id);
    },
  },
  env: {
    clipboard: {
      writeText: async (text: string) => void recorded.clipboard.push(text),
    },
  },
};

/** A stub Webview for code that renders into one (webviewHtml), and a stub panel. */
export const stubWebview = webview;
export const stubPanel = panel;

/** An ExtensionContext with in-memory SecretStorage and globalState. */
export function extensionContext(extensionPath: string) {
  const secrets = new Map<string, string>();
  const global = new Map<string, unknown>();
  return {
    extensionUri: Uri.file(extensionPath),
    subscriptions: [] as { dispose(): void }[],
    secrets: {
      store: async (k: string, v: string) => void secrets.set(k, v),
      get: async (k: string) => secrets.get(k),
      delete: async (k: string) => void secrets.delete(k),
    },
    globalState: {
      get: <T>(k: string, fallback: T): T => (global.has(k) ? (global.get(k) as T) : fallback),
      update: async (k: string, v: unknown) => void global.set(k, v),
    },
    /** For assertions: what each store holds. */
    dump: () => ({ secrets: Object.fromEntries(secrets), globalState: Object.fromEntries(global) }),
  };
}

let installed = false;
export function install(): void {
  if (installed) return;
  installed = true;
  const mod = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const load = mod._load;
  mod._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscode;
    return load.call(this, request, parent, isMain);
  };
}

export function resetRecorded(): void {
  for (const list of [
    recorded.log,
    recorded.notifications,
    recorded.posted,
    recorded.html,
    recorded.ui,
    recorded.progress,
    recorded.increments,
    recorded.saveDefaults,
    recorded.executed,
    recorded.clipboard,
  ])
    list.length = 0;
}
