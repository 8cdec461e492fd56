/** The shipped MovieLens sequences: what the tests train and audit on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { movielensSequences } from '../support/movielens';

test('the shipped sequences: 610 users, 90,274 interactions, items in 1..3650', () => {
  const sequences = movielensSequences();
  assert.equal(sequences.length, 610);
  assert.equal(
    sequences.reduce((n, s) => n + s.length, 0),
    90_274,
  );
  for (const s of sequences) {
    assert.ok(s.length >= 5, 'every user kept has at least 5 ratings');
    assert.ok(s.every((i) => Number.isInteger(i) && i >= 1 && i <= 3650));
  }
});
