/**
 * MovieLens latest-small in the fixtures' index space, shipped in the repository as
 * test/fixtures/movielens/sequences.txt (one user per line, item indices oldest first; MovieLens
 * allows redistributing transformations under its own terms, see that folder's README). The file
 * is derived from ratings.csv by scripts/movielens-sequences.mjs, which can also check it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const SEQUENCES = path.join(ROOT, 'test', 'fixtures', 'movielens', 'sequences.txt');

/** The 610 users' sequences in the fixtures' index space, from the shipped file. */
export function movielensSequences(): number[][] {
  return readFileSync(SEQUENCES, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(Number));
}

/** Write the sequences as a RecMark interaction file (`user item order` lines); returns its path. */
export function movielensInteractionFile(dir = path.join(ROOT, '.cache', 'data')): string {
  const file = path.join(dir, 'ml-latest-small.index.txt');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const lines: string[] = ['user item order'];
  movielensSequences().forEach((seq, u) =>
    seq.forEach((item, t) => lines.push(`${u + 1} ${item} ${t}`)),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
