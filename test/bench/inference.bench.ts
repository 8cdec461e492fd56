/**
 * Inference throughput: sequences per second through onnxruntime for each fixture and batch size.
 * Run with `npm run bench`. Numbers depend on the machine; ratios between batch sizes are the point.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { inspectModel } from '../../src/core/report/modelCard';
import { ScoringSession } from '../../src/core/onnx/session';
import { fixture, MAIN_FIXTURES, mulberry32 } from '../support/helpers';

const SEQUENCES = Number(process.env.BENCH_SEQUENCES ?? 1024);
const BATCH_SIZES = [1, 16, 64, 256];

async function main(): Promise<void> {
  console.log(
    `# Inference throughput (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version})`,
  );
  console.log(
    `# ${SEQUENCES} sequences of 5-50 random items each; top-20 over real items included\n`,
  );
  const header = [
    'model',
    'items',
    'size',
    ...BATCH_SIZES.map((b) => `b=${b} seq/s`),
    `b=256 vs b=1`,
  ];
  const rows: string[][] = [];
  for (const name of MAIN_FIXTURES) {
    const file = fixture(name);
    if (!existsSync(file)) {
      console.log(`(skipping ${name}: not found)`);
      continue;
    }
    const { card, adapter } = await inspectModel(file);
    const session = await ScoringSession.open(file, adapter);
    const rand = mulberry32(1);
    const ids = adapter.itemIds;
    const seqs = Array.from({ length: SEQUENCES }, () =>
      Array.from(
        { length: 5 + Math.floor(rand() * 46) },
        () => ids[Math.floor(rand() * ids.length)],
      ),
    );
    await session.topK(seqs.slice(0, 64), 20, { batchSize: 64 }); // warm-up
    const rates: number[] = [];
    for (const batchSize of BATCH_SIZES) {
      const n = batchSize === 1 ? Math.min(256, SEQUENCES) : SEQUENCES;
      const start = performance.now();
      await session.topK(seqs.slice(0, n), 20, { batchSize });
      rates.push(n / ((performance.now() - start) / 1000));
    }
    await session.release();
    rows.push([
      name,
      String(card.numItems),
      `${(card.bytes / 1024 / 1024).toFixed(2)} MB`,
      ...rates.map((r) => r.toFixed(0)),
      `${(rates[rates.length - 1] / rates[0]).toFixed(1)}x`,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
