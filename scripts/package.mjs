// Builds the platform .vsix: `node scripts/package.mjs [--target linux-x64] [--out recmark.vsix]`.
// The one place that knows vsce's flags (npm run package, the e2e harness and the bench use it).
// vsce first runs `vscode:prepublish` (the production build); it needs no network.
//   --no-rewrite-relative-links: the README's screenshot ships inside the .vsix and is linked
//   relatively; without a public repository URL vsce would refuse to rewrite it.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'linux-x64' },
    out: { type: 'string', default: 'recmark.vsix' },
  },
});
const require = createRequire(import.meta.url);
const vsce = path.join(path.dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
execFileSync(
  process.execPath,
  [vsce, 'package', '--target', values.target, '--no-rewrite-relative-links', '--out', values.out],
  { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'inherit' },
);
