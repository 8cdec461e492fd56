/**
 * A clean `npm ci` prints no warning and downloads nothing: package.json's allowScripts (npm 11)
 * reviews every dependency with an install script, and onnxruntime-node's (a CUDA download its
 * CPU binaries do not need) is denied. A new dependency with an install script fails here until
 * someone decides whether it may run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const read = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

test('every dependency with an install script is reviewed in allowScripts', () => {
  const lock = read('package-lock.json') as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const pkg = read('package.json') as { allowScripts?: Record<string, boolean> };
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .sort();
  assert.ok(withScripts.includes('onnxruntime-node'), 'the lockfile lists install scripts');
  assert.deepEqual(Object.keys(pkg.allowScripts ?? {}).sort(), [...new Set(withScripts)]);
});

test("onnxruntime-node's install script (the CUDA download) is denied", () => {
  const pkg = read('package.json') as { allowScripts?: Record<string, boolean> };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
});
