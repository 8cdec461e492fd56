/**
 * Calibration against a population of clean models (issue 14 item 4; README, "Calibration
 * against independently trained models"): 8 SASRecs trained from scratch with RecMark's engine
 * (committed in test/fixtures/population/, d = 32, seeds 1–8) and the 5 fixtures, audited against
 * 50 GREW and 50 AOW keys with `recmark verify`'s settings. No audit may say PRESENT; z_w must
 * look like N(0, 1); and the same harness must say PRESENT on a watermarked copy, or the zero
 * would prove nothing. Fixed key label and seeds, so every number is reproducible.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ScoringSession } from '../../../src/core/onnx/session';
import { inspectModel } from '../../../src/core/report/modelCard';
import { leaveOneOut } from '../../../src/core/utility';
import { verifyAow } from '../../../src/core/watermark/aowAudit';
import { verifyGrew } from '../../../src/core/watermark/grewAudit';
import type { AowKey, GrewKey } from '../../../src/core/watermark/key';
import {
  AUDIT,
  auditMember,
  baselines,
  keyForWidth,
  makeAowKeys,
  makeGrewKeys,
  populationData,
  populationMembers,
  POPULATION_SEEDS,
  readTrainedRecords,
  watermarkedControls,
  type AuditRow,
  type Member,
  type PopulationKey,
} from '../../support/population';
import { ksCritical01, summarise, type GroupSummary } from '../../support/populationSummary';
import { MAIN_FIXTURES, tempDir } from '../../support/helpers';
import { movielensInteractionFile, movielensSequences } from '../../support/movielens';

const KEYS_PER_SCHEME = 50;
const LABEL = 'v1';

let members: Member[];
let grewKeys: PopulationKey<GrewKey>[];
let aowKeys: PopulationKey<AowKey>[];
let rows: AuditRow[];
let groups: GroupSummary[];

describe('calibration against a population of clean models', () => {
  before(async () => {
    members = populationMembers();
    grewKeys = await makeGrewKeys(KEYS_PER_SCHEME, LABEL);
    aowKeys = await makeAowKeys(KEYS_PER_SCHEME, LABEL);
    rows = [];
    for (const m of members) rows.push(...(await auditMember(m, grewKeys, aowKeys)));
    groups = summarise(rows, AUDIT.alpha);
  });

  test('the population: 8 SASRecs trained from scratch (distinct seeds) and the 5 fixtures, each ranking well above popularity', async () => {
    const scratch = members.filter((m) => m.origin === 'scratch');
    assert.equal(scratch.length, 8);
    assert.deepEqual(
      readTrainedRecords()
        .map((r) => r.seed)
        .sort((a, b) => a - b),
      POPULATION_SEEDS,
    );
    assert.deepEqual(
      members.filter((m) => m.origin === 'fixture').map((m) => m.name),
      MAIN_FIXTURES,
    );
    const { popularity } = baselines(movielensSequences());
    const recorded = new Map(readTrainedRecords().map((r) => [r.file, r.testNdcg10]));
    for (const m of members) {
      const { adapter } = await inspectModel(m.file);
      const session = await ScoringSession.open(m.file, adapter);
      try {
        const [metrics] = await leaveOneOut(session, await populationData(adapter), [10]);
        // Measured: the scratch SASRecs 0.028–0.037 (2.2–2.9× popularity's 0.0129); the fixtures
        // 0.016 (BERT4Rec) – 0.033, as test/fixtures/README.md reports them.
        const bar = m.origin === 'scratch' ? 2 : 1.2;
        assert.ok(
          metrics.ndcg > bar * popularity.ndcg,
          `${m.name}: NDCG@10 ${metrics.ndcg.toFixed(4)} vs popularity ${popularity.ndcg.toFixed(4)}`,
        );
        // population.json describes these very files.
        if (m.origin === 'scratch')
          assert.ok(Math.abs(metrics.ndcg - recorded.get(m.name)!) < 1e-4, m.name);
      } finally {
        await session.release();
      }
    }
  });

  test('keys: 50 GREW (distinct secrets, clusters from all five fixtures) and 50 AOW (five oracles, distinct sequences)', () => {
    assert.equal(new Set(grewKeys.map((k) => k.key.keyId)).size, KEYS_PER_SCHEME);
    assert.deepEqual(new Set(grewKeys.map((k) => k.owner)), new Set(MAIN_FIXTURES));
    // Two keys of the same owner cluster differently (k-means is seeded from the secret).
    const [a, b] = grewKeys.filter((k) => k.owner === MAIN_FIXTURES[0]);
    assert.notDeepEqual(a.key.clusters, b.key.clusters);
    assert.equal(new Set(aowKeys.map((k) => k.key.keyId)).size, KEYS_PER_SCHEME);
    assert.deepEqual(new Set(aowKeys.map((k) => k.owner)), new Set(MAIN_FIXTURES));
    assert.equal(new Set(aowKeys.map((k) => k.key.sequence.join(','))).size, KEYS_PER_SCHEME);
  });

  test('zero false PRESENT: 13 clean models × 50 keys per scheme (GREW on data and sampled probes)', () => {
    for (const scheme of ['grew', 'aow'] as const) {
      const mine = rows.filter((r) => r.scheme === scheme);
      assert.equal(new Set(mine.map((r) => r.model)).size, 13);
      assert.equal(new Set(mine.map((r) => r.keyId)).size, KEYS_PER_SCHEME);
    }
    assert.equal(rows.filter((r) => r.scheme === 'grew').length, 13 * KEYS_PER_SCHEME * 2);
    const present = rows.filter((r) => r.verdict === 'present');
    assert.deepEqual(
      present.map(
        (r) => `${r.model} ${r.scheme} ${r.keyId} ${r.source} z=${r.z} zNull=${r.zNull} p=${r.p}`,
      ),
      [],
    );
  });

  // Tolerances. The 13 models are audited with the same 50 keys, and a key's z_w is mostly the
  // key's (measured ICC 0.6–0.7: a key that happens to make the popular items green raises z_w on
  // every model that recommends them), so the 650 audits of one probe source weigh as ~50–100
  // independent ones. Bounds are therefore set for 50 independent draws, which holds whatever the
  // models share: the mean of 50 N(0, 1) has sd 1/√50 = 0.14 (bound: 4 of those), their sample
  // sd has sd ≈ 0.10 (bound: ±0.4), KS at the 1% critical value. Measured with label v1:
  // mean 0.09 / 0.05, sd 1.01 / 0.96, KS 0.084 / 0.056 (data / sampled probes).
  test('GREW z_w looks like N(0, 1) on clean models, so its p-values spread over (0, 1)', () => {
    for (const g of groups.filter((x) => x.scheme === 'grew')) {
      const z = g.z!;
      const where = `${g.label}: mean ${z.mean.toFixed(3)}, sd ${z.sd.toFixed(3)}, KS ${g.zKs!.toFixed(3)}`;
      assert.ok(Math.abs(z.mean) < 4 / Math.sqrt(KEYS_PER_SCHEME), where);
      assert.ok(Math.abs(z.sd - 1) < 0.4, where);
      // The same distance as p_w = 1 − Φ(z_w) from uniform.
      assert.ok(g.zKs! < ksCritical01(KEYS_PER_SCHEME), where);
      // The bounds can fail: the classic z on these very audits (popular items counted as
      // independent hits) is far outside them (measured sd 5.7 / 6.5).
      assert.ok(g.zClassic!.sd > 1.4, `${g.label}: classic z sd ${g.zClassic!.sd}`);
    }
  });

  // z_null re-estimates the same null from 200 random keys: ~5% sampling error on its sd, so
  // |z_w − z_null| is ~0.05 at |z| ≈ 1 (measured median 0.054, max 0.34).
  test('GREW z_w agrees with the null keys (z_null)', () => {
    const grew = rows.filter((r) => r.scheme === 'grew');
    const diffs = grew.map((r) => Math.abs(r.z! - r.zNull!)).sort((a, b) => a - b);
    const median = diffs[Math.floor(diffs.length / 2)];
    assert.ok(median < 0.15, `median |z_w − z_null| ${median}`);
  });

  // Under uniform ranks the median rank / N would be 0.5; measured 0.70 (sd 0.02 when keys are
  // resampled), because the sequences are made of the owner's 100 lowest-scored items.
  test("AOW on clean models: the owner's out-of-distribution targets rank low in other models too", () => {
    const aow = groups.find((g) => g.scheme === 'aow')!;
    const median = aow.rankFraction!.quantiles.find(([q]) => q === 0.5)![1];
    assert.ok(median > 0.6, `median rank / N ${median}`);
  });

  test('the harness audits exactly as recmark verify does (one model, one key per scheme)', async () => {
    const member = members[0];
    const { adapter } = await inspectModel(member.file);
    const grewKey = grewKeys[2]; // clusters from BERT4Rec: 3,652 ids, fitted to the model's 3,651
    const report = await verifyGrew({
      model: member.file,
      key: keyForWidth(grewKey.key, adapter.scoreWidth),
      data: movielensInteractionFile(),
    });
    const row = rows.find(
      (r) => r.model === member.name && r.keyId === grewKey.key.keyId && r.source === 'data',
    )!;
    assert.equal(report.grew!.z, row.z);
    assert.equal(report.grew!.zNull, row.zNull);
    assert.equal(report.pValue, row.p);
    assert.equal(report.verdict, row.verdict);
    const aowKey = aowKeys[0];
    const aowReport = await verifyAow({ model: member.file, key: aowKey.key });
    const aowRow = rows.find((r) => r.model === member.name && r.keyId === aowKey.key.keyId)!;
    assert.deepEqual(aowReport.aow!.ranks, aowRow.ranks);
    assert.equal(aowReport.pValue, aowRow.p);
  });

  test('the same harness says PRESENT on a GREW- and an AOW-watermarked copy of a population model', async () => {
    const controls = await watermarkedControls(members[0].file, tempDir());
    const grew = await auditMember(controls.grew.member, [controls.grew.key, ...grewKeys], []);
    const aow = await auditMember(controls.aow.member, [], [controls.aow.key, ...aowKeys]);
    const own = [...grew, ...aow].filter(
      (r) => r.keyId === controls.grew.key.key.keyId || r.keyId === controls.aow.key.key.keyId,
    );
    assert.equal(own.length, 3); // GREW on data and sampled probes, AOW
    for (const r of own)
      assert.equal(r.verdict, 'present', `${r.model} ${r.scheme} ${r.source}: p ${r.p}, z ${r.z}`);
    // The population's keys stay absent on the watermarked copies: another key is another H0.
    const others = [...grew, ...aow].filter((r) => !own.includes(r));
    assert.equal(others.length, 2 * KEYS_PER_SCHEME + KEYS_PER_SCHEME);
    assert.deepEqual(
      others.filter((r) => r.verdict === 'present').map((r) => `${r.model} ${r.keyId}`),
      [],
    );
  });
});
