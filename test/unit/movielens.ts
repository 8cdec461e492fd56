/**
 * MovieLens latest-small in the fixtures' index space, built on the fly from ../shared (the data
 * set is not copied into the repository). Mirrors make_fixtures.py: keep items with ≥ 5 ratings,
 * then users with ≥ 5 of the remaining; sort each user's ratings by (timestamp, movieId); map
 * movieIds through item_map.csv.
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

export function movielensSequences(): number[][] {
  const index = new Map<number, number>();
  for (const line of readFileSync(ITEM_MAP, 'utf8').trim().split('\n').slice(1)) {
    const [idx, movie] = line.split(',').map(Number);
    index.set(movie, idx);
  }
  const rows = readFileSync(RATINGS, 'utf8')
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
