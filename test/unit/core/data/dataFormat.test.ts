import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat, splitCsvLine } from '../../../../src/core/data/dataFormat';
import { RecMarkError } from '../../../../src/core/errors';

test('plain "user item [timestamp]" lines are told from their first line', () => {
  const two = detectFormat('1 5', 'd.txt');
  assert.equal(two.kind, 'plain');
  assert.equal(two.time, null);
  assert.equal(two.header, null);
  const three = detectFormat('1,5,964982703', 'd.txt');
  assert.equal(three.kind, 'plain');
  assert.equal(three.time, 2);
  assert.deepEqual(three.split('2;7;3'), ['2', '7', '3']);
});

test('a MovieLens ratings.csv header names its columns; rating is ignored', () => {
  const f = detectFormat('userId,movieId,rating,timestamp', 'ratings.csv');
  assert.equal(f.kind, 'csv');
  assert.deepEqual([f.user, f.item, f.time], [0, 1, 3]);
  assert.equal(f.description, 'MovieLens-style CSV (userId, movieId, timestamp; rating ignored)');
});

test('a RecBole atomic header is typed and tab-separated', () => {
  const f = detectFormat('user_id:token\titem_id:token\ttimestamp:float', 'ml.inter');
  assert.equal(f.kind, 'recbole');
  assert.deepEqual([f.user, f.item, f.time], [0, 1, 2]);
  assert.deepEqual(f.header, ['user_id', 'item_id', 'timestamp']);
  assert.deepEqual(f.split('u1\tB00X\t17.0'), ['u1', 'B00X', '17.0']);
  assert.match(f.description, /^RecBole atomic file \(user_id, item_id, timestamp\)$/);
});

test('whitespace headers and other column spellings are recognised', () => {
  const f = detectFormat('user item order', 'd.txt');
  assert.equal(f.kind, 'csv');
  assert.deepEqual([f.user, f.item, f.time], [0, 1, 2]);
  const amazon = detectFormat('reviewerID;asin;overall;unixReviewTime', 'beauty.csv');
  assert.deepEqual([amazon.user, amazon.item, amazon.time], [0, 1, 3]);
});

test('a header without user and item columns is refused, naming the columns it has', () => {
  assert.throws(
    () => detectFormat('a,b,c', 'd.csv'),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'data-invalid' &&
      /d\.csv line 1: .*a header naming the user and item columns/.test(err.message) &&
      /found columns "a", "b", "c" — rename the user and item columns/.test(err.message),
  );
});

test('a binary first line is refused without quoting it', () => {
  const garbage = '\u0008\u0012\u0003onnx\u0000\u0001userId,movieId';
  assert.throws(
    () => detectFormat(garbage, 'model.onnx'),
    (err: unknown) =>
      err instanceof RecMarkError &&
      /the first line is neither\.$/.test(err.message) &&
      !err.message.includes('onnx\u0000'),
  );
});

test('CSV fields honour double quotes', () => {
  assert.deepEqual(splitCsvLine('1,"Heat, 1995","say ""hi""",3'), [
    '1',
    'Heat, 1995',
    'say "hi"',
    '3',
  ]);
  assert.deepEqual(splitCsvLine('a\tb', '\t'), ['a', 'b']);
});
