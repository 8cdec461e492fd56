/**
 * The fuzz test's child process: runs mutation jobs one after another and reports each start
 * and outcome over IPC. It is a separate process so that a hang (caught by the parent's
 * per-job timeout) or a native crash in onnxruntime fails one job, not the test runner.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readInteractions } from '../../src/core/data/interactions';
import { RecMarkError } from '../../src/core/errors';
import { onnx } from '../../src/core/onnx/model';
import { inspectModel } from '../../src/core/report/modelCard';
import type { WatermarkKey } from '../../src/core/watermark/key';
import { readKeyFile } from '../../src/core/watermark/keyFile';
import { verifyWithKey } from '../../src/core/watermark/verify';
import { goodData, grewKey, grewKeyJson, ITEMS } from './corpusInputs';
import { mutateModel, mutateText } from './fuzzMutations';
import { fixture } from './helpers';

export interface FuzzJob {
  id: number;
  kind: 'model' | 'key' | 'data';
  /** Fixture file name for model jobs. */
  source: string;
  seed: number;
  /** Model jobs only: go on to a real verification when inspection succeeds. */
  verify: boolean;
}

export type WorkerMessage =
  | { type: 'start'; id: number; description: string }
  | { type: 'done'; id: number; outcome: string; failure?: string }
  | { type: 'ready' };

const shm = '/dev/shm';
const dir = mkdtempSync(path.join(readableDir(shm) ? shm : tmpdir(), 'recmark-fuzz-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function readableDir(p: string): boolean {
  try {
    writeFileSync(path.join(p, `.recmark-probe-${process.pid}`), '');
    rmSync(path.join(p, `.recmark-probe-${process.pid}`));
    return true;
  } catch {
    return false;
  }
}

const fixtures = new Map<
  string,
  { bytes: Uint8Array; proto: onnx.ModelProto; keys: WatermarkKey[] }
>();

async function source(name: string) {
  let entry = fixtures.get(name);
  if (!entry) {
    const bytes = readFileSync(fixture(name));
    const { adapter } = await inspectModel(fixture(name));
    const ids = adapter.itemIds;
    // Keys that fit the unmutated model: the verification then gets as far as it can.
    const aow: WatermarkKey = {
      scheme: 'aow',
      version: 1,
      keyId: 'fuzz-aow',
      sequence: [ids[9], ids[99], ids[999 % ids.length], ids[ids.length - 1]],
      L: 4,
      M: 100,
      start: 'external',
    };
    entry = {
      bytes,
      proto: onnx.ModelProto.decode(bytes),
      keys: [aow, grewKey(adapter.scoreWidth)],
    };
    fixtures.set(name, entry);
  }
  return entry;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

/** Only RecMarkError is an acceptable failure; the outcome names its code. */
async function attempt(fn: () => Promise<string>): Promise<{ outcome: string; failure?: string }> {
  try {
    return { outcome: await fn() };
  } catch (err) {
    if (err instanceof RecMarkError) return { outcome: `rejected:${err.code}` };
    return {
      outcome: 'crash',
      failure: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
}

async function runModelJob(job: FuzzJob, file: string): Promise<string> {
  const { card } = await inspectModel(file);
  if (!job.verify) return 'inspected';
  const { keys } = await source(job.source);
  const key = keys[job.seed % keys.length];
  const report = await verifyWithKey({ model: card.file, key, probes: 16, nullKeys: 5, topK: 20 });
  // A report must still mean something: a known verdict and a p-value that is a probability.
  if (
    !['present', 'absent', 'inconclusive'].includes(report.verdict) ||
    !(report.pValue >= 0 && report.pValue <= 1)
  )
    throw new Error(`verify produced verdict ${report.verdict} with p = ${report.pValue}`);
  return `verified:${key.scheme}:${report.verdict}`;
}

async function runJob(job: FuzzJob): Promise<void> {
  if (job.kind === 'model') {
    const src = await source(job.source);
    const m = mutateModel(src.bytes, job.seed, src.proto, job.verify);
    await send({
      type: 'start',
      id: job.id,
      description: `${job.source} seed ${job.seed}: ${m.description}`,
    });
    const file = path.join(dir, `m${job.id}.onnx`);
    writeFileSync(file, m.bytes);
    const result = await attempt(() => runModelJob(job, file));
    rmSync(file, { force: true });
    await send({ type: 'done', id: job.id, ...result });
    return;
  }
  const text = job.kind === 'key' ? JSON.stringify(grewKeyJson(), null, 1) : goodData();
  const m = mutateText(text, job.seed);
  await send({
    type: 'start',
    id: job.id,
    description: `${job.kind} seed ${job.seed}: ${m.description}`,
  });
  const file = path.join(dir, `t${job.id}.txt`);
  writeFileSync(file, m.bytes);
  const result = await attempt(async () => {
    if (job.kind === 'key') return `key:${(await readKeyFile(file)).scheme}`;
    const { sequences } = await readInteractions(file, { isItem: (id) => id >= 1 && id <= ITEMS });
    return `data:${sequences.length}`;
  });
  rmSync(file, { force: true });
  await send({ type: 'done', id: job.id, ...result });
}

process.on('message', (jobs: FuzzJob[]) => {
  void (async () => {
    for (const job of jobs) await runJob(job);
    process.exit(0);
  })();
});
void send({ type: 'ready' });
