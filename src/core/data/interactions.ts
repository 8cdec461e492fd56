/**
 * Interaction files: one interaction per line, in any format dataFormat.ts recognises (plain
 * `user item [timestamp]` lines, a CSV with a header such as MovieLens `ratings.csv`, a RecBole
 * `.inter` file). Item ids are the model's indices, or raw ids translated by an id map
 * (`--id-map`); raw ids missing from the map are counted, never guessed (DESIGN.md §7, issue 18).
 * Streams the file so large logs do not sit in memory as text.
 */
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { CancelledError, RecMarkError, throwIfAborted } from '../errors';
import { limits, raiseHint } from '../limits';
import { openInputFile } from '../util/files';
import type { Adapter } from '../onnx/adapter';
import { stepCount, type Progress } from '../util/progress';
import { detectFormat, type DataFormat } from './dataFormat';
import { readIdMap, type IdMap } from './idMap';

/** A data file, and the id map that translates its raw item ids (none: ids are indices). */
export type DataRef = string | { file: string; idMap?: string };

export function dataFile(ref: DataRef): string {
  return typeof ref === 'string' ? ref : ref.file;
}

/** How an id map is named to people, wherever data is read (CLI flag and VS Code setting). */
export const ID_MAP_HINT =
  'pass an id map: --id-map FILE (in VS Code the recmark.idMapFile setting), a CSV whose header ' +
  "is followed by rows of the model's index then the raw id, like test/fixtures/item_map.csv";

export interface Interactions {
  /** One item sequence per user, in time order (file order when there are no timestamps). */
  sequences: number[][];
  users: string[];
  lines: number;
  /** What the file was read as, for people ("MovieLens-style CSV (userId, movieId, ...)"). */
  format: string;
  /** With an id map: interactions and distinct raw ids the map does not cover (left out). */
  unmapped: { interactions: number; ids: number };
}

export interface ReadOptions {
  /** Largest item id allowed (exclusive); ids outside real items are errors. */
  isItem?: (id: number) => boolean;
  /** Defaults to the data-lines limit (src/core/limits.ts). */
  maxLines?: number;
  /** Raw id → model index; ids it lacks are counted in `unmapped` and left out. */
  idMap?: IdMap;
  signal?: AbortSignal;
  /** Lines parsed so far, of the lines the first pass counted (every line, header included). */
  onProgress?: (done: number, total: number) => void;
}

export async function readInteractions(
  file: string,
  options: ReadOptions = {},
): Promise<Interactions> {
  const maxLines = options.maxLines ?? limits().dataLines;
  const maxBytes = limits().dataBytes;
  let opened: Awaited<ReturnType<typeof openInputFile>>;
  try {
    opened = await openInputFile(file, { what: 'Data file', code: 'data-missing' });
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RecMarkError(
      code === 'ENOENT'
        ? `Data file not found: ${file}`
        : `Cannot read data file ${file}: ${(err as Error).message}`,
      'data-missing',
    );
  }
  const { handle } = opened;
  const tooLarge = (): RecMarkError =>
    new RecMarkError(
      `${file} has more than ${maxLines.toLocaleString('en-US')} lines; sample users or split it, ` +
        `or ${raiseHint('dataLines')}.`,
      'data-too-large',
    );
  const tooManyBytes = (): RecMarkError =>
    new RecMarkError(
      `${file} is larger than ${maxBytes.toLocaleString('en-US')} bytes; sample users or split it, ` +
        `or ${raiseHint('dataBytes')}.`,
      'data-too-large',
    );
  try {
    return await parseInteractions(file, handle, {
      ...options,
      maxLines,
      maxBytes,
      tooLarge,
      tooManyBytes,
    });
  } finally {
    await handle.close();
  }
}

interface ParseLimits extends ReadOptions {
  maxLines: number;
  maxBytes: number;
  tooLarge: () => RecMarkError;
  tooManyBytes: () => RecMarkError;
}

/** Lines between progress reports and cancellation checks (a few ms of parsing). */
const PROGRESS_LINES = 50_000;

/** Both passes read the one checked handle, each stopping one byte past the size limit. */
async function parseInteractions(
  file: string,
  handle: FileHandle,
  options: ParseLimits,
): Promise<Interactions> {
  const { maxLines, maxBytes, tooLarge } = options;
  const byUser = new Map<string, { item: number; time: number; order: number }[]>();
  let lineNo = 0;
  let records = 0;
  let hasTime = false;
  if ((await handle.stat()).size > maxBytes) throw options.tooManyBytes();
  const bounded = (): AsyncGenerator<Buffer> => chunksOf(handle, maxBytes + 1);
  const stream = bounded();
  // Count first (a byte scan, no parsing): an oversized file is refused before it costs memory.
  let totalLines: number;
  try {
    const counted = await countLines(stream, maxLines + 1, options.signal);
    if (counted.bytes > maxBytes) throw options.tooManyBytes();
    if (counted.lines > maxLines) throw tooLarge();
    totalLines = counted.lines;
  } catch (err) {
    if (err instanceof RecMarkError || err instanceof CancelledError) throw err;
    throw new RecMarkError(
      `Cannot read data file ${file}: ${(err as Error).message}`,
      'data-missing',
    );
  } finally {
    await stream.return(undefined);
  }
  const input = Readable.from(bounded(), { objectMode: false });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let format: DataFormat | null = null;
  const unmappedIds = new Set<string>();
  let unmapped = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      if (lineNo > maxLines) throw tooLarge();
      if (lineNo % PROGRESS_LINES === 0) {
        throwIfAborted(options.signal);
        options.onProgress?.(Math.min(lineNo, totalLines), totalLines);
      }
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (format === null) {
        format = detectFormat(line, file);
        if (format.header) continue;
      }
      const fields = format.split(line);
      const parsed = parseLine(fields, format, options, { file, lineNo });
      if (parsed === null) {
        unmapped++;
        if (unmappedIds.size < 1_000_000) unmappedIds.add(fields[format.item]);
        continue;
      }
      if (format.time !== null) hasTime = true;
      const list = byUser.get(fields[format.user]) ?? [];
      list.push({ item: parsed.item, time: parsed.time, order: records++ });
      byUser.set(fields[format.user], list);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  // readline also breaks at a lone CR, which the byte count does not: the end is the whole file.
  options.onProgress?.(totalLines, totalLines);
  if (records === 0 && unmapped > 0)
    throw new RecMarkError(
      `None of the ${unmapped.toLocaleString('en-US')} interactions in ${file} has an item in the id map ` +
        "(its first column must be the model's index, its second the raw id as in the data).",
      'data-invalid',
    );
  if (records === 0) throw new RecMarkError(`${file} holds no interactions.`, 'data-invalid');
  const users: string[] = [];
  const sequences: number[][] = [];
  for (const [user, events] of byUser) {
    if (hasTime) events.sort((a, b) => a.time - b.time || a.order - b.order);
    users.push(user);
    sequences.push(events.map((e) => e.item));
  }
  return {
    sequences,
    users,
    lines: lineNo,
    format: format!.description,
    unmapped: { interactions: unmapped, ids: unmappedIds.size },
  };
}

/**
 * One data line's item (a model index) and time; null when an id map lacks the raw id. The
 * line itself is never quoted (a mistyped path may point at any file); its item field is.
 */
function parseLine(
  fields: readonly string[],
  format: DataFormat,
  options: ReadOptions,
  at: { file: string; lineNo: number },
): { item: number; time: number } | null {
  const where = `${at.file} line ${at.lineNo}`;
  const needed = Math.max(format.user, format.item, format.time ?? 0) + 1;
  if (format.kind === 'plain') {
    const bad = fields.slice(0, 3).findIndex((f) => !/^-?\d+(\.\d+)?$/.test(f));
    if (bad >= 0)
      throw new RecMarkError(
        `${where}: expected "user item [timestamp]" with numbers (field ${bad + 1} is not a number).`,
        'data-invalid',
      );
    if (fields.length < 2)
      throw new RecMarkError(`${where}: expected at least "user item".`, 'data-invalid');
    // A fourth number would be read as nothing, or a rating as a timestamp: ask for a header.
    if (fields.length > 3)
      throw new RecMarkError(
        `${where}: expected "user item [timestamp]", found ${fields.length} fields; for a table ` +
          'with more columns, add a header line naming them (e.g. "userId,movieId,rating,timestamp").',
        'data-invalid',
      );
  } else if (fields.length < needed || fields[format.user] === '' || fields[format.item] === '') {
    throw new RecMarkError(
      `${where}: expected the header's ${format.header!.length} columns, found ${fields.length} ` +
        `(or an empty ${fields[format.user] === '' ? 'user' : 'item'}).`,
      'data-invalid',
    );
  }
  const rawItem = fields[format.item];
  let item: number;
  if (options.idMap) {
    const mapped = options.idMap.toModel.get(rawItem);
    if (mapped === undefined) return null;
    item = mapped;
    if (options.isItem && !options.isItem(item))
      throw new RecMarkError(
        `${where}: the id map translates item ${rawItem} to index ${item}, which is not an item of ` +
          "this model (pad, mask or past the catalogue); check the map's first column.",
        'data-invalid',
      );
  } else {
    item = Number(rawItem);
    if (!Number.isSafeInteger(item) || (options.isItem && !options.isItem(item)))
      throw new RecMarkError(
        `${where}: item ${rawItem} is not an item of this model. Data must use the model's item ` +
          `indices (real items only, not pad or mask); if the file holds raw ids, ${ID_MAP_HINT}.`,
        'data-invalid',
      );
  }
  return { item, time: format.time === null ? 0 : timeOf(fields[format.time], where) };
}

/** A timestamp: a number (seconds or any monotone unit) or a date text Date.parse reads. */
function timeOf(text: string, where: string): number {
  const n = Number(text);
  if (text !== '' && Number.isFinite(n)) return n;
  const parsed = Date.parse(text);
  if (!Number.isNaN(parsed)) return parsed / 1000;
  throw new RecMarkError(`${where}: the timestamp is neither a number nor a date.`, 'data-invalid');
}

/**
 * A data file's user sequences, every id checked to be a real item of the model. `progress`
 * hears what was read (format, users, ids left out), so every command names it.
 */
export async function readItemSequences(
  ref: DataRef,
  adapter: Adapter,
  signal?: AbortSignal,
  progress?: Progress,
): Promise<number[][]> {
  const reading = `Reading ${path.basename(dataFile(ref))}`;
  progress?.({ message: reading });
  const data = await readData(ref, {
    isItem: itemPredicate(adapter),
    signal,
    onProgress: progress && readProgress(progress, reading),
  });
  progress?.({ message: dataReadMessage(ref, data) });
  return data.sequences;
}

/** Lines read as a count under the step `message`. */
export function readProgress(progress: Progress, message: string) {
  return (done: number, total: number): void =>
    progress({ message, count: stepCount(done, total, 'lines') });
}

/** "Data ratings.csv: MovieLens-style CSV (...), 610 users; 2 interactions ... left out". */
export function dataReadMessage(ref: DataRef, data: Interactions): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const { interactions, ids } = data.unmapped;
  return (
    `Data ${path.basename(dataFile(ref))}: ${data.format}, ${n(data.sequences.length)} users` +
    (interactions > 0
      ? `; ${n(interactions)} interactions (${n(ids)} raw ids) not in the id map, left out`
      : '')
  );
}

/** Read a data file through its id map, if it has one. */
export async function readData(
  ref: DataRef,
  options: Omit<ReadOptions, 'idMap'> = {},
): Promise<Interactions> {
  const file = dataFile(ref);
  const mapFile = typeof ref === 'string' ? undefined : ref.idMap;
  const idMap = mapFile
    ? await readIdMap({
        file: mapFile,
        label: 'Id map',
        code: 'data-invalid',
        fix: `pass a readable map to --id-map (in VS Code the recmark.idMapFile setting) for ${path.basename(file)}`,
      })
    : undefined;
  return readInteractions(file, { ...options, idMap });
}

/** The adapter's notion of a real item, for validating data. */
export function itemPredicate(adapter: Adapter): (id: number) => boolean {
  const flags = new Uint8Array(adapter.scoreWidth);
  for (const id of adapter.itemIds) flags[id] = 1;
  return (id) => id >= 0 && id < flags.length && flags[id] === 1;
}

/** Lines in a stream (a last line without a newline counts), stopping once `stopAt` is reached. */
async function countLines(
  stream: AsyncIterable<Buffer>,
  stopAt: number,
  signal?: AbortSignal,
): Promise<{ lines: number; bytes: number }> {
  let lines = 0;
  let bytes = 0;
  let trailing = false;
  for await (const chunk of stream) {
    throwIfAborted(signal);
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      if (++lines >= stopAt) return { lines, bytes };
    }
    trailing = chunk[chunk.length - 1] !== 10;
  }
  return { lines: trailing ? lines + 1 : lines, bytes };
}

/**
 * The first `limit` bytes of an open file, in 1-MiB chunks read at explicit positions (Node's
 * FileHandle streams close the handle when destroyed, and the two passes share it).
 */
async function* chunksOf(handle: FileHandle, limit: number): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < limit) {
    const buf = Buffer.alloc(Math.min(1 << 20, limit - position));
    const { bytesRead } = await handle.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}
