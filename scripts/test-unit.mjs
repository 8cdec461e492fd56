// Runs the unit tests: every *.test.ts under test/unit (they mirror src/), or the files and
// folders given. Node 20's test runner takes no globs, hence this list.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const testFiles = (entry) =>
  statSync(entry).isDirectory()
    ? readdirSync(entry, { recursive: true })
        .map((f) => path.join(entry, f))
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
    : [entry];

const targets = process.argv.slice(2);
const files = (targets.length > 0 ? targets : ['test/unit']).flatMap(testFiles);
const { status, signal } = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(status ?? (signal ? 1 : 0));
