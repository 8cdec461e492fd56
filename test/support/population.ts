/**
 * Calibration against a population of clean models (issue 14 item 4). Null keys re-partition
 * one model; an auditor in a dispute is asked "could an independently trained model look like
 * this?". This harness answers it: SASRecs trained from scratch with RecMark's engine (distinct
 * seeds, the same MovieLens data) plus the five PyTorch fixtures are audited against many GREW
 * and AOW keys, made the way an owner makes them, with the audit code `recmark verify` runs.
 *
 * - Training: `trainSasrecFromScratch` (test/support/scratch.ts) on the fixtures' index
 *   space (test/support/movielens.ts). The committed population (test/fixtures/population/) was made
 *   by `npm run population -- --train --out test/fixtures/population`.
 * - GREW keys: a fresh 32-byte secret each (derived from a label, so runs are reproducible),
 *   clusters by `semanticPartition` on the item embeddings of an owner model (the five fixtures
 *   in turn; the k-means seed comes from the secret, so no two keys share clusters).
 * - AOW keys: a secret each; the sequence from `generateAowSequence` with a fixture as oracle
 *   (start cold / random / pop in turn), seeded from the secret exactly as `embedAow` does.
 * - Audits: GREW through `auditGrew` (the function `verifyGrew` calls after loading), on probes
 *   from the data and on probes sampled from the suspect, top-20, 200 null keys, seed 1, α = 1e-4;
 *   AOW through `auditAow`. Probes and top-k lists depend on the model only, so they are drawn
 *   and queried once per model and answered from memory for every key.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Adapter } from '../../src/core/onnx/adapter';
import { readItemSequences } from '../../src/core/data/interactions';
import { encodeModel, writeModel } from '../../src/core/onnx/model';
import { ScoringSession } from '../../src/core/onnx/session';
import { sessionRecommender, type Recommender } from '../../src/core/recommender';
import { inspectModel } from '../../src/core/report/modelCard';
import { DEFAULT_ALPHA, reportModel, type Verdict } from '../../src/core/report/report';
import { leaveOneOut } from '../../src/core/utility';
import { normalSf } from '../../src/core/stats/tests';
import { embedAow } from '../../src/core/watermark/aow';
import { auditAow } from '../../src/core/watermark/aowAudit';
import { generateAowSequence, type AowStart } from '../../src/core/watermark/aowSequence';
import { embedGrew, GREW_DEFAULTS } from '../../src/core/watermark/grew';
import { auditGrew } from '../../src/core/watermark/grewAudit';
import {
  keyedSeed,
  keyIdOf,
  newSecret,
  NOT_AN_ITEM,
  type AowKey,
  type GrewKey,
} from '../../src/core/watermark/key';
import { semanticPartition } from '../../src/core/watermark/partition';
import { probesFromData, probesFromModel } from '../../src/core/watermark/probes';
import { noProgress, StepTimer } from '../../src/core/util/progress';
import { Rng } from '../../src/core/util/random';
import { leaveOneOutSplit, trainSasrecFromScratch } from './scratch';
import { fixture, FIXTURES, MAIN_FIXTURES } from './helpers';
import { movielensInteractionFile, movielensSequences } from './movielens';

export const NUM_ITEMS = 3650;
/** The committed population (see test/fixtures/README.md, "Population"). */
export const POPULATION_DIR = path.join(FIXTURES, 'population');
export const POPULATION_METRICS = 'population.json';
export const POPULATION_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
/**
 * d = 32: a d = 64 SASRec took 188 s to train on the shared 2-core machine, so eight would add
 * 25 minutes to CI; at d = 32 a model is ~0.6 MB and can be committed (README, "Calibration").
 */
export const POPULATION_HIDDEN = 32;
/** The audit settings `recmark verify` uses by default. */
export const AUDIT = {
  probes: GREW_DEFAULTS.probes,
  topK: GREW_DEFAULTS.topK,
  nullKeys: GREW_DEFAULTS.nullKeys,
  seed: 1,
  alpha: DEFAULT_ALPHA,
};
export const AOW_SETTINGS = { length: 5, bottomM: 100 };
const AOW_STARTS: readonly AowStart[] = ['cold', 'random', 'pop'];

export type ProbeSource = 'data' | 'sampled';

export interface Member {
  name: string;
  file: string;
  origin: 'scratch' | 'fixture' | 'watermarked';
}

/** What training one population model gave (written to population.json). */
export interface TrainedRecord {
  file: string;
  seed: number;
  hidden: number;
  epochs: number;
  bestEpoch: number;
  steps: number;
  seconds: number;
  validNdcg10Before: number;
  validNdcg10: number;
  testNdcg10: number;
  testRecall10: number;
  bytes: number;
}

export interface PopulationKey<K> {
  key: K;
  /** The model whose embeddings (GREW) or scores (AOW) made the key. */
  owner: string;
  /** AOW: how the sequence started. */
  start?: AowStart;
}

export interface AuditRow {
  model: string;
  scheme: 'grew' | 'aow';
  keyId: string;
  owner: string;
  source: ProbeSource | 'prefixes';
  /** GREW: popularity-aware z_w and z against the 200 null keys; null for AOW. */
  z: number | null;
  zNull: number | null;
  /** GREW: 1 − Φ(z_w), before taking the more conservative of z_w and z_null. */
  pW: number | null;
  /** GREW: the classic one-proportion z (hits as independent trials), for comparison only. */
  zClassic: number | null;
  /** The verdict's p-value (GREW: 1 − Φ(min(z_w, z_null)); AOW: Bonferroni min of 6 tests). */
  p: number;
  log10P: number;
  verdict: Verdict;
  /** AOW: rank of each target among the N items, and Fisher's combined p. */
  ranks?: number[];
  pFisher?: number;
  numItems?: number;
}

// ---------- data ----------

const dataByWidth = new Map<number, Promise<number[][]>>();

/**
 * MovieLens in the fixtures' index space, read from the interaction file the way `verify --data`
 * reads it for this model (every id must be one of the model's items).
 */
export function populationData(adapter: Adapter): Promise<number[][]> {
  let data = dataByWidth.get(adapter.scoreWidth);
  if (!data) {
    data = readItemSequences(movielensInteractionFile(), adapter);
    dataByWidth.set(adapter.scoreWidth, data);
  }
  return data;
}

// ---------- the population ----------

export function scratchFileName(seed: number, hidden = POPULATION_HIDDEN): string {
  return `sasrec_d${hidden}_seed${seed}.onnx`;
}

/** The committed scratch models plus the five fixtures. */
export function populationMembers(dir = POPULATION_DIR): Member[] {
  const files = new Set(readdirSync(dir));
  const scratch = POPULATION_SEEDS.map((seed) => {
    const name = scratchFileName(seed);
    if (!files.has(name)) throw new Error(`${name} is missing from ${dir}; regenerate it`);
    return { name, file: path.join(dir, name), origin: 'scratch' as const };
  });
  const fixtures = MAIN_FIXTURES.map((name) => ({
    name,
    file: fixture(name),
    origin: 'fixture' as const,
  }));
  return [...scratch, ...fixtures];
}

export function readTrainedRecords(dir = POPULATION_DIR): TrainedRecord[] {
  return (
    JSON.parse(readFileSync(path.join(dir, POPULATION_METRICS), 'utf8')) as {
      models: TrainedRecord[];
    }
  ).models;
}

const TRAINED_WITH =
  'trainSasrecFromScratch (test/support/scratch.ts) defaults except hidden (per model below): 2 blocks, 1 head, maxLen 50, at most 40 epochs with early stop on the validation loss (patience 4, best epoch kept), AdamW lr 3e-3, weight decay 4, batch 128; all 610 users';

/** Train one clean SASRec per seed and write it (with population.json) into `dir`. */
export async function trainPopulation(options: {
  dir: string;
  seeds?: readonly number[];
  hidden?: number;
  log?: (line: string) => void;
}): Promise<TrainedRecord[]> {
  const seeds = options.seeds ?? POPULATION_SEEDS;
  const hidden = options.hidden ?? POPULATION_HIDDEN;
  const log = options.log ?? (() => undefined);
  mkdirSync(options.dir, { recursive: true });
  const sequences = movielensSequences();
  const records: TrainedRecord[] = [];
  for (const seed of seeds) {
    const started = performance.now();
    const run = await trainSasrecFromScratch({ sequences, numItems: NUM_ITEMS, hidden, seed });
    const seconds = (performance.now() - started) / 1000;
    const name = scratchFileName(seed, hidden);
    await writeModel(run.proto, path.join(options.dir, name));
    const record: TrainedRecord = {
      file: name,
      seed,
      hidden,
      epochs: run.result.epochs.length,
      bestEpoch: run.bestEpoch,
      steps: run.result.steps,
      seconds: Math.round(seconds),
      validNdcg10Before: round4(run.validBefore.ndcg),
      validNdcg10: round4(run.validAfter.ndcg),
      testNdcg10: round4(run.test.ndcg),
      testRecall10: round4(run.test.recall),
      bytes: encodeModel(run.proto).length,
    };
    records.push(record);
    log(
      `  ${name}: ${record.epochs} epochs (best ${record.bestEpoch}), ${record.seconds} s, ` +
        `valid NDCG@10 ${record.validNdcg10Before} → ${record.validNdcg10}, test NDCG@10 ${record.testNdcg10}`,
    );
  }
  writeFileSync(
    path.join(options.dir, POPULATION_METRICS),
    `${JSON.stringify({ trainedWith: TRAINED_WITH, models: records }, null, 2)}\n`,
  );
  return records;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Leave-one-out NDCG@10 / Recall@10 on the test item (history = all but the last item). */
export async function testMetrics(file: string): Promise<{ ndcg: number; recall: number }> {
  const { adapter } = await inspectModel(file);
  const session = await ScoringSession.open(file, adapter);
  try {
    const [m] = await leaveOneOut(session, await populationData(adapter), [10]);
    return { ndcg: m.ndcg, recall: m.recall };
  } finally {
    await session.release();
  }
}

/**
 * Baselines on the same leave-one-out split: ranking by train popularity (items counted in every
 * user's train part, ties against the item) and a uniform random ranking (expected values).
 */
export function baselines(sequences: readonly number[][]): {
  popularity: { ndcg: number; recall: number };
  chance: { ndcg: number; recall: number };
} {
  const counts = new Float64Array(NUM_ITEMS + 1);
  for (const s of leaveOneOutSplit(sequences).train) for (const id of s) counts[id]++;
  const usable = sequences.filter((s) => s.length >= 2);
  let hits = 0;
  let dcg = 0;
  for (const s of usable) {
    const target = s[s.length - 1];
    let rank = 0;
    for (let id = 1; id <= NUM_ITEMS; id++) if (counts[id] > counts[target]) rank++;
    if (rank < 10) {
      hits++;
      dcg += 1 / Math.log2(rank + 2);
    }
  }
  let chanceDcg = 0;
  for (let r = 0; r < 10; r++) chanceDcg += 1 / Math.log2(r + 2) / NUM_ITEMS;
  return {
    popularity: { ndcg: dcg / usable.length, recall: hits / usable.length },
    chance: { ndcg: chanceDcg, recall: 10 / NUM_ITEMS },
  };
}

// ---------- keys ----------

/** A 32-byte secret per (label, index): fresh for every key, reproducible for a fixed label. */
export function keySecret(label: string | null, index: number): Uint8Array {
  if (label === null) return newSecret();
  return createHash('sha256').update(`recmark/population/${label}/${index}`).digest();
}

interface Owner {
  name: string;
  file: string;
}

const ownersOf = (names: readonly string[] = MAIN_FIXTURES): Owner[] =>
  names.map((name) => ({ name, file: fixture(name) }));

/** `count` GREW keys, their clusters from the owners' item embeddings in turn. */
export async function makeGrewKeys(
  count: number,
  label: string | null,
  owners: readonly string[] = MAIN_FIXTURES,
): Promise<PopulationKey<GrewKey>[]> {
  const loaded = await Promise.all(ownersOf(owners).map(async (o) => inspectModel(o.file)));
  const keys: PopulationKey<GrewKey>[] = [];
  for (let i = 0; i < count; i++) {
    const { card, model, adapter } = loaded[i % loaded.length];
    const secret = keySecret(label === null ? null : `grew/${label}`, i);
    const partition = await semanticPartition(model, adapter, secret, {
      gamma: GREW_DEFAULTS.gamma,
    });
    // What embedGrew's key holds for this secret and model: its default settings (only γ and
    // top-k matter to verification), the partition, the model it was made from.
    const { gamma, delta, kc, protectHead, topK } = GREW_DEFAULTS;
    const settings = { gamma, delta, kc, protectHead, topK };
    const { scoreWidth, numItems } = adapter;
    keys.push({
      owner: card.fileName,
      key: {
        scheme: 'grew',
        version: 1,
        keyId: keyIdOf(secret),
        secret,
        scoreWidth,
        numItems,
        ...settings,
        ...partition,
        model: { fileName: card.fileName, sha256: card.sha256 },
      },
    });
  }
  return keys;
}

/**
 * The key for a model with another number of score columns over the same items (BERT4Rec has a
 * mask column, 3,652 ids against 3,651): the extra or missing ids must be non-items, so the
 * partition of the real items is unchanged. What an auditor does who maps the suspect into the
 * key's index space.
 */
export function keyForWidth(key: GrewKey, width: number): GrewKey {
  if (key.scoreWidth === width) return key;
  const clusters = new Uint16Array(width).fill(NOT_AN_ITEM);
  const green = new Uint8Array(width);
  for (let id = 0; id < Math.max(width, key.scoreWidth); id++) {
    const inKey = id < key.scoreWidth ? key.clusters[id] : NOT_AN_ITEM;
    if (id >= width) {
      if (inKey !== NOT_AN_ITEM) throw new Error(`id ${id} is an item of the key, not the model`);
      continue;
    }
    clusters[id] = inKey;
    green[id] = id < key.scoreWidth ? key.green[id] : 0;
  }
  return { ...key, scoreWidth: width, clusters, green };
}

/** Interaction counts per id, as embedAow counts them for the cold / pop start item. */
function itemCounts(sequences: readonly number[][], width: number): Float64Array {
  const counts = new Float64Array(width);
  for (const seq of sequences) for (const id of seq) counts[id]++;
  return counts;
}

/** `count` AOW keys: sequences generated with the owners as oracles, as embedAow generates them. */
export async function makeAowKeys(
  count: number,
  label: string | null,
  owners: readonly string[] = MAIN_FIXTURES,
): Promise<PopulationKey<AowKey>[]> {
  const keys: PopulationKey<AowKey>[] = [];
  const loaded = await Promise.all(ownersOf(owners).map(async (o) => inspectModel(o.file)));
  const sessions = await Promise.all(
    loaded.map(({ card, adapter }) => ScoringSession.open(card.file, adapter)),
  );
  try {
    for (let i = 0; i < count; i++) {
      const j = i % loaded.length;
      const { card, adapter } = loaded[j];
      const secret = keySecret(label === null ? null : `aow/${label}`, i);
      const start = AOW_STARTS[Math.floor(i / loaded.length) % AOW_STARTS.length];
      const data = await populationData(adapter);
      const sequence = await generateAowSequence(sessions[j], {
        length: AOW_SETTINGS.length,
        bottomM: AOW_SETTINGS.bottomM,
        start,
        rng: new Rng(keyedSeed(secret, 'aow/sequence')),
        counts: itemCounts(data, adapter.scoreWidth),
      });
      keys.push({
        owner: card.fileName,
        start,
        key: {
          scheme: 'aow',
          version: 1,
          keyId: keyIdOf(secret),
          sequence,
          L: sequence.length,
          M: AOW_SETTINGS.bottomM,
          start,
          secret,
          model: { fileName: card.fileName, sha256: card.sha256 },
        },
      });
    }
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  return keys;
}

// ---------- audits ----------

/**
 * The session as a recommender whose top-k answers are kept per probe set: every key's audit of
 * one model asks the same probes, so the model is queried once and the statistics run per key.
 */
function rememberingRecommender(session: ScoringSession): Recommender {
  const inner = sessionRecommender(session);
  const answers = new Map<readonly (readonly number[])[], Map<string, Promise<Int32Array[]>>>();
  return {
    itemIds: inner.itemIds,
    targetRanks: inner.targetRanks,
    topK(sequences, k, options) {
      const byQuery = answers.get(sequences) ?? new Map<string, Promise<Int32Array[]>>();
      answers.set(sequences, byQuery);
      const query = `${k}/${options?.excludeHistory ?? false}`;
      let answer = byQuery.get(query);
      if (!answer) {
        answer = session.topK(sequences, k, {
          excludeHistory: options?.excludeHistory,
          batchSize: options?.batchSize,
        });
        byQuery.set(query, answer);
      }
      return answer;
    },
  };
}

/** Audit one model against every key: GREW on both probe sources, AOW on the prefixes. */
export async function auditMember(
  member: Member,
  grewKeys: readonly PopulationKey<GrewKey>[],
  aowKeys: readonly PopulationKey<AowKey>[],
  sources: readonly ProbeSource[] = ['data', 'sampled'],
): Promise<AuditRow[]> {
  const { card, adapter } = await inspectModel(member.file);
  const model = reportModel(card);
  const data = await populationData(adapter);
  const session = await ScoringSession.open(card.file, adapter);
  const rows: AuditRow[] = [];
  try {
    const recommender = rememberingRecommender(session);
    for (const source of sources) {
      // The probes auditGrew would draw itself with the same seed (verify with / without --data).
      const probes =
        source === 'data'
          ? probesFromData(data, { count: AUDIT.probes, seed: AUDIT.seed })
          : await probesFromModel(session, { count: AUDIT.probes, seed: AUDIT.seed });
      for (const { key, owner } of grewKeys) {
        const report = await auditGrew(
          recommender,
          model,
          keyForWidth(key, adapter.scoreWidth),
          source === 'data' ? data : null,
          { ...AUDIT, progress: noProgress, probeSet: probes },
          new StepTimer(),
        );
        const g = report.grew!;
        rows.push({
          model: member.name,
          scheme: 'grew',
          keyId: key.keyId,
          owner,
          source,
          z: g.z,
          zNull: g.zNull,
          pW: normalSf(g.z).value,
          zClassic: g.zClassic,
          p: report.pValue,
          log10P: report.log10PValue,
          verdict: report.verdict,
        });
      }
    }
    for (const { key, owner } of aowKeys) {
      const report = await auditAow(session, model, key, { alpha: AUDIT.alpha }, new StepTimer());
      const a = report.aow!;
      rows.push({
        model: member.name,
        scheme: 'aow',
        keyId: key.keyId,
        owner,
        source: 'prefixes',
        z: null,
        zNull: null,
        pW: null,
        zClassic: null,
        p: report.pValue,
        log10P: report.log10PValue,
        verdict: report.verdict,
        ranks: a.ranks,
        pFisher: a.pFisher,
        numItems: a.numItems,
      });
    }
  } finally {
    await session.release();
  }
  return rows;
}

// ---------- positive controls ----------

export const CONTROL_SECRET = { grew: Buffer.alloc(32, 0x47), aow: Buffer.alloc(32, 0x41) };

/**
 * The same harness must find a watermark where there is one: `base` watermarked with GREW
 * (`embedGrew`, defaults) and with AOW (`embedAow`, defaults, the data for utility), each with a
 * fixed secret, written into `dir`. Returns the two models and their keys.
 */
export async function watermarkedControls(
  base: string,
  dir: string,
): Promise<{
  grew: { member: Member; key: PopulationKey<GrewKey> };
  aow: { member: Member; key: PopulationKey<AowKey> };
}> {
  const data = movielensInteractionFile();
  const owner = path.basename(base);
  const grewOut = path.join(dir, `grew_${owner}`);
  const grew = await embedGrew({ model: base, out: grewOut, data, secret: CONTROL_SECRET.grew });
  const aowOut = path.join(dir, `aow_${owner}`);
  const aow = await embedAow({ model: base, out: aowOut, data, secret: CONTROL_SECRET.aow });
  return {
    grew: {
      member: { name: path.basename(grewOut), file: grewOut, origin: 'watermarked' },
      key: { key: grew.key, owner },
    },
    aow: {
      member: { name: path.basename(aowOut), file: aowOut, origin: 'watermarked' },
      key: { key: aow.key, owner, start: aow.key.start as AowStart },
    },
  };
}
