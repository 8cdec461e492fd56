/** The pure rules of GREW in the weights: which student is written, and what it is distilled on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataHistories, studentToWrite } from '../../../../src/core/watermark/grewWeights';

test('the student written: the last if it reached the floor, else the best check if that did, else none', () => {
  assert.equal(studentToWrite(6.5, 6.5, 6), 'last');
  assert.equal(studentToWrite(6.0, 6.3, 6), 'last', 'the floor itself is enough');
  // A plateau that ended on a low check: the best check's weights still give the evidence.
  assert.equal(studentToWrite(5.99, 6.05, 6), 'best');
  assert.equal(studentToWrite(5.9, 5.99, 6), null, 'no check reached the floor: refused');
  assert.equal(studentToWrite(undefined, undefined, 6), null, 'never checked: refused');
  // A user's lower --target-z lowers the floor with it (the caller passes min(6, target)).
  assert.equal(studentToWrite(0.7, 0.7, 0.5), 'last');
});

test('distillation histories from data: every history whole and without its last item, then cuts', () => {
  const sequences = [[1, 2, 3, 4], [5, 6], [7]];
  const h = dataHistories(sequences, 10, 1);
  // Users with at least two items give two histories each; a one-item user gives none.
  assert.deepEqual(h.slice(0, 4), [[1, 2, 3], [1, 2, 3, 4], [5], [5, 6]]);
  assert.equal(h.length, 10);
  // Cuts come only from histories of three or more, and are prefixes of at least two items.
  for (const cut of h.slice(4)) {
    assert.ok(cut.length >= 2 && cut.length < 4, `cut ${cut}`);
    assert.deepEqual(cut, [1, 2, 3, 4].slice(0, cut.length));
  }
  assert.deepEqual(dataHistories(sequences, 10, 1), h, 'seeded');
});
