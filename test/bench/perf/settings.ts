/**
 * The perf bench's sizes and knobs (issue 17 item 6), read once from the environment, and the
 * small printing helpers every section shares: the load average beside every timing, because the
 * machine is shared and a time without its load cannot be compared.
 * Env: BENCH_QUICK=1 (smoke-run sizes), BENCH_PARTS=model,verify,flops,extract,e2e (default all),
 * BENCH_USERS (users in the embed/finetune data file, default 500), BENCH_PROBES (1000),
 * BENCH_TOPK (20), BENCH_TRAIN_STEPS / _EPOCHS / _FRACTION (training caps of the cached model:
 * 60 steps, 1 epoch, a quarter of the users), BENCH_EXTRACT_SEQUENCES
 * (3000), BENCH_GREW_STEPS / BENCH_GREW_TARGET_Z (GREW's step cap and z_w target; defaults GREW's
 * own, 30 and 1 when quick), BENCH_BEAUTY (path of the Amazon Beauty `user item` file,
 * beauty.txt; the bench is skipped without it).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../support/helpers';

export const PARTS = ['model', 'verify', 'flops', 'extract', 'e2e'] as const;
export type Part = (typeof PARTS)[number];

const quick = process.env.BENCH_QUICK === '1';
const num = (name: string, full: number, smoke: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return quick ? smoke : full;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};

/** A knob that keeps the product's default unless set (or quick, which uses `smoke`). */
const optional = (name: string, smoke: number): number | undefined =>
  process.env[name] || quick ? num(name, NaN, smoke) : undefined;

export interface BenchSettings {
  quick: boolean;
  parts: ReadonlySet<Part>;
  /** The SASRec: numItems real items (ids 1..numItems), T, d, blocks. */
  numItems: number;
  maxLen: number;
  hidden: number;
  blocks: number;
  /** Training of the cached model: a cap, not a recipe (the bench needs a plausible model). */
  trainSteps: number;
  trainEpochs: number;
  /** Share of the Beauty users trained (and evaluated) on: a 2-core budget, not a recipe. */
  trainFraction: number;
  users: number;
  probes: number;
  topK: number;
  extractSequences: number;
  /** GREW in the weights: training-step cap and z_w target (undefined: GREW's defaults). */
  grewSteps: number | undefined;
  grewTargetZ: number | undefined;
  beauty: string;
  cacheDir: string;
}

export function benchSettings(): BenchSettings {
  const wanted = (process.env.BENCH_PARTS ?? PARTS.join(',')).split(',').map((p) => p.trim());
  const unknown = wanted.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_PARTS: unknown section(s) ${unknown.join(', ')}; pick from ${PARTS.join(', ')}`,
    );
  return {
    quick,
    parts: new Set(wanted as Part[]),
    numItems: num('BENCH_ITEMS', 23_715, 2_000),
    maxLen: 50,
    hidden: 64,
    blocks: 2,
    trainSteps: num('BENCH_TRAIN_STEPS', 60, 20),
    trainEpochs: num('BENCH_TRAIN_EPOCHS', 1, 1),
    trainFraction: num('BENCH_TRAIN_FRACTION', 0.25, 0.25),
    users: num('BENCH_USERS', 500, 100),
    probes: num('BENCH_PROBES', 1000, 100),
    topK: num('BENCH_TOPK', 20, 20),
    extractSequences: num('BENCH_EXTRACT_SEQUENCES', 3000, 200),
    grewSteps: optional('BENCH_GREW_STEPS', 30),
    grewTargetZ: optional('BENCH_GREW_TARGET_Z', 1),
    // The repository reads nothing outside itself: the data's place is the caller's to give.
    beauty: process.env.BENCH_BEAUTY ?? '',
    cacheDir: path.join(ROOT, '.cache', 'bench'),
  };
}

/** "load 3.2 2.9 2.1" (1, 5, 15 minutes). */
export function loadText(): string {
  return `load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** Run `fn`, return its result and wall milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** A section heading with the machine and its load. */
export function heading(title: string): void {
  console.log(`\n## ${title} (${os.cpus().length} cores, ${loadText()})`);
}

/** Right-aligned table: first row is the header. */
export function table(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) console.log(r.map((c, i) => (c ?? '').padStart(widths[i])).join('  '));
}
