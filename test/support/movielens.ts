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

const ITEM_MAP = path.join(ROOT, 'test', 'fixtures', 'item_map.csv');

/** Raw MovieLens ids not in the fixtures' map (ratings of movies the fixtures dropped). */
export const UNMAPPED_MOVIE_IDS = [9_999_991, 9_999_992];

/**
 * The sequences back in MovieLens' raw ids, as `ratings.csv` rows (userId, movieId, rating,
 * timestamp) in a seeded shuffled order, plus two ratings of movies the map lacks: what a user
 * downloads, to be read through test/fixtures/item_map.csv. `users` limits it to the first users.
 */
export function movielensRawRows(users = 610): { user: number; movieId: number; time: number }[] {
  const toRaw = new Map<number, number>();
  for (const line of readFileSync(ITEM_MAP, 'utf8').trim().split('\n').slice(1)) {
    const [index, movieId] = line.split(',').map(Number);
    toRaw.set(index, movieId);
  }
  const rows = movielensSequences()
    .slice(0, users)
    .flatMap((seq, u) =>
      seq.map((item, t) => ({
        user: u + 1,
        movieId: toRaw.get(item)!,
        time: 964_980_000 + t * 60,
      })),
    );
  rows.push(
    ...UNMAPPED_MOVIE_IDS.map((movieId, i) => ({ user: 1, movieId, time: 964_970_000 + i })),
  );
  // Deterministic shuffle: the reader must order by timestamp, not by line.
  let state = 7;
  for (let i = rows.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

/** A MovieLens-style `ratings.csv` of the raw rows in `dir`. */
export function movielensRatingsCsv(dir: string, users?: number): string {
  const file = path.join(dir, 'ratings.csv');
  const body = movielensRawRows(users).map((r) => `${r.user},${r.movieId},4.0,${r.time}`);
  writeFileSync(file, `userId,movieId,rating,timestamp\n${body.join('\n')}\n`);
  return file;
}

/** The same rows as a RecBole atomic `.inter` file in `dir`. */
export function movielensRecboleInter(dir: string, users?: number): string {
  const file = path.join(dir, 'ml.inter');
  const body = movielensRawRows(users).map((r) => `${r.user}\t${r.movieId}\t4\t${r.time}`);
  writeFileSync(
    file,
    `user_id:token\titem_id:token\trating:float\ttimestamp:float\n${body.join('\n')}\n`,
  );
  return file;
}

export { ITEM_MAP };
