/**
 * Fused top-k (issue 17 item 2): 1,000 probes → top-20 through the JS path (N floats per row
 * copied out, selected in JS) and through the fused graph (TopK in onnxruntime, k ids per row),
 * back to back in one process, on the fixtures and on a 23,715-item SASRec built with
 * `buildSasrec` (the size of the held-out model in the issue). Also the score-only runs
 * (`forEachScores`, what rankOf and the statistics use) before and after a session fused its
 * top-k, and on a graph carrying the TopK branch (what one shared session would cost). Then a
 * batch size × intra-op threads sweep of both. Lists are checked identical; the load average is
 * printed beside every table (the machine is shared). BENCH_PROBES, BENCH_REPS, BENCH_SWEEP=0,
 * BENCH_COMPARE=0.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { detectAdapter, type Adapter } from '../../src/core/onnx/adapter';
import { appendFusedTopK, FUSED_TOPK } from '../../src/core/onnx/fusedTopK';
import { decodeModel, encodeModel, readModel } from '../../src/core/onnx/model';
import { createSession, ortIdTensor, runSession } from '../../src/core/onnx/ort';
import { DEFAULT_BATCH_SIZE, modelFeeds, ScoringSession } from '../../src/core/onnx/session';
import { buildSasrec } from '../../src/core/train/sasrecBuilder';
import { fixture, MAIN_FIXTURES, mulberry32 } from '../support/helpers';

const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const K = 20;
const BIG_ITEMS = 23_715;

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Subject {
  name: string;
  model: string | Uint8Array;
  adapter: Adapter;
}

async function subjects(): Promise<Subject[]> {
  const out: Subject[] = [];
  for (const name of MAIN_FIXTURES) {
    const loaded = await readModel(fixture(name));
    out.push({ name, model: loaded.file, adapter: detectAdapter(loaded) });
  }
  const proto = buildSasrec({ numItems: BIG_ITEMS });
  const bytes = encodeModel(proto);
  const adapter = detectAdapter({ proto, file: 'sasrec', fileBytes: 0, externalFiles: [] });
  out.push({ name: `sasrec ${BIG_ITEMS.toLocaleString('en-US')} (built)`, model: bytes, adapter });
  return out;
}

function probes(adapter: Adapter): number[][] {
  const rand = mulberry32(1);
  const ids = adapter.itemIds;
  return Array.from({ length: PROBES }, () =>
    Array.from({ length: 5 + Math.floor(rand() * 46) }, () => ids[Math.floor(rand() * ids.length)]),
  );
}

async function ms(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A raw session on the fused graph, fetching only the scores: what sharing one session costs. */
async function scoresOnFusedGraph(subject: Subject, threads?: number) {
  const bytes =
    typeof subject.model === 'string' ? readFileSync(subject.model) : Buffer.from(subject.model);
  const proto = decodeModel(bytes);
  appendFusedTopK(proto, subject.adapter);
  const session = await createSession(encodeModel(proto), { quiet: true, threads });
  const run = async (seqs: number[][], batchSize = DEFAULT_BATCH_SIZE): Promise<void> => {
    for (let s = 0; s < seqs.length; s += batchSize) {
      const { feeds } = modelFeeds(subject.adapter, seqs.slice(s, s + batchSize));
      feeds[FUSED_TOPK.k] = ortIdTensor('int64', [K], [1]);
      await runSession(session, feeds, [subject.adapter.output]);
    }
  };
  return { run, session };
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

async function compare(all: Subject[]): Promise<void> {
  console.log(
    `## ${PROBES} probes → top-${K}, batch ${DEFAULT_BATCH_SIZE}, median of ${REPS} back-to-back rounds`,
  );
  const rows: string[][] = [];
  for (const subject of all) {
    const { adapter } = subject;
    const seqs = probes(adapter);
    const plain = await ScoringSession.open(subject.model, adapter, { fusedTopK: false });
    const fused = await ScoringSession.open(subject.model, adapter);
    const openMs = await ms(() => fused.fusedTopKActive());
    const active = await fused.fusedTopKActive();
    const shared = active ? await scoresOnFusedGraph(subject) : null;
    const noop = (): void => undefined;
    // Warm-up, and the check that both paths give the same lists.
    const [a, b] = [await plain.topK(seqs, K), await fused.topK(seqs, K)];
    const same = a.every((l, i) => l.length === b[i].length && l.every((v, j) => v === b[i][j]));
    const t = { js: [] as number[], fused: [] as number[], score: [] as number[] };
    const t2 = { scoreAfter: [] as number[], scoreShared: [] as number[] };
    // Unsupported models run the same JS path twice: one round says enough.
    for (let r = 0; r < (active ? REPS : 1); r++) {
      t.js.push(await ms(() => plain.topK(seqs, K)));
      t.fused.push(await ms(() => fused.topK(seqs, K)));
      t.score.push(await ms(() => plain.forEachScores(seqs, noop)));
      t2.scoreAfter.push(await ms(() => fused.forEachScores(seqs, noop)));
      if (shared) t2.scoreShared.push(await ms(() => shared.run(seqs)));
    }
    await Promise.all([plain.release(), fused.release(), shared?.session.release()]);
    const [js, fu, sc, after] = [t.js, t.fused, t.score, t2.scoreAfter].map(median);
    const sharedMs = shared ? median(t2.scoreShared) : Number.NaN;
    rows.push([
      subject.name,
      String(adapter.numItems),
      active ? 'fused' : 'JS (unsupported)',
      same ? 'yes' : 'NO',
      js.toFixed(0),
      fu.toFixed(0),
      `${(js / fu).toFixed(2)}x`,
      sc.toFixed(0),
      `${(after / sc).toFixed(2)}x`,
      shared ? `${(sharedMs / sc).toFixed(2)}x` : '-',
      openMs.toFixed(0),
    ]);
    console.log(`  ${subject.name} done (load ${load()})`);
  }
  table(
    [
      'model',
      'items',
      'path',
      'same lists',
      'JS ms',
      'fused ms',
      'JS/fused',
      'scores ms',
      'scores after fusing',
      'scores on fused graph',
      'fused open ms',
    ],
    rows,
  );
  console.log(`load average after: ${load()}\n`);
}

/** Batch size × threads, fused top-k and score-only; the thread counts alternate run by run. */
async function sweep(subject: Subject): Promise<void> {
  console.log(`## ${subject.name}: batch size × intra-op threads (ms for ${PROBES} probes)`);
  const seqs = probes(subject.adapter);
  const noop = (): void => undefined;
  const threadCounts = [1, 2];
  const sessions = await Promise.all(
    threadCounts.map((threads) => ScoringSession.open(subject.model, subject.adapter, { threads })),
  );
  for (const session of sessions) await session.topK(seqs.slice(0, 64), K); // fuse, warm up
  const rows: string[][] = [];
  for (const batchSize of [16, 32, 64, 128, 256]) {
    const fused = threadCounts.map((): number[] => []);
    const scores = threadCounts.map((): number[] => []);
    for (let r = 0; r < REPS; r++) {
      for (const [i, session] of sessions.entries()) {
        fused[i].push(await ms(() => session.topK(seqs, K, { batchSize })));
        scores[i].push(await ms(() => session.forEachScores(seqs, noop, { batchSize })));
      }
    }
    for (const [i, threads] of threadCounts.entries()) {
      rows.push([
        String(threads),
        String(batchSize),
        median(fused[i]).toFixed(0),
        median(scores[i]).toFixed(0),
        load(),
      ]);
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  table(['threads', 'batch', 'fused top-k ms', 'scores ms', 'load (1/5/15 min)'], rows);
  console.log('');
}

async function main(): Promise<void> {
  console.log(
    `# Fused top-k vs JS top-k (${os.cpus().length} cores, node ${process.version}, load ${load()})\n`,
  );
  const all = await subjects();
  if (process.env.BENCH_COMPARE !== '0') await compare(all);
  if (process.env.BENCH_SWEEP !== '0') {
    await sweep(all[all.length - 1]);
    await sweep(all[0]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
