/**
 * The defaults VS Code shows for `recmark.*` settings (package.json → contributes.configuration)
 * are the core's defaults, so the extension, the CLI and the library behave the same when nothing
 * is set. Each setting is mapped by hand to the constant it mirrors; a setting without a mapping
 * fails, so a new one cannot be added without saying where its default comes from.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ALPHA } from '../../../src/core/report/report';
import { DEFAULT_SEED } from '../../../src/core/util/random';
import { UTILITY_USERS_DEFAULT } from '../../../src/core/utility';
import { AOW_DEFAULTS } from '../../../src/core/watermark/aow';
import { GREW_DEFAULTS } from '../../../src/core/watermark/grew';
import { GREW_WEIGHTS_DEFAULTS } from '../../../src/core/watermark/grewWeights';
import { ROOT } from '../../support/helpers';

interface Setting {
  default?: unknown;
  description?: string;
  markdownDescription?: string;
}

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: {
    configuration:
      { properties: Record<string, Setting> } | { properties: Record<string, Setting> }[];
  };
};
const sections = [manifest.contributes.configuration].flat();
const contributed: Record<string, Setting> = Object.assign(
  {},
  ...sections.map((s) => s.properties),
);

/**
 * Setting → the core default it mirrors. `core` names where the value lives, for the failure
 * message. Settings with no core constant say why (the core has "unset" there, not a value).
 */
const MIRRORS: Record<string, { expected: unknown; core: string }> = {
  'recmark.alpha': { expected: DEFAULT_ALPHA, core: 'DEFAULT_ALPHA (core/report/report.ts)' },
  'recmark.probes': { expected: GREW_DEFAULTS.probes, core: 'GREW_DEFAULTS.probes' },
  'recmark.topK': { expected: GREW_DEFAULTS.topK, core: 'GREW_DEFAULTS.topK' },
  'recmark.seed': { expected: DEFAULT_SEED, core: 'DEFAULT_SEED (core/util/random.ts)' },
  'recmark.dataFile': {
    expected: '',
    core: 'none: empty means no data (the core option is `data?: DataRef`, unset)',
  },
  'recmark.idMapFile': {
    expected: '',
    core: 'none: empty means item ids are model indices (DataRef without idMap)',
  },
  'recmark.utilityUsers': {
    expected: UTILITY_USERS_DEFAULT,
    core: 'UTILITY_USERS_DEFAULT (core/utility.ts; 0 in the setting means every user)',
  },
  'recmark.aow.length': { expected: AOW_DEFAULTS.length, core: 'AOW_DEFAULTS.length' },
  'recmark.aow.bottomM': { expected: AOW_DEFAULTS.bottomM, core: 'AOW_DEFAULTS.bottomM' },
  'recmark.aow.ratio': { expected: AOW_DEFAULTS.ratio, core: 'AOW_DEFAULTS.ratio' },
  'recmark.aow.utility': {
    expected: 'auto',
    core: "none: 'auto' leaves EmbedAowOptions.utility unset, so embedAow picks train with data, distil without",
  },
  'recmark.aow.contextual': {
    expected: AOW_DEFAULTS.contextual,
    core: 'AOW_DEFAULTS.contextual',
  },
  'recmark.aow.learningRate': { expected: AOW_DEFAULTS.lr, core: 'AOW_DEFAULTS.lr' },
  'recmark.aow.maxSteps': { expected: AOW_DEFAULTS.maxSteps, core: 'AOW_DEFAULTS.maxSteps' },
  'recmark.aow.maxNdcgDrop': {
    expected: AOW_DEFAULTS.maxNdcgDrop,
    core: 'AOW_DEFAULTS.maxNdcgDrop',
  },
  'recmark.grew.mode': { expected: GREW_DEFAULTS.mode, core: 'GREW_DEFAULTS.mode' },
  'recmark.grew.gamma': { expected: GREW_DEFAULTS.gamma, core: 'GREW_DEFAULTS.gamma' },
  'recmark.grew.delta': {
    expected: null,
    core: 'none: null leaves δ to the mode (GREW_WEIGHTS_DEFAULTS.delta / GREW_DEFAULTS.delta)',
  },
  'recmark.grew.maxSteps': {
    expected: GREW_WEIGHTS_DEFAULTS.maxSteps,
    core: 'GREW_WEIGHTS_DEFAULTS.maxSteps',
  },
  'recmark.grew.kc': { expected: GREW_DEFAULTS.kc, core: 'GREW_DEFAULTS.kc' },
  'recmark.grew.nullKeys': { expected: GREW_DEFAULTS.nullKeys, core: 'GREW_DEFAULTS.nullKeys' },
  'recmark.grew.protectHead': {
    expected: GREW_DEFAULTS.protectHead,
    core: 'GREW_DEFAULTS.protectHead',
  },
};

test('every recmark.* setting is mapped to the core default it mirrors', () => {
  const names = Object.keys(contributed);
  assert.ok(names.length >= 19, names.join(', '));
  assert.deepEqual(
    names.filter((n) => !(n in MIRRORS)),
    [],
    'settings without a mapping in MIRRORS: say which core default each one mirrors',
  );
  assert.deepEqual(
    Object.keys(MIRRORS).filter((n) => !(n in contributed)),
    [],
    'mappings for settings package.json no longer contributes',
  );
});

test('each setting default in package.json equals its core default', () => {
  const drift = Object.entries(MIRRORS)
    .filter(([name]) => name in contributed)
    .filter(([name, { expected }]) => !Object.is(contributed[name].default, expected))
    .map(
      ([name, { expected, core }]) =>
        `${name}: package.json ${JSON.stringify(contributed[name].default)}, core ${JSON.stringify(expected)} (${core})`,
    );
  assert.deepEqual(drift, []);
});

test("recmark.grew.delta's description states the per-mode defaults the core uses", () => {
  const text = contributed['recmark.grew.delta'].markdownDescription ?? '';
  assert.match(
    text,
    new RegExp(`\\b${GREW_WEIGHTS_DEFAULTS.delta} for the teacher of a watermark in the weights`),
  );
  assert.match(text, new RegExp(`\\b${GREW_DEFAULTS.delta} for a served head`));
});

test('src/vscode/settings.ts reads exactly the contributed settings, with the same fallbacks', () => {
  const source = readFileSync(path.join(ROOT, 'src', 'vscode', 'settings.ts'), 'utf8');
  const reads = [...source.matchAll(/c\.get<[^>]+>\(\s*'([^']+)'\s*,\s*([^)]+?)\s*\)/g)].map(
    (m) => ({ name: `recmark.${m[1]}`, fallback: m[2] }),
  );
  assert.deepEqual(reads.map((r) => r.name).sort(), Object.keys(contributed).sort());
  // A fallback names the same core constant as the mapping (or the same literal).
  const literal = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));
  for (const { name, fallback } of reads) {
    const { expected, core } = MIRRORS[name];
    const constant = core.split(' ')[0];
    assert.ok(
      fallback === constant || fallback === literal(expected),
      `${name}: settings.ts falls back to ${fallback}, the mapping says ${core}`,
    );
  }
});
