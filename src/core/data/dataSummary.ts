/**
 * What RecMark understood of a data file, for `recmark data check` and for people deciding
 * whether their file is read right: format, users, items, sequence lengths, unmapped ids.
 */
import type { Interactions } from './interactions';

export interface DataSummary {
  format: string;
  users: number;
  interactions: number;
  items: number;
  lengths: { min: number; median: number; max: number };
  /** Users who can give a held-out item (two or more interactions). */
  usersWithHeldOut: number;
  unmapped: { interactions: number; ids: number };
  idMap: boolean;
}

export function summariseData(data: Interactions, idMap: boolean): DataSummary {
  const lengths = data.sequences.map((s) => s.length).sort((a, b) => a - b);
  const items = new Set<number>();
  for (const s of data.sequences) for (const i of s) items.add(i);
  return {
    format: data.format,
    users: data.sequences.length,
    interactions: lengths.reduce((a, b) => a + b, 0),
    items: items.size,
    lengths: {
      min: lengths[0] ?? 0,
      median: lengths[Math.floor(lengths.length / 2)] ?? 0,
      max: lengths.at(-1) ?? 0,
    },
    usersWithHeldOut: lengths.filter((l) => l >= 2).length,
    unmapped: data.unmapped,
    idMap,
  };
}

export function dataSummaryLines(file: string, s: DataSummary): string[] {
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines = [
    `${file}: ${s.format}`,
    `  ${n(s.users)} users, ${n(s.interactions)} interactions, ${n(s.items)} distinct items` +
      (s.idMap ? ' (model indices, through the id map)' : ' (read as model indices)'),
    `  sequence length: min ${n(s.lengths.min)}, median ${n(s.lengths.median)}, max ${n(s.lengths.max)}; ` +
      `${n(s.usersWithHeldOut)} users have an item to hold out for utility`,
  ];
  if (s.idMap)
    lines.push(
      s.unmapped.interactions === 0
        ? '  every item id is in the id map'
        : `  ${n(s.unmapped.interactions)} interactions (${n(s.unmapped.ids)} distinct raw ids) are not in the id map and were left out`,
    );
  return lines;
}
