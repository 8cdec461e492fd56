// Derive test/fixtures/movielens/sequences.txt from MovieLens latest-small's ratings.csv, the way
// make_fixtures.py does: keep items with >= 5 ratings, then users with >= 5 of the remaining; sort
// each user's ratings by (timestamp, movieId); map movieIds through item_map.csv.
//   node scripts/movielens-sequences.mjs RATINGS.csv           # writes the shipped file
//   node scripts/movielens-sequences.mjs RATINGS.csv --check   # exits 1 if it differs
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const itemMap = path.join(root, 'test', 'fixtures', 'item_map.csv');
const shipped = path.join(root, 'test', 'fixtures', 'movielens', 'sequences.txt');
const [ratings, mode] = process.argv.slice(2);
if (!ratings || (mode !== undefined && mode !== '--check')) {
  console.error('usage: node scripts/movielens-sequences.mjs RATINGS.csv [--check]');
  process.exit(2);
}

const index = new Map();
for (const line of readFileSync(itemMap, 'utf8').trim().split('\n').slice(1)) {
  const [idx, movie] = line.split(',').map(Number);
  index.set(movie, idx);
}
const rows = readFileSync(ratings, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','))
  .map(([u, m, , t]) => ({ user: Number(u), movie: Number(m), time: Number(t) }));
const count = (list, key) => {
  const c = new Map();
  for (const r of list) c.set(r[key], (c.get(r[key]) ?? 0) + 1);
  return c;
};
const movieCount = count(rows, 'movie');
const keptItems = rows.filter((r) => movieCount.get(r.movie) >= 5);
const userCount = count(keptItems, 'user');
const kept = keptItems.filter((r) => userCount.get(r.user) >= 5);
kept.sort((a, b) => a.user - b.user || a.time - b.time || a.movie - b.movie);
const byUser = new Map();
for (const r of kept) {
  const idx = index.get(r.movie);
  if (idx === undefined) {
    console.error(`movie ${r.movie} is not in item_map.csv; regenerate the fixtures`);
    process.exit(1);
  }
  byUser.set(r.user, [...(byUser.get(r.user) ?? []), idx]);
}
const text = `${[...byUser.values()].map((s) => s.join(' ')).join('\n')}\n`;

if (mode === '--check') {
  const same = readFileSync(shipped, 'utf8') === text;
  console.log(same ? `${shipped} matches ${ratings}` : `${shipped} differs from ${ratings}`);
  process.exit(same ? 0 : 1);
}
writeFileSync(shipped, text);
console.log(`wrote ${shipped}: ${byUser.size} users, ${kept.length} interactions`);
