/**
 * How tests start the CLI: the bundle scripts/test-unit.mjs builds from the current sources
 * (RECMARK_TEST_CLI), else the sources through tsx (a test file run on its own). The bundle
 * starts in a quarter of a second; tsx compiles the whole CLI in each process (about 2 s of CPU).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Node arguments that run the CLI with `preloads` (--import) first; append the CLI's own
 * arguments. A TypeScript preload needs tsx, whose loader cannot parse the bundle: the sources
 * then.
 */
export function cliNodeArgs(preloads: string[] = []): string[] {
  const bundle = process.env.RECMARK_TEST_CLI;
  const needsTsx = preloads.some((p) => p.endsWith('.ts'));
  const useBundle = bundle !== undefined && existsSync(bundle) && !needsTsx;
  return [
    ...(useBundle ? [] : ['--import', 'tsx']),
    ...preloads.flatMap((p) => ['--import', pathToFileURL(p).href]),
    useBundle ? bundle : path.join(ROOT, 'src', 'cli', 'main.ts'),
  ];
}
