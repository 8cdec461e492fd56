/**
 * Overwriting (overwrite.ts): a thief embeds their own watermark into a GREW-watermarked SASRec
 * with RecMark's embedding — GREW over GREW in the weights (the default a thief gets), AOW over a
 * serve-mode head. The thief's key is never written or returned (its id only), the owner's key
 * is verified on the result, and the thief's own audit is reported. AOW over the serve head also
 * checks that embedding trains through it (TopK) without touching the head's constants (it went
 * NaN before). Then the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { overwriteAttack } from '../../../../src/core/attack/overwrite';
import { encodeModel, graphOf, onnx, readModel } from '../../../../src/core/onnx/model';
import { architectureDifferences } from '../../../../src/core/onnx/architecture';
import { embedGrew } from '../../../../src/core/watermark/grew';
import { keyIdOf } from '../../../../src/core/watermark/key';
import { fixture, runCli, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { SERVE_HEAD_PREFIX, serveModeGrew } from '../../../support/serveGrew';
import { tinyModel } from '../../../support/tinyModel';

const DATA = movielensInteractionFile();
const THIEF = Buffer.alloc(32, 0x01);

/** Nothing of the thief's key but its id: no secret, no green set, no sequence. */
function assertNoThiefKey(result: object): void {
  const text = JSON.stringify(result);
  assert.ok(
    !/"(secret|green|sequence|clusters)":/.test(text),
    'the thief key leaked into the result',
  );
  assert.ok(!text.includes(THIEF.toString('hex')));
}

async function headBytes(file: string): Promise<Map<string, Uint8Array>> {
  const { proto } = await readModel(file);
  return new Map(
    graphOf(proto)
      .initializer.filter((t) => t.name!.startsWith(SERVE_HEAD_PREFIX))
      .map((t) => [t.name!, onnx.TensorProto.encode(t).finish()]),
  );
}

test("GREW over GREW in the weights: the thief's mark is added, only OUT is written, the owner's key is checked", async () => {
  // A thief's GREW cannot be trained through an owner's served head (its cap holds ranks 11–20;
  // the threat model reports that row as not run), so the owner's mark is in the weights here.
  const model = path.join(tempDir(), 'owner.grew.onnx');
  const { key } = await embedGrew({
    model: fixture('sasrec_opset17.onnx'),
    out: model,
    data: DATA,
    secret: Buffer.alloc(32, 0x47),
    seed: 1,
  });
  const dir = tempDir();
  const out = path.join(dir, 'theirs.onnx');
  const r = await overwriteAttack({
    model,
    out,
    scheme: 'grew',
    data: DATA,
    ownerKey: key,
    verify: { nullKeys: 50 },
    thiefSecret: THIEF,
  });
  assert.deepEqual(readdirSync(dir), ['theirs.onnx'], 'no key file for the thief');
  assert.equal(r.thief.keyId, keyIdOf(THIEF));
  assert.match(r.thief.summary, /^z_w \d+\.\d\d on 1000 data probes$/);
  assertNoThiefKey(r);
  assert.ok(r.owner, "the owner's key was verified");
  assert.equal(r.owner.keyId, key.keyId);
  assert.equal(r.owner.model.fileName, 'theirs.onnx');
  assert.ok(r.topKOverlap >= 0 && r.topKOverlap <= 1);
  // Both marks live in the weights: the graph is still the original's.
  const [owner, theirs] = [await readModel(model), await readModel(out)];
  assert.deepEqual(architectureDifferences(owner.proto, theirs.proto), []);
  assert.equal(r.owner.verdict, 'present', `owner z_w ${r.owner.grew?.z}`);
});

test("AOW over GREW serve mode: the thief's AOW trains through the head, the head's constants untouched", async () => {
  const { model, key } = await serveModeGrew('sasrec_opset17.onnx', DATA);
  const out = path.join(tempDir(), 'theirs.onnx');
  const r = await overwriteAttack({
    model,
    out,
    scheme: 'aow',
    data: DATA,
    ownerKey: key,
    verify: { nullKeys: 50 },
    thiefSecret: THIEF,
  });
  assert.equal(r.thief.keyId, keyIdOf(THIEF));
  assert.match(r.thief.summary, /^ranks 1, 1, 1, 1 after \d+ training steps$/);
  assertNoThiefKey(r);
  assert.deepEqual(await headBytes(out), await headBytes(model));
  assert.ok(r.owner);
  assert.equal(r.owner.scheme, 'grew');
});

test('CLI: attack overwrite needs --scheme; the key-less thief run prints one JSON object', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'o.onnx');
  // A tiny real recommender for the usage errors: the CLI's plumbing is under test there.
  const model = path.join(tempDir(), 'tiny.onnx');
  writeFileSync(model, encodeModel(tinyModel({ items: 200, dim: 16, seqLen: 8, seed: 3 })));
  for (const [bad, pattern] of [
    [['attack', 'overwrite', model, '--out', out], /needs --scheme grew or --scheme aow/],
    [
      ['attack', 'overwrite', model, '--out', out, '--scheme', 'kgw'],
      /--scheme must be grew or aow/,
    ],
  ] as const) {
    const e = await runCli([...bad]);
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, pattern);
  }
  // The thief's run: AOW with data on the SASRec fixture (a model this small cannot carry AOW).
  const r = await runCli([
    ...['attack', 'overwrite', fixture('sasrec_opset17.onnx'), '--out', out],
    ...['--scheme', 'aow', '--data', DATA, '--json'],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const json = JSON.parse(lines[0]);
  assert.equal(json.attack, 'overwrite');
  assert.equal(json.scheme, 'aow');
  assert.match(json.thief.keyId, /^[0-9a-f]{16}$/);
  assert.equal(json.owner, null);
  assert.ok(!/secret/i.test(lines[0]));
  assert.ok(existsSync(out));
  assert.deepEqual(readdirSync(dir), ['o.onnx']);
  const again = await runCli(['attack', 'overwrite', model, '--out', out, '--scheme', 'aow']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; pass --force/);
});
