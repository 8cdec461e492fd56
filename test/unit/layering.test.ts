/**
 * Layering rules that the type checker cannot see. core/stats/ is pure maths: it takes numbers
 * and lists and returns numbers, so it never opens a model, runs inference or touches files.
 * Querying a model for its lists lives beside the recommender seam (src/core/utility.ts).
 * The rule is checked on every file core/stats reaches through relative imports, so it cannot
 * be dodged by importing a helper that does the I/O.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../support/helpers';

const SRC = path.join(ROOT, 'src');

/** Every module specifier a TypeScript file imports, re-exports, requires or imports dynamically. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]);
  return found;
}

function resolveRelative(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base])
    if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  return null;
}

/** Node built-ins and packages that do I/O or run models. */
const FORBIDDEN_PACKAGES =
  /^(?:node:)?(?:fs|fs\/promises|child_process|http|https|net|worker_threads)$|^onnxruntime-node$|^vscode$/;
/** Parts of src/core that hold sessions, endpoints, files or models. */
const FORBIDDEN_DIRS = ['onnx', 'endpoint', 'data', 'report', 'train', 'attack', 'watermark'].map(
  (d) => path.join(SRC, 'core', d) + path.sep,
);
const FORBIDDEN_FILES = [/^recommender.*\.ts$/, /^files\.ts$/];
/** Session and recommender types by name, even when reached some other way. */
const FORBIDDEN_NAMES = /\b(?:ScoringSession|InferenceSession|Recommender|RunOptions)\b/;

function purityViolations(entryDir: string): { files: string[]; problems: string[] } {
  const queue = readdirSync(entryDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(entryDir, f));
  const seen = new Set<string>();
  const problems: string[] = [];
  const rel = (file: string) => path.relative(ROOT, file);
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    if (FORBIDDEN_NAMES.test(code))
      problems.push(`${rel(file)} names ${code.match(FORBIDDEN_NAMES)![0]}`);
    for (const spec of specifiers(code)) {
      if (!spec.startsWith('.')) {
        if (FORBIDDEN_PACKAGES.test(spec)) problems.push(`${rel(file)} imports ${spec}`);
        continue;
      }
      const target = resolveRelative(file, spec);
      if (!target) {
        problems.push(`${rel(file)} imports ${spec}, which does not resolve to a .ts file`);
        continue;
      }
      if (
        FORBIDDEN_DIRS.some((d) => target.startsWith(d)) ||
        FORBIDDEN_FILES.some((f) => f.test(path.basename(target)))
      )
        problems.push(`${rel(file)} imports ${spec} (${rel(target)})`);
      else queue.push(target);
    }
  }
  return { files: [...seen].map(rel).sort(), problems };
}

test('core/stats is pure: no sessions, no models, no I/O (transitively)', () => {
  const { files, problems } = purityViolations(path.join(SRC, 'core', 'stats'));
  assert.ok(files.includes(path.join('src', 'core', 'stats', 'ranking.ts')), files.join(', '));
  assert.ok(files.includes(path.join('src', 'core', 'stats', 'tests.ts')), files.join(', '));
  assert.deepEqual(problems, []);
});

test('the purity check sees the imports it forbids', () => {
  const imports = specifiers(
    [
      "import type { ScoringSession } from '../onnx/session';",
      "import { readFileSync } from 'node:fs';",
      "export { x } from './y';",
      "const ort = await import('onnxruntime-node');",
      "import {\n  a,\n  type B,\n} from 'fs';",
    ].join('\n'),
  );
  assert.deepEqual(imports.sort(), ['../onnx/session', './y', 'fs', 'node:fs', 'onnxruntime-node']);
  assert.ok(FORBIDDEN_PACKAGES.test('node:fs') && FORBIDDEN_PACKAGES.test('fs'));
  assert.ok(!FORBIDDEN_PACKAGES.test('mathjs'));
  assert.ok(FORBIDDEN_NAMES.test('(session: ScoringSession)'));
});
