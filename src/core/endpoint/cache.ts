/**
 * Probe answers cached on disk, so an audit that was cancelled (or killed) resumes without
 * spending the same queries again. One append-only JSON-lines file per endpoint configuration:
 * `<dir>/<hash>.jsonl`, one line per answered request, written as soon as the answer is in, so a
 * kill loses at most the requests in flight (a torn last line is ignored on reading).
 *
 * Entries are keyed by a hash of the request (method, URL, body) — never of the headers, so no
 * API token is hashed or stored. An entry holds the decoded answer in the model's id space. AOW
 * prefixes are secret: their entries are keyed with a salt derived from the key and hold only
 * the target's rank, so the file reveals neither the sequence nor which answers belong to it.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PreparedRequest } from './profile';

/** The default cache folder, relative to the workspace (or the CLI's working directory). */
export const ENDPOINT_CACHE_DIR = path.join('.recmark', 'endpoint-cache');

export type CachedAnswer =
  /** Ranked real items (model ids), best first. `complete`: the service returned no more. */
  | { ids: number[]; complete: boolean }
  /** Rank of an AOW target (see RankObservation). */
  | { rank: number; censored: boolean };

export function requestHash(request: PreparedRequest, salt = ''): string {
  return createHash('sha256')
    .update(salt)
    .update('\n')
    .update(request.method)
    .update('\n')
    .update(request.url)
    .update('\n')
    .update(request.body ?? '')
    .digest('hex')
    .slice(0, 40);
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private handle: fs.FileHandle | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Lines that could not be read (a torn last line after a kill). */
  skipped = 0;

  private constructor(readonly file: string) {}

  /** Open (creating the folder) and load every complete line. */
  static async open(dir: string, identity: unknown): Promise<AnswerCache> {
    const name = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 24);
    await fs.mkdir(dir, { recursive: true });
    const cache = new AnswerCache(path.join(dir, `${name}.jsonl`));
    if (existsSync(cache.file)) {
      const text = await fs.readFile(cache.file, 'utf8');
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const e = JSON.parse(line) as { k?: unknown; a?: unknown };
          if (typeof e.k === 'string' && isAnswer(e.a)) cache.entries.set(e.k, e.a);
        } catch {
          cache.skipped++;
        }
      }
    }
    cache.handle = await fs.open(cache.file, 'a', 0o600);
    // A torn last line must not swallow the next entry: start on a fresh line.
    if (cache.skipped > 0) await cache.handle.write('\n');
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    return this.entries.get(key);
  }

  /** Record an answer; the line is appended in the background, in order. */
  put(key: string, answer: CachedAnswer): Promise<void> {
    this.entries.set(key, answer);
    const line = `${JSON.stringify({ k: key, a: answer })}\n`;
    const handle = this.handle;
    this.writing = this.writing.then(async () => {
      if (handle) await handle.write(line);
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing;
    await this.handle?.close();
    this.handle = null;
  }
}

function isAnswer(a: unknown): a is CachedAnswer {
  if (typeof a !== 'object' || a === null) return false;
  const x = a as Record<string, unknown>;
  if (Array.isArray(x.ids))
    return x.ids.every((i) => Number.isSafeInteger(i)) && typeof x.complete === 'boolean';
  return Number.isSafeInteger(x.rank) && typeof x.censored === 'boolean';
}
