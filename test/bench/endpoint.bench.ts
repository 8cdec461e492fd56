/**
 * Probes per second through a live endpoint: the test server (test/support/recServer.ts) runs in
 * its own process on loopback serving a GREW-watermarked SASRec fixture; `verifyEndpoint` audits
 * it with 1,000 data probes at several pool sizes, once with 20% injected faults. The same audit
 * on the checkpoint is the reference.
 *
 *   node --import tsx test/bench/endpoint.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseProfile } from '../../src/core/endpoint/profileParser';
import { verifyEndpoint } from '../../src/core/endpoint/verify';
import { embedGrew } from '../../src/core/watermark/grew';
import { verifyWithKey } from '../../src/core/watermark/verify';
import { movielensInteractionFile } from '../support/movielens';

const ROOT = path.resolve(__dirname, '..', '..');
const PROBES = 1000;

function startServer(
  model: string,
  extra: string[],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'test/support/recServer.ts'),
      '--model',
      model,
      '--port',
      '0',
      ...extra,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'recmark-endpoint-bench-'));
  try {
    const data = movielensInteractionFile();
    const model = path.join(dir, 'grew.onnx');
    const { key } = await embedGrew({
      model: path.join(ROOT, 'test/fixtures/sasrec_opset17.onnx'),
      out: model,
      secret: Buffer.alloc(32, 7),
      probes: 200,
    });
    let t = performance.now();
    const checkpoint = await verifyWithKey({ model, key, data, probes: PROBES });
    const ckSeconds = (performance.now() - t) / 1000;
    console.log(
      `checkpoint: ${PROBES} probes in ${ckSeconds.toFixed(2)} s (${(PROBES / ckSeconds).toFixed(0)} probes/s, batched), z_w ${checkpoint.grew!.z.toFixed(2)}, ${checkpoint.verdict}`,
    );
    const runs: { label: string; concurrency: number; faults: string[] }[] = [
      { label: 'pool 1', concurrency: 1, faults: [] },
      { label: 'pool 4', concurrency: 4, faults: [] },
      { label: 'pool 8', concurrency: 8, faults: [] },
      {
        label: 'pool 4, 20% faults',
        concurrency: 4,
        faults: ['--fault-rate', '0.2', '--seed', '7'],
      },
    ];
    for (const run of runs) {
      const server = await startServer(model, run.faults);
      try {
        const profile = parseProfile({
          url: server.url,
          request: { items: '${items}', k: '${k}' },
          response: { items: '$.items', scores: '$.scores' },
          rateLimit: 10_000,
          concurrency: run.concurrency,
          timeoutMs: 1000,
          retries: { max: 4, baseDelayMs: 50, maxDelayMs: 1000 },
          budget: null,
        });
        t = performance.now();
        const r = await verifyEndpoint({ profile, key, data, probes: PROBES });
        const wall = (performance.now() - t) / 1000;
        const e = r.endpoint!;
        console.log(
          `endpoint, ${run.label}: ${e.probesPerSecond} probes/s (${e.probes.answered}/${PROBES} answered, ${e.probes.lost} lost, ${e.queries.spent} queries, ${e.queries.retries} retries) ` +
            `latency p50 ${e.latencyMs!.p50} / p90 ${e.latencyMs!.p90} / p99 ${e.latencyMs!.p99} ms; audit ${wall.toFixed(1)} s; z_w ${r.grew!.z.toFixed(2)}, ${r.verdict}`,
        );
      } finally {
        server.child.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
