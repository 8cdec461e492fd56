/**
 * The installable .vsix and the extension's activation cost, as a user gets them:
 *   - scripts/package.mjs (`npm run package`: vsce --target linux-x64): size, file count, the
 *     largest files, and which platforms' onnxruntime binaries it carries (only linux/x64);
 *   - activation: the packaged dist/extension.js loaded and activated in fresh Node processes
 *     with a stand-in `vscode` module (every API call a no-op), so the number is the extension's
 *     own code-loading + activate() time, without a workbench around it. Also checks that
 *     activation leaves onnxruntime-node unloaded (it is imported on first inference).
 * The real-VS-Code number comes from the e2e suite (Developer: Show Running Extensions).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../support/helpers';

const RUNS = Number(process.env.BENCH_ACTIVATIONS ?? 15);
const MB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Runs in a child: a Proxy stands in for every vscode API; prints {loadMs, activateMs, ort}. */
const CHILD = `
const Module = require('node:module');
const stub = () => new Proxy(function () {}, {
  get: (_t, key) => (key === 'then' ? undefined : key === Symbol.toPrimitive ? () => 0 : stub()),
  apply: () => stub(),
  construct: () => stub(),
});
// A plain object of namespaces: the bundle's ESM interop copies a module's own properties.
const vscode = { ExtensionMode: { Production: 1, Development: 2, Test: 3 } };
for (const name of ['window', 'commands', 'workspace', 'env', 'extensions', 'languages', 'l10n',
  'Uri', 'ViewColumn', 'RelativePattern', 'ProgressLocation', 'EventEmitter', 'Disposable',
  'ThemeIcon', 'ThemeColor', 'TabInputCustom', 'ConfigurationTarget']) vscode[name] = stub();
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};
const t0 = performance.now();
const ext = require(process.argv[1]);
const t1 = performance.now();
ext.activate({ subscriptions: [], extensionUri: stub(), extensionMode: 1, globalState: stub(), secrets: stub() });
const t2 = performance.now();
const ort = Object.keys(require.cache).some((f) => f.includes('onnxruntime'));
console.log(JSON.stringify({ loadMs: t1 - t0, activateMs: t2 - t1, ort }));
`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recmark-package-bench-'));
  try {
    const vsix = path.join(dir, 'recmark.vsix');
    const began = performance.now();
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--out', vsix], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    console.log(`# .vsix for linux-x64 (${os.cpus().length} cores, node ${process.version})`);
    console.log(`packaged in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    const listing = execFileSync('unzip', ['-l', vsix], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /^\s*(\d+)\s+\S+\s+\S+\s+(\S.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ bytes: Number(m[1]), file: m[2]! }));
    const unpacked = listing.reduce((sum, f) => sum + f.bytes, 0);
    console.log(
      `size ${MB(statSync(vsix).size)} (target < 40 MB), ${listing.length} files, ${MB(unpacked)} unpacked`,
    );
    for (const f of [...listing].sort((a, b) => b.bytes - a.bytes).slice(0, 5)) {
      console.log(`  ${MB(f.bytes).padStart(8)}  ${f.file}`);
    }
    const platforms = new Set(
      listing
        .map((f) => /onnxruntime-node\/bin\/napi-v\d+\/([^/]+\/[^/]+)\//.exec(f.file)?.[1])
        .filter(Boolean),
    );
    console.log(`onnxruntime binaries for: ${[...platforms].join(', ') || 'none'}`);

    const unpackedDir = path.join(dir, 'unpacked');
    execFileSync('unzip', ['-q', vsix, '-d', unpackedDir]);
    const entry = path.join(unpackedDir, 'extension', 'dist', 'extension.js');
    const runs = Array.from(
      { length: RUNS },
      () =>
        JSON.parse(execFileSync(process.execPath, ['-e', CHILD, entry], { encoding: 'utf8' })) as {
          loadMs: number;
          activateMs: number;
          ort: boolean;
        },
    );
    const total = runs.map((r) => r.loadMs + r.activateMs);
    console.log(
      `\n# activation of the packaged extension, ${RUNS} fresh processes (target < 300 ms)`,
    );
    console.log(
      `load ${median(runs.map((r) => r.loadMs)).toFixed(1)} ms + activate ${median(runs.map((r) => r.activateMs)).toFixed(1)} ms = ${median(total).toFixed(1)} ms median (min ${Math.min(...total).toFixed(1)}, max ${Math.max(...total).toFixed(1)})`,
    );
    console.log(
      `onnxruntime-node loaded by activation: ${runs.some((r) => r.ort) ? 'YES (should be lazy)' : 'no'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
