import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RecMarkError } from '../../../../src/core/errors';
import { keyIdOf, NOT_AN_ITEM, prf, type GrewKey } from '../../../../src/core/watermark/key';
import { readKeyFile, writeKeyFile } from '../../../../src/core/watermark/keyFile';
import { keyFromJson, keyToJson } from '../../../../src/core/watermark/keyJson';
import { greenFromClusters } from '../../../../src/core/watermark/partition';
import { tempDir } from '../../../support/helpers';

const secret = Buffer.alloc(32, 9);

function sampleKey(): GrewKey {
  const clusters = new Uint16Array(101);
  clusters[0] = NOT_AN_ITEM;
  for (let id = 1; id <= 100; id++) clusters[id] = id % 4;
  return {
    scheme: 'grew',
    version: 1,
    keyId: keyIdOf(secret),
    gamma: 0.5,
    delta: 0.5,
    kc: 50,
    protectHead: 10,
    topK: 20,
    scoreWidth: 101,
    numItems: 100,
    numClusters: 4,
    clusters,
    green: greenFromClusters(clusters, secret, 0.5),
    secret,
  };
}

test('the PRF is keyed and deterministic', () => {
  assert.equal(prf(secret, 'green', 5), prf(secret, 'green', 5));
  assert.notEqual(prf(secret, 'green', 5), prf(secret, 'green', 6));
  assert.notEqual(prf(secret, 'green', 5), prf(Buffer.alloc(32, 1), 'green', 5));
  assert.match(keyIdOf(secret), /^[0-9a-f]{16}$/);
});

test('the green split is exactly γ inside every cluster', () => {
  const key = sampleKey();
  for (let c = 0; c < 4; c++) {
    let n = 0;
    let g = 0;
    key.clusters.forEach((cl, id) => {
      if (cl === c) {
        n++;
        g += key.green[id];
      }
    });
    assert.equal(g, Math.round(0.5 * n));
  }
  assert.equal(key.green[0], 0);
});

test('key files round-trip, are private, and keep the secret only when asked', async () => {
  const key = sampleKey();
  const file = path.join(tempDir(), 'k.wmkey.json');
  await writeKeyFile(file, key, true);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const back = (await readKeyFile(file)) as GrewKey;
  assert.deepEqual(back.green, key.green);
  assert.deepEqual(back.clusters, key.clusters);
  assert.deepEqual(Buffer.from(back.secret!), secret);
  const publicJson = JSON.stringify(keyToJson(key, false));
  assert.ok(!publicJson.includes(secret.toString('hex')));
  assert.ok(!('secret' in keyToJson(key, false)));
});

test('malformed and tampered key files are refused with the reason', async () => {
  const dir = tempDir();
  const bad = (name: string, content: string, pattern: RegExp) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return assert.rejects(
      readKeyFile(file),
      (err: unknown) => err instanceof RecMarkError && pattern.test(err.message),
    );
  };
  await bad('a.json', '{', /not valid JSON/);
  await bad('b.json', '{"scheme":"rot13"}', /"scheme" must be/);
  const json = keyToJson(sampleKey(), false) as Record<string, unknown>;
  await bad('c.json', JSON.stringify({ ...json, gamma: 2 }), /gamma/);
  await bad('d.json', JSON.stringify({ ...json, green: 'AAAA' }), /"green" must be base64/);
  const green = sampleKey().green;
  green[0] = 1; // the pad id made green: impossible for a real key
  await bad(
    'e.json',
    JSON.stringify({ ...json, green: keyToJson({ ...sampleKey(), green }, false).green }),
    /altered/,
  );
  await bad('f.json', JSON.stringify({ ...json, version: 7 }), /version 7/);
});

test('a minimal AOW key is accepted with defaults', () => {
  const key = keyFromJson({ scheme: 'aow', sequence: [5, 9, 2, 7, 11] });
  assert.equal(key.scheme, 'aow');
  if (key.scheme === 'aow') {
    assert.equal(key.L, 5);
    assert.equal(key.M, 100);
  }
  assert.throws(() => keyFromJson({ scheme: 'aow', sequence: [5, 5] }), /repeats/);
});
