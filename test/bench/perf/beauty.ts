/**
 * The Amazon Beauty interactions (BENCH_BEAUTY, beauty.txt: `user item` lines,
 * each user's items in time order) cut to the bench's catalogue: the numItems most frequent items,
 * renumbered 1..numItems by frequency (ties by original id), every other item dropped, users
 * with at least three kept items. Benches read it where BENCH_BEAUTY says; tests never do.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../../src/core/util/random';

/** Each user's item sequence in the bench's index space (1..numItems), or null when absent. */
export function beautySequences(file: string, numItems: number): number[][] | null {
  if (!existsSync(file)) return null;
  const byUser = new Map<number, number[]>();
  const counts = new Map<number, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [u, i] = line.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(u) || !Number.isInteger(i)) continue;
    let seq = byUser.get(u);
    if (!seq) byUser.set(u, (seq = []));
    seq.push(i);
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  const kept = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, numItems);
  if (kept.length < numItems)
    throw new Error(`${file} has ${kept.length} items; the bench wants ${numItems}`);
  const index = new Map(kept.map(([item], rank) => [item, rank + 1]));
  const out: number[][] = [];
  for (const seq of byUser.values()) {
    const mapped = seq.map((i) => index.get(i) ?? 0).filter((i) => i > 0);
    if (mapped.length >= 3) out.push(mapped);
  }
  return out;
}

/**
 * A RecMark interaction file (`user item order` lines) of `users` users drawn with a fixed seed,
 * written once under `dir`; returns its path.
 */
export function userSampleFile(
  dir: string,
  label: string,
  sequences: readonly (readonly number[])[],
  users: number,
  seed = 17,
): string {
  const file = path.join(dir, `${label}-users${users}.txt`);
  if (existsSync(file)) return file;
  const picked = new Rng(seed).shuffle([...sequences.keys()]).slice(0, users);
  const lines = ['user item order'];
  picked.forEach((s, u) => sequences[s].forEach((item, t) => lines.push(`${u + 1} ${item} ${t}`)));
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
