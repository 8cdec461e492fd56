/**
 * Issue 18: a raw MovieLens ratings.csv (and a RecBole .inter file) audits the fixtures end to end
 * through test/fixtures/item_map.csv; without the map it is refused naming --id-map.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixture, runCli, tempDir } from '../../support/helpers';
import { ITEM_MAP, movielensRatingsCsv, movielensRecboleInter } from '../../support/movielens';

test('data check says what it read: format, users, items, lengths, unmapped ids', async () => {
  const dir = tempDir();
  const ratings = movielensRatingsCsv(dir, 100);
  const r = await runCli([
    'data',
    'check',
    ratings,
    '--id-map',
    ITEM_MAP,
    '--model',
    fixture('sasrec_opset17.onnx'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(
    lines[0],
    `${ratings}: MovieLens-style CSV (userId, movieId, timestamp; rating ignored)`,
  );
  assert.match(
    lines[1],
    /^ {2}100 users, [\d,]+ interactions, [\d,]+ distinct items \(model indices, through the id map\)$/,
  );
  assert.match(
    lines[2],
    /sequence length: min \d+, median \d+, max [\d,]+; 100 users have an item to hold out/,
  );
  assert.equal(
    lines[3],
    '  2 interactions (2 distinct raw ids) are not in the id map and were left out',
  );
  // Progress on stderr: the step, then lines read, ending with every line of the file.
  const fileLines = readFileSync(ratings, 'utf8').trimEnd().split('\n').length;
  const name = path.basename(ratings);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `… Reading ${name}`,
    `… Reading ${name}: ${fileLines.toLocaleString('en-US')}/${fileLines.toLocaleString('en-US')} lines`,
  ]);
  const json = await runCli([
    'data',
    'check',
    movielensRecboleInter(dir, 100),
    '--id-map',
    ITEM_MAP,
    '--json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr, '', 'no progress with --json');
  const summary = JSON.parse(json.stdout) as { users: number; format: string; unmapped: unknown };
  assert.equal(summary.users, 100);
  assert.match(summary.format, /^RecBole atomic file/);
  assert.deepEqual(summary.unmapped, { interactions: 2, ids: 2 });
});

test('raw ratings.csv with item_map.csv: embed and verify a fixture; without the map: refused', async () => {
  const dir = tempDir();
  const ratings = movielensRatingsCsv(dir, 120);
  const model = fixture('sasrec_opset17.onnx');
  const out = path.join(dir, 'marked.onnx');
  const key = path.join(dir, 'k.wmkey.json');
  const embed = await runCli([
    'embed',
    'grew',
    model,
    '--mode',
    'serve',
    '--out',
    out,
    '--key-out',
    key,
    '--data',
    ratings,
    '--id-map',
    ITEM_MAP,
  ]);
  assert.equal(embed.code, 0, embed.stderr);
  assert.match(
    embed.stdout + embed.stderr,
    /Data ratings\.csv: MovieLens-style CSV \(userId, movieId, timestamp; rating ignored\), 120 users; 2 interactions \(2 raw ids\) not in the id map, left out/,
  );
  const verify = await runCli([
    'verify',
    out,
    '--key',
    key,
    '--data',
    ratings,
    '--id-map',
    ITEM_MAP,
    '--json',
  ]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal((JSON.parse(verify.stdout) as { verdict: string }).verdict, 'present');
  const refused = await runCli(['verify', out, '--key', key, '--data', ratings]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /item \d+ is not an item of this model.*--id-map FILE/);
  const orphan = await runCli(['verify', out, '--key', key, '--id-map', ITEM_MAP]);
  assert.equal(orphan.code, 2);
  assert.match(orphan.stderr, /--id-map translates the ids of a --data FILE; pass --data too/);
});
