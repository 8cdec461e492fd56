/**
 * Reading a service's answer without trusting it: the body is counted while it streams (after
 * fetch has decompressed gzip/br/deflate, so a small bomb cannot inflate past the cap), and its
 * JSON nesting and list lengths are bounded before JSON.parse builds anything.
 */

/** Deepest JSON nesting an answer may have: rankings are two or three levels deep. */
export const MAX_JSON_DEPTH = 64;

const MiB = 1024 * 1024;

/** The body was cut off at the cap (decompressed bytes). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${formatBytes(limit)}`);
    this.name = 'BodyTooLargeError';
  }
}

/** "4 MiB", "512 KiB", "100 bytes". */
export function formatBytes(n: number): string {
  if (n >= MiB && n % (MiB / 4) === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 256 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * The whole body as text, or BodyTooLargeError as soon as more than `limit` bytes arrived (the
 * stream is cancelled, so the rest is never read). Not UTF-8 → null.
 */
export async function readCapped(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, total));
  } catch {
    return null;
  }
}

/**
 * Why a JSON text is refused before parsing (too deep, a list too long), or null when it may be
 * parsed. One pass over the text; strings are skipped so brackets inside them do not count.
 */
export function jsonShapeProblem(text: string, maxDepth: number, maxList: number): string | null {
  // Per open bracket: element count so far, and whether it is an array.
  const counts: number[] = [];
  const arrays: boolean[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      // A value opens the first element of an empty container.
      if (counts.length > 0 && counts[counts.length - 1] === 0) counts[counts.length - 1] = 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (counts.length > 0 && counts[counts.length - 1] === 0) counts[counts.length - 1] = 1;
      counts.push(0);
      arrays.push(c === 0x5b);
      if (counts.length > maxDepth) return `JSON nested deeper than ${maxDepth} levels`;
    } else if (c === 0x5d || c === 0x7d) {
      counts.pop();
      arrays.pop();
    } else if (c === 0x2c) {
      if (counts.length > 0 && ++counts[counts.length - 1] > maxList && arrays[arrays.length - 1])
        return `a list of more than ${maxList} values`;
    } else if (c > 0x20 && counts.length > 0 && counts[counts.length - 1] === 0) {
      counts[counts.length - 1] = 1;
    }
  }
  return null;
}
