/**
 * MovieLens latest-small in the fixtures' index space, shipped in the repository as
 * test/fixtures/movielens/sequences.txt (one user per line, item indices oldest first; MovieLens
 * allows redistributing transformations under its own terms, see that folder's README). The file
 * is derived from ratings.csv the way make_fixtures.py does it: keep items with ≥ 5 ratings, then
 * users with ≥ 5 of the remaining; sort each user's ratings by (timestamp, movieId); map movieIds
 * through item_map.csv. `movielensSequencesFromRatings` repeats that derivation, and a test checks
 * the shipped file against it when ../shared is present.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const RATINGS = path.join(
  ROOT,
  '..',
  'shared',
  'datasets',
  'ml-latest-small',
  'ratings.csv',
);
const ITEM_MAP = path.join(ROOT, 'test', 'fixtures', 'item_map.csv');
export const SEQUENCES = path.join(ROOT, 'test', 'fixtures', 'movielens', 'sequences.txt');

/** The 610 users' sequences in the fixtures' index space, from the shipped file. */
export function movielensSequences(): number[][] {
  return readFileSync(SEQUENCES, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(Number));
}

/** The same sequences derived from MovieLens' ratings.csv (needs ../shared). */
export function movielensSequencesFromRatings(ratings = RATINGS): number[][] {
  const index = new Map<number, number>();
  for (const line of readFileSync(ITEM_MAP, 'utf8').trim().split('\n').slice(1)) {
    const [idx, movie] = line.split(',').map(Number);
    index.set(movie, idx);
  }
  const rows = readFileSync(ratings, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .map(([u, m, , t]) => ({ user: Number(u), movie: Number(m), time: Number(t) }));
  const movieCount = new Map<number, number>();
  for (const r of rows) movieCount.set(r.movie, (movieCount.get(r.movie) ?? 0) + 1);
  const keptItems = rows.filter((r) => (movieCount.get(r.movie) ?? 0) >= 5);
  const userCount = new Map<number, number>();
  for (const r of keptItems) userCount.set(r.user, (userCount.get(r.user) ?? 0) + 1);
  const kept = keptItems.filter((r) => (userCount.get(r.user) ?? 0) >= 5);
  kept.sort((a, b) => a.user - b.user || a.time - b.time || a.movie - b.movie);
  const byUser = new Map<number, number[]>();
  for (const r of kept) {
    const idx = index.get(r.movie);
    if (idx === undefined)
      throw new Error(`movie ${r.movie} is not in item_map.csv; regenerate the fixtures`);
    const list = byUser.get(r.user) ?? [];
    list.push(idx);
    byUser.set(r.user, list);
  }
  return [...byUser.values()];
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
