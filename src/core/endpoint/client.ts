/**
 * The HTTP side of an endpoint audit: a small fixed pool of requests in flight under a rate limit,
 * a per-request timeout, retries with exponential back-off and jitter (honouring Retry-After) on
 * timeouts, network errors, 429 and 5xx, a query budget, and the cache. Every attempt counts
 * against the budget: a retry costs the service as much as the first try.
 *
 * Cancelling stops new requests at once but lets those in flight finish (each is bounded by the
 * timeout) and caches their answers, so a resumed audit never pays for them twice.
 *
 * The service is not trusted: redirects are followed by hand and only within the profile's
 * origin (so the secret headers and the body go nowhere else), every body is capped while it
 * streams (decompressed bytes), its JSON shape is bounded before parsing, and the total time a
 * service may make RecMark wait with Retry-After is bounded.
 */
import { CancelledError, RecMarkError } from '../errors';
import { limits } from '../limits';
import { BodyTooLargeError, formatBytes, jsonShapeProblem, MAX_JSON_DEPTH } from './body';
import type { AnswerCache, CachedAnswer } from './cache';
import type { EndpointProfile } from './profile';
import type { PreparedRequest } from './profileRequest';
import { fetchSameOrigin, type Reply } from './sameOriginFetch';

export interface EndpointTask {
  request: PreparedRequest;
  /** Cache key (requestHash). */
  key: string;
  /**
   * Turn a parsed JSON body into an answer; null (or why, as a phrase such as "an empty list")
   * when the body does not hold one (malformed).
   */
  decode(body: unknown): CachedAnswer | null | string;
  /** Whether a cached answer serves this task (e.g. holds enough items). Default: any. */
  usable?(cached: CachedAnswer): boolean;
}

export interface TransportStats {
  /** HTTP requests sent (retries included): what the budget counts. */
  spent: number;
  retries: number;
  /** Tasks answered from the cache (no request). */
  fromCache: number;
  /** Tasks answered over the network. */
  answered: number;
  /** Tasks without an answer, by why. */
  lost: { retriesExhausted: number; malformed: number; httpError: number; budget: number };
  /** Failed attempts by kind; `http` by status code. */
  failures: { timeout: number; network: number; malformed: number; http: Record<string, number> };
  /** Milliseconds per attempt that got a response (any status). */
  latencies: number[];
  /** Wall time spent querying. */
  busyMs: number;
  budgetExhausted: boolean;
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const FATAL_STATUS = new Set([401, 403, 404, 405]);
/** The longest Retry-After honoured (a service asking for an hour gets a minute, then a retry). */
const MAX_RETRY_AFTER_MS = 60_000;
const BUDGET_CAUSE = 'was never asked for: the query budget ran out';
/** All the Retry-After waits of one audit may add up to this many request timeouts. */
const RETRY_AFTER_TIMEOUTS = 10;

export interface ClientOptions {
  budget: number | null;
  cache: AnswerCache | null;
  random?: () => number;
  /** Secret values (resolveSecrets): scrubbed from any message built from what the service sent. */
  secretValues?: readonly string[];
  /** Most values in one JSON list or object of an answer; default: the CLI's item limit. */
  maxListValues?: number;
}

export class EndpointClient {
  readonly stats: TransportStats = {
    spent: 0,
    retries: 0,
    fromCache: 0,
    answered: 0,
    lost: { retriesExhausted: 0, malformed: 0, httpError: 0, budget: 0 },
    failures: { timeout: 0, network: 0, malformed: 0, http: {} },
    latencies: [],
    busyMs: 0,
    budgetExhausted: false,
  };
  private nextSlot = 0;
  private readonly interval: number;
  /** Why tasks were lost, by cause ("was an empty list"): the error when none is answered. */
  private readonly causes = new Map<string, number>();
  private retryAfterWaitedMs = 0;

  constructor(
    private readonly profile: EndpointProfile,
    private readonly headers: Record<string, string>,
    private readonly options: ClientOptions,
  ) {
    this.interval = 1000 / profile.rateLimit;
  }

  /**
   * The most common reason tasks got no answer, as "every answer …"; null when none was lost.
   * `spentOnly`: only the requests that were sent (what used up a budget), not the tasks the
   * budget then left unasked.
   */
  failureSummary(spentOnly = false): string | null {
    let top: [string, number] | null = null;
    let total = 0;
    for (const entry of this.causes) {
      if (spentOnly && entry[0] === BUDGET_CAUSE) continue;
      total += entry[1];
      if (!top || entry[1] > top[1]) top = entry;
    }
    if (!top) return null;
    return top[1] === total
      ? `every answer ${top[0]}`
      : `${top[1]} of ${total} lost answers ${top[0]} (the most common cause)`;
  }

  private lose(cause: string): null {
    this.causes.set(cause, (this.causes.get(cause) ?? 0) + 1);
    return null;
  }

  /** Answer every task (cache first, then the network); null where an answer could not be had. */
  async runAll(
    tasks: readonly EndpointTask[],
    options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<(CachedAnswer | null)[]> {
    const { signal } = options;
    if (signal?.aborted) throw new CancelledError();
    const started = performance.now();
    const results = new Array<CachedAnswer | null>(tasks.length).fill(null);
    const pending: number[] = [];
    tasks.forEach((task, i) => {
      const cached = this.options.cache?.get(task.key);
      if (cached && (task.usable?.(cached) ?? true)) {
        results[i] = cached;
        this.stats.fromCache++;
      } else pending.push(i);
    });
    let done = tasks.length - pending.length;
    options.onProgress?.(done, tasks.length);
    let next = 0;
    let fatal: unknown = null;
    const worker = async (): Promise<void> => {
      while (next < pending.length && !signal?.aborted && fatal === null) {
        const i = pending[next++];
        if (this.stats.budgetExhausted) {
          this.stats.lost.budget++;
          continue;
        }
        try {
          const answer = await this.fetchAnswer(tasks[i], signal);
          if (answer) {
            results[i] = answer;
            this.stats.answered++;
            await this.options.cache?.put(tasks[i].key, answer);
          }
        } catch (err) {
          fatal ??= err;
        }
        options.onProgress?.(++done, tasks.length);
      }
    };
    const workers = Math.min(this.profile.concurrency, Math.max(1, pending.length));
    await Promise.all(Array.from({ length: workers }, worker));
    this.stats.busyMs += performance.now() - started;
    if (fatal !== null) throw fatal;
    if (signal?.aborted) throw new CancelledError();
    return results;
  }

  /** One task: attempts until an answer, a permanent failure, the budget or the retry limit. */
  private async fetchAnswer(
    task: EndpointTask,
    signal?: AbortSignal,
  ): Promise<CachedAnswer | null> {
    const { retries, timeoutMs } = this.profile;
    for (let attempt = 0; ; attempt++) {
      const budget = this.options.budget;
      if (budget !== null && this.stats.spent >= budget) {
        this.stats.budgetExhausted = true;
        this.stats.lost.budget++;
        return this.lose(BUDGET_CAUSE);
      }
      // Counted before waiting for a slot: workers waiting side by side must not all pass the
      // budget check and overshoot it by the pool size.
      this.stats.spent++;
      if (!(await this.rateSlot(signal))) {
        this.stats.spent--;
        return null;
      }
      if (attempt > 0) this.stats.retries++;
      const t0 = performance.now();
      let reply: Reply = { status: 0, retryAfterMs: 0, text: '' };
      let failure = '';
      try {
        // Not the user's signal: a request in flight finishes (or times out) and is cached.
        reply = await this.send(task.request, AbortSignal.timeout(timeoutMs));
        this.stats.latencies.push(performance.now() - t0);
      } catch (err) {
        if (err instanceof RecMarkError) throw err;
        if (err instanceof BodyTooLargeError) {
          // Not retried: the service would send the same answer again.
          return this.malformed(
            `was larger than maxResponseBytes (${formatBytes(err.limit)}); raise "maxResponseBytes" in the profile if its answers are that large`,
          );
        }
        const name = (err as { name?: string })?.name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          this.stats.failures.timeout++;
          failure = `timed out (timeoutMs ${timeoutMs})`;
        } else {
          this.stats.failures.network++;
          const code = (err as { cause?: { code?: unknown } })?.cause?.code;
          failure = `failed with a network error${typeof code === 'string' ? ` (${code})` : ''}`;
        }
      }
      const { status, retryAfterMs } = reply;
      if (status >= 200 && status < 300) {
        const answer = decodeBody(task, reply.text, this.maxListValues());
        if (typeof answer !== 'string') return answer;
        // A body that is not an answer is not retried: it is counted and the probe left out.
        return this.malformed(`was malformed: ${this.redact(answer)}`);
      }
      if (status !== 0) {
        this.stats.failures.http[status] = (this.stats.failures.http[status] ?? 0) + 1;
        if (FATAL_STATUS.has(status)) throw fatalStatus(status, this.profile);
        failure = `failed with HTTP ${status}`;
        if (!RETRY_STATUS.has(status)) {
          this.stats.lost.httpError++;
          return this.lose(failure);
        }
      }
      if (attempt >= retries.max) {
        this.stats.lost.retriesExhausted++;
        return this.lose(
          retries.max > 0 ? `${failure}, ${retries.max + 1} times in a row` : failure,
        );
      }
      const cap = Math.min(retries.maxDelayMs, retries.baseDelayMs * 2 ** attempt);
      // "Equal jitter": half the back-off fixed, half random, so clients never retry in step.
      const backoff = cap / 2 + (this.options.random ?? Math.random)() * (cap / 2);
      const asked = Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
      if (asked > 0) {
        this.chargeRetryAfter(asked, status);
        // The service asked everyone to slow down, not just this request.
        this.nextSlot = Math.max(this.nextSlot, performance.now() + asked);
      }
      if (!(await sleep(Math.max(backoff, asked), signal))) return null;
    }
  }

  private malformed(cause: string): null {
    this.stats.failures.malformed++;
    this.stats.lost.malformed++;
    return this.lose(cause);
  }

  private maxListValues(): number {
    return this.options.maxListValues ?? limits().items;
  }

  /**
   * Count a Retry-After wait against the audit's total: a service that keeps asking for waits
   * (each honoured up to a minute) could otherwise hold an audit for hours.
   */
  private chargeRetryAfter(ms: number, status: number): void {
    const most = RETRY_AFTER_TIMEOUTS * this.profile.timeoutMs;
    if (this.retryAfterWaitedMs + ms > most)
      throw new RecMarkError(
        `${this.profile.name} kept asking RecMark to wait (HTTP ${status} with Retry-After): ` +
          `${Math.round((this.retryAfterWaitedMs + ms) / 1000)} s in all, more than the ${most / 1000} s ` +
          `one audit waits (${RETRY_AFTER_TIMEOUTS} × "timeoutMs"); run the audit later, or lower "rateLimit".`,
        'endpoint-retry-after',
      );
    this.retryAfterWaitedMs += ms;
  }

  /** One request, redirects followed within the profile's origin (sameOriginFetch.ts). */
  private send(request: PreparedRequest, signal: AbortSignal): Promise<Reply> {
    return fetchSameOrigin(request, signal, {
      name: this.profile.name,
      headers: this.headers,
      maxResponseBytes: this.profile.maxResponseBytes,
      redact: (text) => this.redact(text),
      onRedirect: () => this.stats.spent++,
    });
  }

  /** A message with every secret value blotted out (a hostile service may echo one back). */
  private redact(text: string): string {
    let out = text;
    for (const secret of this.options.secretValues ?? []) {
      const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(escaped, 'gi'), '[secret]');
    }
    return out;
  }

  /** Wait for the next request slot under the rate limit; false when cancelled meanwhile. */
  private async rateSlot(signal?: AbortSignal): Promise<boolean> {
    const now = performance.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + this.interval;
    return sleep(at - now, signal);
  }
}

/** The answer in a 2xx body, or why there is none (never quoting the body: it may echo secrets). */
function decodeBody(
  task: EndpointTask,
  text: string | null,
  maxListValues: number,
): CachedAnswer | string {
  if (text === null) return 'not UTF-8 text';
  const shape = jsonShapeProblem(text, MAX_JSON_DEPTH, maxListValues);
  if (shape) return shape;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'an empty body' : 'not JSON';
  }
  try {
    return task.decode(json) ?? 'no answer where "response" points';
  } catch {
    return 'no answer where "response" points';
  }
}

/** Resolve after `ms`; false (early) if the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function fatalStatus(status: number, profile: EndpointProfile): RecMarkError {
  if (status === 401 || status === 403) {
    return new RecMarkError(
      `The endpoint refused the request (HTTP ${status}): check the credentials in "headers" of ${profile.name} ` +
        '(the secret they reference may be wrong or expired).',
      'endpoint-auth',
    );
  }
  return new RecMarkError(
    `The endpoint answered HTTP ${status} (${status === 404 ? 'not found' : 'method not allowed'}): check "url" and "method" of ${profile.name}.`,
    'endpoint-config',
  );
}

/** Nearest-rank percentile of a sample (ms). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
