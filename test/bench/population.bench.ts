/**
 * `npm run population`: calibration against a population of clean models (issue 14 item 4;
 * README, "Calibration against independently trained models"). Audits the eight committed
 * from-scratch SASRecs (test/fixtures/population/) and the five fixtures against 50 GREW and 50
 * AOW keys with `recmark verify`'s settings, and prints the distribution of z_w and p-values
 * against H0's, one line per model, and every PRESENT (there should be none).
 *
 *   npm run population                                   # audit the committed population
 *   npm run population -- --train                        # train the eight first (.cache/population)
 *   npm run population -- --train --out test/fixtures/population   # regenerate the committed files
 *
 * Options: --dir DIR (models to audit), --grew-keys N, --aow-keys N (50 each), --label L (key
 * secrets are derived from it; default v1), --random-keys (fresh random secrets instead),
 * --controls (also watermark population model 1 with GREW and AOW and audit it: the harness must
 * say PRESENT), --json FILE (every audit row).
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  auditMember,
  AUDIT,
  baselines,
  makeAowKeys,
  makeGrewKeys,
  POPULATION_DIR,
  POPULATION_HIDDEN,
  POPULATION_SEEDS,
  populationMembers,
  readTrainedRecords,
  scratchFileName,
  testMetrics,
  trainPopulation,
  watermarkedControls,
  type AuditRow,
} from '../support/population';
import {
  formatDetails,
  formatOverview,
  formatPerModel,
  formatPresent,
  formatQuantiles,
  summarise,
} from '../support/populationSummary';
import { ROOT, tempDir } from '../support/helpers';
import { movielensSequences } from '../support/movielens';

const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      train: { type: 'boolean', default: false },
      out: { type: 'string' },
      dir: { type: 'string' },
      'grew-keys': { type: 'string', default: '50' },
      'aow-keys': { type: 'string', default: '50' },
      label: { type: 'string', default: 'v1' },
      'random-keys': { type: 'boolean', default: false },
      controls: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  console.log(
    `# Calibration against clean models (${os.cpus().length} cores, node ${process.version}, ` +
      `load average ${load()} at start)`,
  );
  let dir = values.dir ? path.resolve(values.dir) : POPULATION_DIR;
  if (values.train) {
    dir = path.resolve(values.out ?? path.join(ROOT, '.cache', 'population'));
    console.log(
      `Training ${POPULATION_SEEDS.length} SASRecs (d=${POPULATION_HIDDEN}) from scratch into ${path.relative(ROOT, dir)}:`,
    );
    await trainPopulation({ dir, log: (line) => console.log(line) });
    console.log(`  trained in ${elapsed()} (load average ${load()})`);
  }
  const members = populationMembers(dir);
  const records = new Map(readTrainedRecords(dir).map((r) => [r.file, r]));

  const base = baselines(movielensSequences());
  console.log(
    `\nLeave-one-out test NDCG@10 / Recall@10 (610 users): chance ${base.chance.ndcg.toFixed(4)} / ` +
      `${base.chance.recall.toFixed(4)}, train popularity ${base.popularity.ndcg.toFixed(4)} / ` +
      `${base.popularity.recall.toFixed(4)}`,
  );
  const utility = new Map<string, number>();
  for (const m of members) {
    const { ndcg, recall } = await testMetrics(m.file);
    utility.set(m.name, ndcg);
    const r = records.get(m.name);
    const trained = r
      ? `  (seed ${r.seed}, ${r.epochs} epochs, best ${r.bestEpoch}, valid NDCG@10 ${r.validNdcg10}, ${r.seconds} s to train)`
      : '';
    console.log(`  ${m.name}: ${ndcg.toFixed(4)} / ${recall.toFixed(4)}${trained}`);
  }

  const label = values['random-keys'] ? null : values.label!;
  const grewCount = Number(values['grew-keys']);
  const aowCount = Number(values['aow-keys']);
  console.log(
    `\nMaking ${grewCount} GREW keys (clusters from the five fixtures in turn) and ${aowCount} AOW keys ` +
      `(the fixtures as oracles) ${label === null ? 'with fresh random secrets' : `from label "${label}"`} …`,
  );
  const grewKeys = await makeGrewKeys(grewCount, label);
  const aowKeys = await makeAowKeys(aowCount, label);
  console.log(`  keys made (${elapsed()} since the start)`);

  const rows: AuditRow[] = [];
  for (const m of members) {
    const t = performance.now();
    rows.push(...(await auditMember(m, grewKeys, aowKeys)));
    console.log(
      `  audited ${m.name} (${((performance.now() - t) / 1000).toFixed(1)} s, load ${load()})`,
    );
  }

  const groups = summarise(rows, AUDIT.alpha);
  console.log(
    `\n## ${members.length} clean models × (${grewCount} GREW keys × 2 probe sources + ${aowCount} AOW keys); ` +
      `Q = ${AUDIT.probes}, k = ${AUDIT.topK}, ${AUDIT.nullKeys} null keys, α = ${AUDIT.alpha}\n`,
  );
  console.log(
    'Verdicts and the verdict p-value (in brackets: the count expected if p were uniform):\n',
  );
  console.log(formatOverview(groups));
  console.log(`\n${formatDetails(groups, AUDIT.alpha)}`);
  console.log('\nQuantiles (in brackets: H0, z ~ N(0, 1), rank / N ~ U(0, 1)):\n');
  console.log(formatQuantiles(groups));
  console.log('\nPer model:\n');
  console.log(
    formatPerModel(
      rows,
      members.map((m) => ({ name: m.name, origin: m.origin, ndcg: utility.get(m.name)! })),
    ),
  );
  console.log(`\n${formatPresent(rows)}`);

  if (values.controls) {
    const baseModel = path.join(dir, scratchFileName(POPULATION_SEEDS[0]));
    console.log(`\nPositive controls: ${path.basename(baseModel)} watermarked with GREW and AOW …`);
    const controls = await watermarkedControls(baseModel, tempDir('recmark-population-'));
    const own = [
      ...(await auditMember(controls.grew.member, [controls.grew.key], [])),
      ...(await auditMember(controls.aow.member, [], [controls.aow.key])),
    ];
    for (const r of own)
      console.log(
        `  ${r.model} with its own ${r.scheme} key (${r.source}): ${r.verdict}, p ${r.p.toExponential(2)}` +
          (r.z !== null
            ? `, z_w ${r.z.toFixed(2)}, z_null ${r.zNull!.toFixed(2)}`
            : `, ranks ${r.ranks!.join(', ')}`),
      );
  }
  if (values.json) writeFileSync(values.json, `${JSON.stringify(rows)}\n`);
  console.log(`\nTotal ${elapsed()}; load average at the end ${load()}.`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
