// Runs the unit tests: every *.test.ts under test/unit (they mirror src/), or the files and
// folders given. Node 20's test runner takes no globs, hence this list.
// First bundles the CLI from the current sources into .cache/test-cli (about a second): tests
// that spawn the CLI run that bundle (RECMARK_TEST_CLI, see test/support/cli.ts) instead of
// compiling every source file with tsx in each of their hundreds of processes.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildConfigs } from './buildConfig.mjs';

const testFiles = (entry) =>
  statSync(entry).isDirectory()
    ? readdirSync(entry, { recursive: true })
        .map((f) => path.join(entry, f))
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
    : [entry];

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, '.cache', 'test-cli');
await esbuild.build({ ...buildConfigs().cli, outdir, logLevel: 'warning' });

const targets = process.argv.slice(2);
const files = (targets.length > 0 ? targets : ['test/unit']).flatMap(testFiles);
const { status, signal } = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, RECMARK_TEST_CLI: path.join(outdir, 'cli.js') } },
);
process.exit(status ?? (signal ? 1 : 0));
