import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeModel, onnx } from '../../src/core/onnx/model';
import { cliNodeArgs } from './cli';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const fixture = (name: string): string => path.join(FIXTURES, name);

export const MAIN_FIXTURES = [
  'sasrec_opset17.onnx',
  'sasrec_opset13.onnx',
  'bert4rec.onnx',
  'gru4rec.onnx',
  'narm.onnx',
];

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(prefix = 'recmark-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Small seeded PRNG for tests (not for keys). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Run the CLI source through tsx, as a user would run `recmark`. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliNodeArgs(), ...args],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The encoded model with every initializer's data emptied: what a weight attack must not change. */
export function withoutInitializerData(proto: onnx.ModelProto): Uint8Array {
  const copy = onnx.ModelProto.decode(encodeModel(proto));
  for (const t of copy.graph!.initializer!) {
    t.rawData = new Uint8Array(0);
    t.floatData = [];
  }
  return encodeModel(copy);
}
