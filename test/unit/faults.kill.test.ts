/**
 * Faults mid-operation (issue 8, part 3): the CLI killed outright (SIGKILL) or interrupted
 * (Ctrl-C / SIGTERM: exit 130) while it embeds (GREW, AOW), attacks (prune, noise, extract,
 * fine-tune) and verifies, and in-process cancellation of verification at every step. The
 * original, which sits in the same folder as the outputs, stays byte-identical; the folder holds
 * nothing a user could take for an output: no half-written model, key or report. A SIGKILL that
 * lands in the instant between writing and renaming may leave hidden
 * `.NAME.recmark-PID-HEX.partial` files, which the next run's first step removes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { CancelledError } from '../../src/core/errors';
import { readModel } from '../../src/core/onnx/model';
import { assertWritableFolder, isPartialFileName } from '../../src/core/util/files';
import { embedGrew } from '../../src/core/watermark/grew';
import type { WatermarkKey } from '../../src/core/watermark/key';
import { readKeyFile } from '../../src/core/watermark/keyFile';
import { keyFromJson } from '../../src/core/watermark/keyJson';
import { verifyWithKeys } from '../../src/core/watermark/verify';
import { fixture, ROOT, tempDir } from '../support/helpers';
import { cliNodeArgs } from '../support/cli';
import { movielensInteractionFile } from '../support/movielens';

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const FIXTURE = fixture('sasrec_opset17.onnx');

/** A folder holding a copy of the model, as a user's project would. */
function workspace(): { dir: string; model: string; hash: string } {
  const dir = tempDir();
  const model = path.join(dir, 'model.onnx');
  copyFileSync(FIXTURE, model);
  return { dir, model, hash: sha(model) };
}

interface Interrupted {
  /** The progress line after which the signal was sent, or null if the run ended first. */
  at: string | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI (as `recmark` runs: one node process) and send `sig` as soon as it prints a
 * progress line that `when` accepts, i.e. after it has started that piece of work.
 */
function interrupt(
  args: string[],
  when: (step: string) => boolean,
  sig: 'SIGKILL' | 'SIGINT' | 'SIGTERM',
): Promise<Interrupted> {
  const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let at: string | null = null;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const step = line.replace(/^… /, '');
      if (at === null && line.startsWith('… ') && when(step)) {
        at = step;
        child.kill(sig);
      }
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ at, code, signal, stdout, stderr })),
  );
}

interface Outputs {
  model?: string;
  key?: string;
  html?: string;
}

/**
 * The folder after a fault: the original byte-identical, and otherwise only complete outputs
 * (a run killed after its last rename has finished) or hidden partial files, which the next
 * run's pre-flight removes. Returns what was found, for the test's diagnostics.
 */
async function assertNothingPartial(
  ws: { dir: string; model: string; hash: string },
  outputs: Outputs,
): Promise<string[]> {
  const names = readdirSync(ws.dir).sort();
  assert.ok(names.includes('model.onnx'), 'the original is still there');
  assert.equal(sha(ws.model), ws.hash, 'the original is byte-identical');
  for (const name of names) {
    const file = path.join(ws.dir, name);
    if (name === 'model.onnx' || isPartialFileName(name)) continue;
    if (outputs.model && file === outputs.model) {
      // Complete, loadable, and never without its key.
      await readModel(file);
      if (outputs.key) assert.ok(existsSync(outputs.key), 'a watermarked model without its key');
    } else if (outputs.key && file === outputs.key) {
      await readKeyFile(file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } else if (outputs.html && file === outputs.html) {
      assert.match(readFileSync(file, 'utf8'), /<\/html>\n$/);
    } else {
      assert.fail(`unexpected file after the fault: ${name}`);
    }
  }
  // What the next run does first clears any partial file the kill left.
  await assertWritableFolder(path.join(ws.dir, 'next.onnx'));
  assert.deepEqual(
    readdirSync(ws.dir).filter(isPartialFileName),
    [],
    'partial files survive the next run',
  );
  return names;
}

function expectCancelled(r: Interrupted): void {
  assert.ok(r.at, `the run ended before it could be interrupted:\n${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').at(-1), 'recmark: cancelled; no output was written');
  assert.equal(r.stdout, '');
}

function expectKilled(t: TestContext, r: Interrupted, found: string[]): void {
  assert.ok(r.at, `the run ended before it could be killed:\n${r.stderr}`);
  assert.equal(r.signal, 'SIGKILL');
  t.diagnostic(`killed after "${r.at}"; folder: ${found.join(', ')}`);
}

test('SIGKILL during a GREW embed (clustering, training, writing): nothing partial, original intact', async (t) => {
  // Writing is the same for both modes, so that kill uses a served head (seconds, not a minute).
  for (const [step, mode] of [
    ['Clustering', 'weights'],
    ['Training the watermark into the weights', 'weights'],
    ['Writing', 'serve'],
  ]) {
    const ws = workspace();
    const out = path.join(ws.dir, 'model.grew.onnx');
    const key = path.join(ws.dir, 'model.wmkey.json');
    const r = await interrupt(
      ['embed', 'grew', ws.model, '--mode', mode, '--out', out, '--key-out', key],
      (s) => s.startsWith(step),
      'SIGKILL',
    );
    const found = await assertNothingPartial(ws, { model: out, key });
    expectKilled(t, r, found);
    if (step !== 'Writing') assert.deepEqual(found, ['model.onnx'], `killed at ${step}`);
  }
});

test('SIGKILL early in an AOW embed, Ctrl-C while it fine-tunes: exit 130, nothing written', async (t) => {
  const ws = workspace();
  const out = path.join(ws.dir, 'model.aow.onnx');
  const key = path.join(ws.dir, 'model.wmkey.json');
  const data = movielensInteractionFile();
  const args = ['embed', 'aow', ws.model, '--out', out, '--key-out', key, '--data', data];
  const killed = await interrupt(args, (s) => s.startsWith('Measuring utility before'), 'SIGKILL');
  expectKilled(t, killed, await assertNothingPartial(ws, { model: out, key }));
  assert.deepEqual(readdirSync(ws.dir), ['model.onnx']);

  const r = await interrupt(
    args,
    (s) => /^Fine-tuning until .*: [\d,]+ of at most [\d,]+ training steps/.test(s),
    'SIGINT',
  );
  expectCancelled(r);
  assert.deepEqual(await assertNothingPartial(ws, { model: out, key }), ['model.onnx']);
});

test('SIGKILL or SIGTERM during prune and noise attacks: nothing partial, original intact', async (t) => {
  const ws = workspace();
  const out = path.join(ws.dir, 'model.pruned.onnx');
  const prune = ['attack', 'prune', ws.model, '--out', out, '--fraction', '0.5'];
  const r0 = await interrupt(prune, (s) => s.startsWith('Pruning'), 'SIGKILL');
  const found = await assertNothingPartial(ws, { model: out });
  expectKilled(t, r0, found);
  assert.deepEqual(found, ['model.onnx']);
  const noisy = path.join(ws.dir, 'model.noisy.onnx');
  const noise = ['attack', 'noise', ws.model, '--out', noisy, '--scale', '0.1'];
  const r = await interrupt(noise, (s) => s.startsWith('Measuring the perturbed model'), 'SIGTERM');
  expectCancelled(r);
  assert.deepEqual(await assertNothingPartial(ws, { model: noisy }), ['model.onnx']);
});

test('SIGKILL while extraction trains its surrogate; Ctrl-C while a fine-tuning attack trains', async (t) => {
  const ws = workspace();
  const out = path.join(ws.dir, 'model.surrogate.onnx');
  const small = ['--sequences', '40', '--length', '5', '--top-k', '30', '--epochs', '2'];
  const r = await interrupt(
    ['attack', 'extract', ws.model, '--out', out, ...small],
    (s) => s.startsWith('Training the surrogate'),
    'SIGKILL',
  );
  const found = await assertNothingPartial(ws, { model: out });
  expectKilled(t, r, found);
  assert.deepEqual(found, ['model.onnx']);

  const tuned = path.join(ws.dir, 'model.finetuned.onnx');
  const data = movielensInteractionFile();
  const f = await interrupt(
    ['attack', 'finetune', ws.model, '--data', data, '--out', tuned, '--fraction', '0.05'],
    (s) => /^Fine-tuning on \d+ users .*: \d+\/\d+ training steps, epoch 1\/1/.test(s),
    'SIGINT',
  );
  expectCancelled(f);
  assert.deepEqual(await assertNothingPartial(ws, { model: tuned }), ['model.onnx']);
});

// ---- verification ----------------------------------------------------------------------------

let grewKey: WatermarkKey;
let grewKeyFile: string;
let marked: string;
/** An AOW key as another implementation writes it: any model can be checked against it. */
const aowKey = keyFromJson({ scheme: 'aow', sequence: [17, 2203, 981, 3555, 40] });

before(async () => {
  const dir = tempDir();
  marked = path.join(dir, 'marked.onnx');
  grewKeyFile = path.join(dir, 'marked.wmkey.json');
  const r = await embedGrew({ model: FIXTURE, out: marked, keyOut: grewKeyFile, mode: 'serve' });
  grewKey = r.key;
});

test('SIGKILL and Ctrl-C during verify --report-html: no report file, the suspect intact', async (t) => {
  const ws = workspace();
  copyFileSync(marked, ws.model);
  ws.hash = sha(ws.model);
  const html = path.join(ws.dir, 'audit.html');
  const args = ['verify', ws.model, '--key', grewKeyFile, '--probes', '300', '--report-html', html];
  const killed = await interrupt(args, (s) => s.startsWith('Querying'), 'SIGKILL');
  const found = await assertNothingPartial(ws, { html });
  expectKilled(t, killed, found);
  assert.deepEqual(found, ['model.onnx']);
  const r = await interrupt(args, (s) => s.startsWith('Testing'), 'SIGINT');
  // Verification may finish its last step before the signal lands; if not, it is cancelled.
  if (r.code === 130) expectCancelled(r);
  else assert.equal(r.code, 0, r.stderr);
  await assertNothingPartial(ws, { html });
});

test('cancelling verification at every step (GREW; AOW then GREW in one run) throws CancelledError', async () => {
  const before = sha(marked);
  // AOW's steps are checked inside the two-key run (prefixed "Key 1/2: ").
  for (const keys of [[grewKey], [aowKey, grewKey]]) {
    const steps: string[] = [];
    await verifyWithKeys({
      model: marked,
      keys,
      probes: 100,
      nullKeys: 20,
      progress: ({ message }) => void steps.push(message),
    });
    const unique = [...new Set(steps)];
    assert.ok(unique.length >= 2, unique.join(' | '));
    for (const step of unique) {
      const controller = new AbortController();
      await assert.rejects(
        verifyWithKeys({
          model: marked,
          keys,
          probes: 100,
          nullKeys: 20,
          signal: controller.signal,
          progress: ({ message }) => {
            if (message === step) controller.abort();
          },
        }),
        CancelledError,
        `cancel at "${step}" (${keys.map((k) => k.scheme).join('+')})`,
      );
    }
  }
  assert.equal(sha(marked), before);
});
