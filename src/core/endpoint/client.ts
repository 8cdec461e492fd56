/**
 * The HTTP side of an endpoint audit: a small fixed pool of requests in flight under a rate limit,
 * a per-request timeout, retries with exponential back-off and jitter (honouring Retry-After) on
 * timeouts, network errors, 429 and 5xx, a query budget, and the cache. Every attempt counts
 * against the budget: a retry costs the service as much as the first try.
 *
 * Cancelling stops new requests at once but lets those in flight finish (each is bounded by the
 * timeout) and caches their answers, so a resumed audit never pays for them twice.
 */
import { CancelledError, RecMarkError } from '../errors';
import type { AnswerCache, CachedAnswer } from './cache';
import type { EndpointProfile, PreparedRequest } from './profile';

export interface EndpointTask {
  request: PreparedRequest;
  /** Cache key (requestHash). */
  key: string;
  /** Turn a parsed JSON body into an answer; null when the body does not hold one (malformed). */
  decode(body: unknown): CachedAnswer | null;
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

  constructor(
    private readonly profile: EndpointProfile,
    private readonly headers: Record<string, string>,
    private readonly options: {
      budget: number | null;
      cache: AnswerCache | null;
      random?: () => number;
    },
  ) {
    this.interval = 1000 / profile.rateLimit;
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
        return null;
      }
      if (!(await this.rateSlot(signal))) return null;
      this.stats.spent++;
      if (attempt > 0) this.stats.retries++;
      const t0 = performance.now();
      let status = 0;
      let text = '';
      let retryAfterMs = 0;
      try {
        const res = await fetch(task.request.url, {
          method: task.request.method,
          headers:
            task.request.body === undefined
              ? this.headers
              : { 'Content-Type': 'application/json', ...this.headers },
          body: task.request.body,
          // Not the user's signal: a request in flight finishes (or times out) and is cached.
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'follow',
        });
        status = res.status;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        text = await res.text();
        this.stats.latencies.push(performance.now() - t0);
      } catch (err) {
        const name = (err as { name?: string })?.name;
        if (name === 'TimeoutError' || name === 'AbortError') this.stats.failures.timeout++;
        else this.stats.failures.network++;
      }
      if (status >= 200 && status < 300) {
        const answer = decodeBody(task, text);
        if (answer) return answer;
        // A body that is not an answer is not retried: it is counted and the probe left out.
        this.stats.failures.malformed++;
        this.stats.lost.malformed++;
        return null;
      }
      if (status !== 0) {
        this.stats.failures.http[status] = (this.stats.failures.http[status] ?? 0) + 1;
        if (FATAL_STATUS.has(status)) throw fatalStatus(status, this.profile);
        if (!RETRY_STATUS.has(status)) {
          this.stats.lost.httpError++;
          return null;
        }
      }
      if (attempt >= retries.max) {
        this.stats.lost.retriesExhausted++;
        return null;
      }
      const cap = Math.min(retries.maxDelayMs, retries.baseDelayMs * 2 ** attempt);
      // "Equal jitter": half the back-off fixed, half random, so clients never retry in step.
      const backoff = cap / 2 + (this.options.random ?? Math.random)() * (cap / 2);
      const wait = Math.max(backoff, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
      if (retryAfterMs > 0) {
        // The service asked everyone to slow down, not just this request.
        this.nextSlot = Math.max(
          this.nextSlot,
          performance.now() + Math.min(retryAfterMs, MAX_RETRY_AFTER_MS),
        );
      }
      if (!(await sleep(wait, signal))) return null;
    }
  }

  /** Wait for the next request slot under the rate limit; false when cancelled meanwhile. */
  private async rateSlot(signal?: AbortSignal): Promise<boolean> {
    const now = performance.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + this.interval;
    return sleep(at - now, signal);
  }
}

function decodeBody(task: EndpointTask, text: string): CachedAnswer | null {
  try {
    return task.decode(JSON.parse(text));
  } catch {
    return null;
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

/** Retry-After as seconds or an HTTP date; 0 when absent or unreadable. */
export function parseRetryAfter(value: string | null): number {
  if (value === null || value.trim() === '') return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
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
