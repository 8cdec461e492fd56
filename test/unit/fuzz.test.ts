/**
 * Fuzz (issue 8): thousands of seeded mutations of the fixture models, a key file and a data
 * file, through load → inspect (adapter detection) → verify. The only acceptable failure is a
 * RecMarkError; a thrown TypeError/RangeError, a native crash or a job running past its time
 * limit fails the test with the seed and the mutation, so `mutateModel(bytes, seed)` reproduces
 * it. Jobs run in a child process (fuzzWorker.ts) so hangs and crashes cannot take the runner.
 * FUZZ_MODELS / FUZZ_VERIFY / FUZZ_TEXT / FUZZ_SEED scale or move the run.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { MAIN_FIXTURES, ROOT } from '../support/helpers';
import type { FuzzJob, WorkerMessage } from '../support/fuzzWorker';

const MODELS = Number(process.env.FUZZ_MODELS ?? 2500);
const VERIFY = Number(process.env.FUZZ_VERIFY ?? 80);
const TEXT = Number(process.env.FUZZ_TEXT ?? 1000);
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20_240_801);
/** Per job: inspection of a 2 MB model takes ~10-50 ms, a verification well under 2 s. */
const TIME_LIMIT_MS = { inspect: 15_000, verify: 60_000 };

const SOURCES = [
  ...MAIN_FIXTURES,
  'variants/sasrec_seq_int32_opset13.onnx',
  'variants/bert4rec_last_opset17.onnx',
];

function plan(): FuzzJob[] {
  const jobs: FuzzJob[] = [];
  const add = (kind: FuzzJob['kind'], source: string, verify: boolean) =>
    jobs.push({ id: jobs.length, kind, source, seed: BASE_SEED + jobs.length, verify });
  for (let i = 0; i < MODELS; i++) add('model', SOURCES[i % SOURCES.length], false);
  for (let i = 0; i < VERIFY; i++) add('model', MAIN_FIXTURES[i % MAIN_FIXTURES.length], true);
  for (let i = 0; i < TEXT; i++) add(i % 2 === 0 ? 'key' : 'data', '', false);
  return jobs;
}

interface Failure {
  job: FuzzJob;
  description: string;
  problem: string;
}

/** Run jobs in a worker; on a hang or crash, record it and start a new worker after that job. */
async function runAll(
  jobs: FuzzJob[],
): Promise<{ outcomes: Map<string, number>; failures: Failure[] }> {
  const outcomes = new Map<string, number>();
  const failures: Failure[] = [];
  let next = 0;
  while (next < jobs.length) {
    next = await new Promise<number>((resolve) => {
      const remaining = jobs.slice(next);
      const child: ChildProcess = fork(path.join(__dirname, '..', 'support', 'fuzzWorker.ts'), [], {
        cwd: ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let current: { job: FuzzJob; description: string } | null = null;
      let resumeAt = next;
      let timer: NodeJS.Timeout | undefined;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const fail = (problem: string) => {
        if (current) failures.push({ ...current, problem });
        else failures.push({ job: jobs[resumeAt], description: 'worker start', problem });
        resumeAt = (current?.job.id ?? resumeAt) + 1;
      };
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') return void child.send(remaining);
        if (m.type === 'start') {
          current = { job: jobs[m.id], description: m.description };
          const limit = current.job.verify ? TIME_LIMIT_MS.verify : TIME_LIMIT_MS.inspect;
          timer = setTimeout(() => {
            fail(`no result within ${limit / 1000} s (hang)`);
            current = null;
            child.kill('SIGKILL');
          }, limit);
          return;
        }
        clearTimeout(timer);
        outcomes.set(m.outcome, (outcomes.get(m.outcome) ?? 0) + 1);
        if (m.failure)
          failures.push({ job: jobs[m.id], description: current!.description, problem: m.failure });
        current = null;
        resumeAt = m.id + 1;
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (current)
          fail(
            `worker died (exit ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          );
        else if (code !== 0 && resumeAt < jobs.length && signal !== 'SIGKILL')
          fail(`worker exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
        resolve(resumeAt);
      });
    });
  }
  return { outcomes, failures };
}

test(`fuzz: ${MODELS} model mutations inspected, ${VERIFY} verified, ${TEXT} key/data mutations`, async (t) => {
  const started = Date.now();
  const jobs = plan();
  const { outcomes, failures } = await runAll(jobs);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
  t.diagnostic(`${jobs.length} jobs in ${seconds} s: ${summary.join(', ')}`);
  for (const f of failures.slice(0, 10)) {
    t.diagnostic(
      `FAILED job ${f.job.id} (${f.job.kind}, seed ${f.job.seed}): ${f.description}\n${f.problem}`,
    );
  }
  assert.deepEqual(
    failures.map(
      (f) => `${f.job.kind} seed ${f.job.seed}: ${f.description} → ${f.problem.split('\n')[0]}`,
    ),
    [],
  );
  // The mutations must reach past decoding, or the fuzz proves little.
  assert.ok(
    (outcomes.get('inspected') ?? 0) > MODELS / 10,
    'too few mutations survive to inspection',
  );
  const verified = [...outcomes]
    .filter(([k]) => k.startsWith('verified'))
    .reduce((a, [, v]) => a + v, 0);
  assert.ok(verified >= VERIFY / 4, `only ${verified} mutations reached a verdict`);
});
