/**
 * Probe answers cached on disk, so an audit that was cancelled (or killed) resumes without
 * spending the same queries again. One append-only JSON-lines file per endpoint configuration
 * and key: `<dir>/<name>.jsonl`, one line per answered request, written as soon as the answer is
 * in, so a kill loses at most the requests in flight (a torn last line is ignored on reading).
 *
 * Entries are keyed by a hash of the request (method, URL, body) — never of the headers, so no
 * API token is hashed or stored. An entry holds the decoded answer in the model's id space. AOW
 * prefixes are secret: their entries are keyed with a salt derived from the key and hold only
 * the target's rank, so the file reveals neither the sequence nor which answers belong to it.
 *
 * The cache is evidence, so it is trusted only as far as it can be checked (the rule):
 * - every line carries an HMAC-SHA256 over its entry key and answer, under a key derived (HKDF)
 *   from the watermark key's secret material and the endpoint configuration; the MAC key lives
 *   in memory only. The file name is a MAC of the configuration too, so it says nothing.
 * - every answer is validated against the catalogue (ids are items, no duplicates, ranks in
 *   range, bounded lengths).
 * - one line failing either check (edited, swapped, copied from another key's or endpoint's
 *   cache, truncated) distrusts the whole file: none of its answers is used, it is set aside as
 *   `<name>.jsonl.rejected`, every answer is asked again, and the count is reported.
 * So an answer from the cache is one this key's holder got from this endpoint configuration;
 * editing the file can only cost queries, never forge a verdict. (A secret-less AOW key's MAC
 * key rests on its sequence, as strong as that key itself.)
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { WatermarkKey } from '../watermark/key';
import type { PreparedRequest } from './profileRequest';

/** The default cache folder, relative to the workspace (or the CLI's working directory). */
export const ENDPOINT_CACHE_DIR = path.join('.recmark', 'endpoint-cache');

export type CachedAnswer =
  /** Ranked real items (model ids), best first. `complete`: the service returned no more. */
  | { ids: number[]; complete: boolean }
  /** Rank of an AOW target (see RankObservation). */
  | { rank: number; censored: boolean };

/** What a cache file is checked against; built by `cacheTrust`, never written. */
export interface CacheTrust {
  /** HMAC key for entries and the file name. */
  macKey: Buffer;
  /** The catalogue (model ids) answers must lie in. */
  items: ReadonlySet<number>;
}

/** Line format version: v2 lines carry a MAC (older files are simply not found, see `open`). */
const LINE_VERSION = 2;
const KEY_RE = /^[0-9a-f]{40}$/;
const MAC_RE = /^[0-9a-f]{64}$/;

/** The MAC key for one watermark key: HKDF over its secret (or, without one, what it rests on). */
export function cacheTrust(key: WatermarkKey, items: Int32Array): CacheTrust {
  const material = key.secret
    ? Buffer.from(key.secret)
    : key.scheme === 'aow'
      ? Buffer.from(`aow-sequence:${key.sequence.join(',')}`)
      : Buffer.concat([Buffer.from(key.clusters.buffer), Buffer.from(key.green.buffer)]);
  const macKey = Buffer.from(
    hkdfSync('sha256', material, 'recmark/endpoint-cache', 'answer-mac/v2', 32),
  );
  return { macKey, items: new Set(items) };
}

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

/** A canonical encoding of an entry, so the MAC does not depend on JSON key order. */
export function entryMac(macKey: Buffer, key: string, a: CachedAnswer): string {
  const answer =
    'ids' in a
      ? `ids:${a.ids.join(',')};${a.complete ? 1 : 0}`
      : `rank:${a.rank};${a.censored ? 1 : 0}`;
  return createHmac('sha256', macKey)
    .update(`recmark/endpoint-cache/entry/v${LINE_VERSION}\n${key}\n${answer}`)
    .digest('hex');
}

function macMatches(want: string, got: string): boolean {
  return MAC_RE.test(got) && timingSafeEqual(Buffer.from(want), Buffer.from(got));
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private handle: fs.FileHandle | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Lines that could not be read (a torn last line after a kill). */
  skipped = 0;
  /** Lines that failed their MAC or validation; any makes the whole file distrusted. */
  rejected = 0;

  private constructor(
    readonly file: string,
    private readonly trust: CacheTrust,
  ) {}

  /** Open (creating the folder) and load every line, if all of them pass their checks. */
  static async open(dir: string, identity: unknown, trust: CacheTrust): Promise<AnswerCache> {
    const name = createHmac('sha256', trust.macKey)
      .update(`recmark/endpoint-cache/file\n${JSON.stringify(identity)}`)
      .digest('hex')
      .slice(0, 24);
    await fs.mkdir(dir, { recursive: true });
    const cache = new AnswerCache(path.join(dir, `${name}.jsonl`), trust);
    if (existsSync(cache.file)) cache.load(await fs.readFile(cache.file, 'utf8'));
    if (cache.rejected > 0) {
      // Kept for inspection, out of the way of the fresh file this run writes.
      await fs.rename(cache.file, `${cache.file}.rejected`);
      cache.entries.clear();
    }
    cache.handle = await fs.open(cache.file, 'a', 0o600);
    // A torn last line must not swallow the next entry: start on a fresh line.
    if (cache.skipped > 0 && cache.rejected === 0) await cache.handle.write('\n');
    return cache;
  }

  private load(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        // A line torn by a kill: no answer in it, so nothing to trust or distrust.
        this.skipped++;
        continue;
      }
      const entry = this.checked(parsed);
      if (entry) this.entries.set(entry.k, entry.a);
      else this.rejected++;
    }
  }

  /** The entry, if its MAC and its answer check out. */
  private checked(line: unknown): { k: string; a: CachedAnswer } | null {
    if (typeof line !== 'object' || line === null) return null;
    const e = line as { v?: unknown; k?: unknown; a?: unknown; m?: unknown };
    if (e.v !== LINE_VERSION || typeof e.k !== 'string' || !KEY_RE.test(e.k)) return null;
    if (typeof e.m !== 'string' || !isAnswer(e.a, this.trust.items)) return null;
    if (!macMatches(entryMac(this.trust.macKey, e.k, e.a), e.m)) return null;
    if (this.entries.has(e.k)) return null;
    return { k: e.k, a: e.a };
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    return this.entries.get(key);
  }

  /** Record an answer; the line is appended in the background, in order. */
  put(key: string, answer: CachedAnswer): Promise<void> {
    // A second answer for a key would be a duplicate line, which reading rejects.
    if (this.entries.has(key) || !isAnswer(answer, this.trust.items)) return this.writing;
    this.entries.set(key, answer);
    const m = entryMac(this.trust.macKey, key, answer);
    const line = `${JSON.stringify({ v: LINE_VERSION, k: key, a: answer, m })}\n`;
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

/** An answer RecMark could have written for this catalogue. */
function isAnswer(a: unknown, items: ReadonlySet<number>): a is CachedAnswer {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
  const x = a as Record<string, unknown>;
  if (Array.isArray(x.ids)) {
    if (Object.keys(x).length !== 2 || typeof x.complete !== 'boolean') return false;
    if (x.ids.length > items.size) return false;
    const seen = new Set<number>();
    for (const id of x.ids) {
      if (typeof id !== 'number' || !items.has(id) || seen.has(id)) return false;
      seen.add(id);
    }
    return true;
  }
  if (Object.keys(x).length !== 2 || typeof x.censored !== 'boolean') return false;
  return (
    Number.isSafeInteger(x.rank) && (x.rank as number) >= 1 && (x.rank as number) <= items.size
  );
}
