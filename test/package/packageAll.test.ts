/**
 * `npm run package:all` (scripts/package.mjs --all): one .vsix per platform VS Code runs
 * RecMark on, each with only its own platform's onnxruntime binaries and nothing a user does not
 * run. Packages for real (vsce, the production build), so the archives are what users install.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import JSZip from 'jszip';
import { ROOT } from '../support/helpers';

const BIN = 'extension/node_modules/onnxruntime-node/bin/napi-v6/';
const MB = 1024 * 1024;

/** What each target must carry from onnxruntime-node's bin folder, and nothing else from it. */
const EXPECTED: Record<string, string[]> = {
  'linux-x64': ['linux/x64/libonnxruntime.so.1', 'linux/x64/onnxruntime_binding.node'],
  'linux-arm64': ['linux/arm64/libonnxruntime.so.1', 'linux/arm64/onnxruntime_binding.node'],
  'darwin-arm64': ['darwin/arm64/libonnxruntime.1.dylib', 'darwin/arm64/onnxruntime_binding.node'],
  'win32-x64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll'].map(
    (f) => `win32/x64/${f}`,
  ),
  'win32-arm64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll'].map(
    (f) => `win32/arm64/${f}`,
  ),
};
for (const target of ['win32-x64', 'win32-arm64'])
  EXPECTED[target]!.push(`${target.replace('-', '/')}/onnxruntime_binding.node`);

describe('npm run package:all', { timeout: 600_000 }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'recmark-package-all-'));
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'scripts', 'package.mjs'), '--all', '--out-dir', dir],
      { cwd: ROOT, stdio: 'ignore' },
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [target, binaries] of Object.entries(EXPECTED)) {
    test(`${target}: its own onnxruntime binaries only, the bundle, no sources, under 40 MB`, async () => {
      const file = path.join(dir, `recmark-${target}.vsix`);
      const size = statSync(file).size;
      assert.ok(size < 40 * MB && size > 5 * MB, `${target}: ${(size / MB).toFixed(1)} MB`);
      const zip = await JSZip.loadAsync(readFileSync(file));
      const names = Object.keys(zip.files).filter((name) => !zip.files[name]!.dir);
      const manifest = await zip.file('extension.vsixmanifest')!.async('string');
      assert.match(manifest, new RegExp(`TargetPlatform="${target}"`));
      const shipped = names.filter((n) => n.startsWith(BIN)).map((n) => n.slice(BIN.length));
      assert.deepEqual(shipped.sort(), [...binaries].sort());
      for (const needed of ['extension/dist/extension.js', 'extension/package.json'])
        assert.ok(names.includes(needed), `${target} lacks ${needed}`);
      const stray = names.filter(
        (n) =>
          n.startsWith('extension/src/') ||
          n.startsWith('extension/test/') ||
          /\.(ts|map|onnx|py)$/.test(n) ||
          n === 'extension/dist/cli.js',
      );
      assert.deepEqual(stray, []);
    });
  }
});
