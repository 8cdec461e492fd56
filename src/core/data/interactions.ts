/**
 * Interaction files: lines `user item [timestamp]`, whitespace- or comma-separated, item ids in
 * the model's index space (DESIGN.md §7). A first line with non-numeric fields is a header.
 * Streams the file so large logs do not sit in memory as text.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { CancelledError, RecMarkError, throwIfAborted } from '../errors';
import { limits, raiseHint } from '../limits';
import { openInputFile } from '../util/files';
import type { Adapter } from '../onnx/adapter';

export interface Interactions {
  /** One item sequence per user, in time order (file order when there are no timestamps). */
  sequences: number[][];
  users: string[];
  lines: number;
}

export interface ReadOptions {
  /** Largest item id allowed (exclusive); ids outside real items are errors. */
  isItem?: (id: number) => boolean;
  /** Defaults to the data-lines limit (src/core/limits.ts). */
  maxLines?: number;
  signal?: AbortSignal;
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
  try {
    const counted = await countLines(stream, maxLines + 1, options.signal);
    if (counted.bytes > maxBytes) throw options.tooManyBytes();
    if (counted.lines > maxLines) throw tooLarge();
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
  try {
    for await (const raw of lines) {
      lineNo++;
      if (lineNo > maxLines) throw tooLarge();
      if (lineNo % 100_000 === 0) throwIfAborted(options.signal);
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const fields = line.split(/[\s,;]+/);
      const numeric = fields.slice(0, 3).every((f) => /^-?\d+(\.\d+)?$/.test(f));
      if (!numeric) {
        if (records === 0 && lineNo === 1) continue; // header
        // The line itself is not quoted: a mistyped path may point at any file.
        throw new RecMarkError(
          `${file} line ${lineNo}: expected "user item [timestamp]" with numbers (field ${fields.findIndex((f) => !/^-?\d+(\.\d+)?$/.test(f)) + 1} is not a number).`,
          'data-invalid',
        );
      }
      if (fields.length < 2) {
        throw new RecMarkError(
          `${file} line ${lineNo}: expected at least "user item".`,
          'data-invalid',
        );
      }
      const item = Number(fields[1]);
      if (!Number.isSafeInteger(item) || (options.isItem && !options.isItem(item))) {
        throw new RecMarkError(
          `${file} line ${lineNo}: item ${fields[1]} is not an item of this model. Data must be in the model's index space (real item ids only, not pad or mask).`,
          'data-invalid',
        );
      }
      const time = fields.length >= 3 ? Number(fields[2]) : 0;
      if (fields.length >= 3) hasTime = true;
      const list = byUser.get(fields[0]) ?? [];
      list.push({ item, time, order: records++ });
      byUser.set(fields[0], list);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (records === 0) throw new RecMarkError(`${file} holds no interactions.`, 'data-invalid');
  const users: string[] = [];
  const sequences: number[][] = [];
  for (const [user, events] of byUser) {
    if (hasTime) events.sort((a, b) => a.time - b.time || a.order - b.order);
    users.push(user);
    sequences.push(events.map((e) => e.item));
  }
  return { sequences, users, lines: lineNo };
}

/** A data file's user sequences, every id checked to be a real item of the model. */
export async function readItemSequences(
  file: string,
  adapter: Adapter,
  signal?: AbortSignal,
): Promise<number[][]> {
  return (await readInteractions(file, { isItem: itemPredicate(adapter), signal })).sequences;
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
