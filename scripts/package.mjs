// Builds platform .vsix files:
//   node scripts/package.mjs [--target linux-x64] [--out recmark.vsix]   one target (npm run package)
//   node scripts/package.mjs --all [--out-dir .]                         every target (npm run package:all)
// The one place that knows vsce's flags and the platforms (the e2e harness, the bench and the
// package test use it). vsce first runs `vscode:prepublish` (the production build); no network.
//   --no-rewrite-relative-links: the README's screenshot ships inside the .vsix and is linked
//   relatively; without a public repository URL vsce would refuse to rewrite it.
//   --ignoreFile: .vscodeignore re-includes linux-x64's onnxruntime binaries; each target gets a
//   copy that re-includes its own platform's files instead, so a .vsix carries one platform.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * vsce target → the files of onnxruntime-node's bin/napi-v6 it ships. Everything in the
 * platform's folder, except on macOS: the binding loads @rpath/libonnxruntime.1.dylib, and the
 * npm package carries a second, identical copy under the full version (44 MB) that nothing loads.
 * (On Windows onnxruntime.dll links DirectML and its compilers, so they stay.)
 */
export const TARGETS = {
  'linux-x64': ['linux/x64/*'],
  'linux-arm64': ['linux/arm64/*'],
  'darwin-arm64': ['darwin/arm64/onnxruntime_binding.node', 'darwin/arm64/libonnxruntime.1.dylib'],
  'win32-x64': ['win32/x64/*'],
  'win32-arm64': ['win32/arm64/*'],
};

const ROOT = path.resolve(import.meta.dirname, '..');
const include = (files) =>
  files.map((file) => `!node_modules/onnxruntime-node/bin/napi-v6/${file}`).join('\n');

/** .vscodeignore with the linux-x64 binaries line swapped for the target's. */
function ignoreFor(target) {
  const text = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
  const line = include(TARGETS['linux-x64']);
  if (!text.split('\n').includes(line))
    throw new Error(`.vscodeignore no longer has the line "${line}" this script swaps per target`);
  return text.replace(line, include(TARGETS[target]));
}

function packageTarget(target, out) {
  if (!(target in TARGETS))
    throw new Error(`unknown --target "${target}": one of ${Object.keys(TARGETS).join(', ')}`);
  const require = createRequire(import.meta.url);
  const vsce = path.join(path.dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recmark-vscodeignore-'));
  try {
    const ignoreFile = path.join(dir, '.vscodeignore');
    writeFileSync(ignoreFile, ignoreFor(target));
    const flags = ['--target', target, '--no-rewrite-relative-links', '--ignoreFile', ignoreFile];
    execFileSync(process.execPath, [vsce, 'package', ...flags, '--out', path.resolve(out)], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'linux-x64' },
      out: { type: 'string', default: 'recmark.vsix' },
      all: { type: 'boolean', default: false },
      'out-dir': { type: 'string', default: '.' },
    },
  });
  if (!values.all) return packageTarget(values.target, values.out);
  for (const target of Object.keys(TARGETS))
    packageTarget(target, path.join(values['out-dir'], `recmark-${target}.vsix`));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  try {
    main();
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exitCode = 1;
  }
}
