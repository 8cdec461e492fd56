import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  readData,
  readInteractions,
  readItemSequences,
} from '../../../../src/core/data/interactions';
import type { Adapter } from '../../../../src/core/onnx/adapter';
import { RecMarkError } from '../../../../src/core/errors';
import { tempDir } from '../../../support/helpers';
import { assertCounted, recordProgress } from '../../../support/progressCounts';
import {
  ITEM_MAP,
  movielensRatingsCsv,
  movielensRecboleInter,
  movielensSequences,
  UNMAPPED_MOVIE_IDS,
} from '../../../support/movielens';

const isItem = (id: number): boolean => id >= 1 && id <= 3650;

/** Sequences by user id 1, 2, ... (the reader keeps users in order of first appearance). */
function byUserId(data: { users: string[]; sequences: number[][] }): number[][] {
  return data.users
    .map((u, i) => [Number(u), data.sequences[i]] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, s]) => s);
}

test('raw MovieLens ratings.csv through item_map.csv gives the index-space sequences', async () => {
  const dir = tempDir();
  const data = await readData({ file: movielensRatingsCsv(dir), idMap: ITEM_MAP }, { isItem });
  assert.deepEqual(byUserId(data), movielensSequences()); // timestamps reorder the shuffled rows
  assert.equal(data.format, 'MovieLens-style CSV (userId, movieId, timestamp; rating ignored)');
  assert.deepEqual(data.unmapped, { interactions: 2, ids: UNMAPPED_MOVIE_IDS.length });
});

test('a RecBole .inter file reads the same as the CSV', async () => {
  const dir = tempDir();
  const data = await readData({ file: movielensRecboleInter(dir), idMap: ITEM_MAP }, { isItem });
  assert.deepEqual(byUserId(data), movielensSequences());
  assert.match(
    data.format,
    /^RecBole atomic file \(user_id, item_id, timestamp; rating ignored\)$/,
  );
});

test('raw ids without a map are refused, naming --id-map', async () => {
  const file = movielensRatingsCsv(tempDir());
  await assert.rejects(
    readData(file, { isItem }),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'data-invalid' &&
      /line \d+: item \d+ is not an item of this model/.test(err.message) &&
      /--id-map FILE/.test(err.message) &&
      /recmark\.idMapFile/.test(err.message),
  );
});

test('a header is never skipped silently: ids that fit are read, and the format is named', async () => {
  const file = path.join(tempDir(), 'slice.csv');
  writeFileSync(file, 'userId,movieId,rating,timestamp\n1,5,4.0,2\n1,7,3.0,1\n');
  const data = await readInteractions(file, { isItem });
  assert.deepEqual(data.sequences, [[7, 5]]);
  assert.match(data.format, /^MovieLens-style CSV/);
});

test('a map whose indices are not items of the model is an error naming the raw id', async () => {
  const dir = tempDir();
  const map = path.join(dir, 'map.csv');
  writeFileSync(map, 'index,movieId\n0,10\n5,11\n');
  const file = path.join(dir, 'd.csv');
  writeFileSync(file, 'userId,movieId\n1,11\n1,10\n');
  await assert.rejects(
    readData({ file, idMap: map }, { isItem }),
    /d\.csv line 3: the id map translates item 10 to index 0, which is not an item of this model/,
  );
});

test('data none of whose ids are in the map says so', async () => {
  const dir = tempDir();
  const map = path.join(dir, 'map.csv');
  writeFileSync(map, 'index,movieId\n1,10\n');
  const file = path.join(dir, 'd.csv');
  writeFileSync(file, 'userId,movieId\n1,99\n2,98\n');
  await assert.rejects(
    readData({ file, idMap: map }, { isItem }),
    /None of the 2 interactions in .*d\.csv has an item in the id map/,
  );
});

test('a missing map is an error naming it', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'd.csv');
  writeFileSync(file, 'userId,movieId\n1,5\n');
  await assert.rejects(
    readData({ file, idMap: path.join(dir, 'nowhere.csv') }, { isItem }),
    (err: unknown) =>
      err instanceof RecMarkError &&
      /nowhere\.csv/.test(err.message) &&
      /--id-map/.test(err.message),
  );
});

test('rows are checked against the header; dates order a CSV; four plain numbers ask for a header', async () => {
  const dir = tempDir();
  const short = path.join(dir, 'short.csv');
  writeFileSync(short, 'userId,movieId,timestamp\n1,5,3\n2,6\n');
  await assert.rejects(
    readInteractions(short, { isItem }),
    /short\.csv line 3: expected the header's 3 columns, found 2/,
  );
  const dated = path.join(dir, 'dated.csv');
  writeFileSync(dated, 'user,item,date\n1,5,2024-03-02\n1,6,2024-03-01\n1,7,2024-03-03\n');
  assert.deepEqual((await readInteractions(dated, { isItem })).sequences, [[6, 5, 7]]);
  const badDate = path.join(dir, 'bad.csv');
  writeFileSync(badDate, 'user,item,date\n1,5,soon\n');
  await assert.rejects(readInteractions(badDate, { isItem }), /line 2: the timestamp is neither/);
  const four = path.join(dir, 'four.txt');
  writeFileSync(four, '1 5 4.0 964982703\n');
  await assert.rejects(
    readInteractions(four, { isItem }),
    /line 1: expected "user item \[timestamp\]", found 4 fields; .*add a header line/,
  );
});

test('a large file reports lines read as it parses, up to every line of the file', async () => {
  const file = path.join(tempDir(), 'big.csv');
  const rows = 130_000;
  const lines = ['userId,movieId,timestamp'];
  for (let i = 0; i < rows; i++) lines.push(`${i % 997},${1 + (i % 3650)},${i}`);
  writeFileSync(file, lines.join('\r\n') + '\r\n');
  const counts: [number, number][] = [];
  const data = await readData(file, {
    isItem,
    onProgress: (done, total) => void counts.push([done, total]),
  });
  assert.equal(data.lines, rows + 1);
  // Every 50,000 lines, then the end: the header counts, it is a line of the file.
  assert.deepEqual(
    counts.map(([d]) => d),
    [50_000, 100_000, rows + 1],
  );
  assertCounted(counts, rows + 1, 'lines read');

  // Through readItemSequences (what embed, verify and the attacks call): a step of its own.
  const rec = recordProgress();
  const adapter = {
    scoreWidth: 3651,
    itemIds: Int32Array.from({ length: 3650 }, (_v, i) => i + 1),
  };
  await readItemSequences(file, adapter as unknown as Adapter, undefined, rec.progress);
  assertCounted(rec.counts('Reading big.csv', 'lines'), rows + 1, 'readItemSequences');
  assert.equal(rec.messages()[0], 'Reading big.csv');
  assert.match(rec.messages().at(-1)!, /^Data big\.csv: .*997 users/);
});

test('a small file reports its one count, N/N', async () => {
  const file = path.join(tempDir(), 'small.txt');
  writeFileSync(file, '1 5\n1 6\n2 7');
  const counts: [number, number][] = [];
  await readData(file, { isItem, onProgress: (done, total) => void counts.push([done, total]) });
  assert.deepEqual(counts, [[3, 3]]);
});
