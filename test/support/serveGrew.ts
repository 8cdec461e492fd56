/**
 * A GREW model in serve mode (the bias appended as `score_calibration/*` nodes after the score
 * output), made by `embedGrew` with a fixed secret, for the attacks a thief with the file runs.
 * `mode: 'serve'` asks for it explicitly where GREW's default embeds into the weights instead;
 * the helper checks that the written model really carries the head.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { graphOf, readModel } from '../../src/core/onnx/model';
import { embedGrew } from '../../src/core/watermark/grew';
import type { GrewKey } from '../../src/core/watermark/key';
import { fixture, tempDir } from './helpers';

export const SERVE_HEAD_PREFIX = 'score_calibration/';

const made = new Map<string, Promise<{ model: string; key: GrewKey }>>();

/** The serve-mode GREW copy of a fixture (made once per process and fixture). */
export function serveModeGrew(
  name: string,
  data: string,
): Promise<{ model: string; key: GrewKey }> {
  let entry = made.get(name);
  if (!entry) {
    entry = (async () => {
      const model = path.join(tempDir(), `${path.basename(name, '.onnx')}.grew-serve.onnx`);
      const options = {
        model: fixture(name),
        out: model,
        data,
        secret: Buffer.alloc(32, 0x47),
        seed: 1,
        mode: 'serve' as const,
      };
      const r = await embedGrew(options);
      const { proto } = await readModel(model);
      assert.ok(
        graphOf(proto).node.some((n) => (n.name ?? '').startsWith(SERVE_HEAD_PREFIX)),
        'embedGrew did not write a serve-mode head; check its option for serve mode',
      );
      return { model, key: r.key };
    })();
    made.set(name, entry);
  }
  return entry;
}
