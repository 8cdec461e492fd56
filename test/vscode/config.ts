/**
 * Shared by the launchers (test-electron in vscode.test.ts, code-server in test/e2e) and the
 * in-host suite: the suite bundle, its config and the workspace it runs against.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';

export interface InHostConfig {
  /** The folder VS Code opens. */
  workspace: string;
  /** A model file name inside the workspace. */
  model: string;
  /** A GREW key file (with its secret) for the SecretStorage tests. */
  keyFile: string;
  /** An AuditReport JSON for the report-panel tests. */
  reportFile: string;
  /** Where the suite writes its InHostResults. */
  resultsFile: string;
  /** Broken key files and a pattern the error notification must match (bad-input cases). */
  badKeys: { file: string; problem: string }[];
}

export interface InHostResults {
  host: string;
  version: string;
  tests: { name: string; ok: boolean; ms: number; error?: string }[];
  measured: Record<string, number>;
}

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'sasrec_opset17.onnx');
const MODEL = 'sasrec.onnx';

/**
 * In a fresh folder `dir`: bundle the suite into `dir/index.js` (with `vscode` left to the host),
 * make a workspace with the fixture, a GREW key and a report from the CLI, and write
 * `dir/config.json`. Returns the config and the bundle's path (the extensionTestsPath).
 */
export async function prepareInHostRun(
  dir: string,
): Promise<{ config: InHostConfig; suite: string }> {
  mkdirSync(dir, { recursive: true });
  const suite = path.join(dir, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite', 'index.ts')],
    outfile: suite,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'onnxruntime-node'],
    logLevel: 'warning',
  });
  const workspace = path.join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(FIXTURE, path.join(workspace, MODEL));
  const keyFile = path.join(dir, 'grew.wmkey.json');
  const reportFile = path.join(dir, 'report.json');
  const marked = path.join(dir, 'marked.onnx');
  const cli = (args: string[]) =>
    promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args],
      {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 300_000,
      },
    );
  // The in-host suite needs a watermarked model, not a trained one: a served head is instant.
  await cli(['embed', 'grew', FIXTURE, '--mode', 'serve', '--out', marked, '--key-out', keyFile]);
  const { stdout } = await cli(['verify', marked, '--key', keyFile, '--probes', '200', '--json']);
  writeFileSync(reportFile, stdout);
  const bad = path.join(dir, 'bad');
  mkdirSync(bad, { recursive: true });
  const tampered = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
  tampered.gamma = 0.25; // the green split no longer matches: a tampered key
  const badKeys = [
    { name: 'empty.wmkey.json', text: '', problem: 'empty\\.wmkey\\.json: not valid JSON' },
    {
      name: 'torn.wmkey.json',
      text: '{"scheme": "gr',
      problem: 'torn\\.wmkey\\.json: not valid JSON at line 1',
    },
    {
      name: 'rot13.wmkey.json',
      text: '{"scheme":"rot13","version":1}',
      problem: '"scheme" must be "grew" or "aow"',
    },
    { name: 'tampered.wmkey.json', text: JSON.stringify(tampered), problem: 'the key was altered' },
  ].map(({ name, text, problem }) => {
    writeFileSync(path.join(bad, name), text);
    return { file: path.join(bad, name), problem };
  });
  const config: InHostConfig = {
    workspace,
    model: MODEL,
    keyFile,
    reportFile,
    resultsFile: path.join(dir, 'results.json'),
    badKeys,
  };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return { config, suite };
}
