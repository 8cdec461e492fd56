/**
 * k-means at the scale GREW must handle: 1,000,000 items × 64 dims into 256 clusters (the
 * partition's cap). Assignment runs in onnxruntime; this prints time per iteration and in total.
 */
import { performance } from 'node:perf_hooks';
import { normalizeRows, sphericalKMeans } from '../../src/core/watermark/kmeans';
import { Rng } from '../../src/core/util/random';

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_KMEANS_ITEMS ?? 1_000_000);
  const dim = 64;
  const rng = new Rng(5);
  // Items around 256 latent topics, so the clustering has structure to find.
  const topics = normalizeRows(
    Float32Array.from({ length: 256 * dim }, () => rng.next() - 0.5),
    dim,
  );
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const t = rng.int(256);
    for (let d = 0; d < dim; d++) x[i * dim + d] = topics[t * dim + d] + 0.15 * (rng.next() - 0.5);
  }
  normalizeRows(x, dim);
  const rss = () => `${(process.resourceUsage().maxRSS / 1024 ** 2).toFixed(2)} GB`;
  const start = performance.now();
  let last = start;
  const perIteration: number[] = [];
  const result = await sphericalKMeans(x, dim, {
    clusters: 256,
    seed: 1,
    onProgress: () => {
      const now = performance.now();
      perIteration.push(now - last);
      last = now;
    },
  });
  const total = (performance.now() - start) / 1000;
  const mean =
    perIteration.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, perIteration.length - 1) / 1000;
  console.log(
    `# k-means ${n.toLocaleString('en-US')} × ${dim} → 256 clusters: ${total.toFixed(1)} s total, ${result.iterations} iterations, ` +
      `${mean.toFixed(2)} s per iteration after the first (which includes k-means++ on a 20k sample); peak RSS ${rss()}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
