/** Cancelling an embed at any step leaves no output file and the original byte-identical. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CancelledError } from '../../../../src/core/errors';
import { embedGrew } from '../../../../src/core/watermark/grew';
import { fixture, tempDir } from '../../../support/helpers';

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('cancel during each step of a GREW embed (in the weights): nothing written, original unchanged', async () => {
  const model = fixture('sasrec_opset17.onnx');
  const before = sha(model);
  const steps: string[] = [];
  // Every step of a weights embed, in seconds: a short training (checked at its last step) with a
  // target it reaches, so the run goes on to utility, the self-check and writing.
  const quick = { secret: Buffer.alloc(32, 0x2c), seed: 1, maxSteps: 40, targetZ: 0.5 };
  await embedGrew({
    model,
    out: path.join(tempDir(), 'probe.onnx'),
    ...quick,
    progress: ({ message }) => void steps.push(message),
  });
  // One cancel per kind of step: training reports every step ("step 12 of at most 1,500"), so
  // messages that differ only in their numbers are one kind, cancelled at its first report.
  const shape = (m: string): string => m.replace(/[\d.,]+/g, '#');
  const unique = [...new Map(steps.map((m) => [shape(m), m])).keys()].filter(
    (s) => !s.startsWith('Writing'),
  );
  assert.ok(unique.length >= 5, `steps: ${unique.join(' | ')}`);
  assert.ok(
    unique.some((s) => s.includes('into the weights')),
    'the training step reports progress',
  );
  for (const step of unique) {
    const dir = tempDir();
    const controller = new AbortController();
    const run = embedGrew({
      model,
      out: path.join(dir, 'out.onnx'),
      keyOut: path.join(dir, 'key.wmkey.json'),
      ...quick,
      signal: controller.signal,
      progress: ({ message }) => {
        if (shape(message) === step) controller.abort();
      },
    });
    await assert.rejects(run, CancelledError, `cancel at "${step}"`);
    assert.deepEqual(readdirSync(dir), [], `files left after cancelling at "${step}"`);
  }
  assert.equal(sha(model), before);
  assert.ok(!existsSync(`${model}.recmark.json`));
});
