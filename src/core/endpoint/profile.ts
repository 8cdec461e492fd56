/**
 * Endpoint profiles (`*.recmark-endpoint.json`): how to ask a live recommendation service for a
 * ranking. The file holds no secret: a header such as `"Authorization": "Bearer ${secret:apiToken}"`
 * names the secret, which comes from VS Code's SecretStorage or, in the CLI, from the environment
 * variable `RECMARK_SECRET_APITOKEN`.
 *
 * Placeholders: `${items}` (the item sequence, oldest first, in the service's ids), `${k}` (how
 * many items are wanted) and `${secret:NAME}` (headers only). In the JSON `request` body a string
 * that is exactly "${items}" or "${k}" becomes the array or the number; inside a longer string (or
 * the URL) items are joined with commas.
 */

export const PROFILE_SUFFIX = '.recmark-endpoint.json';

export interface EndpointProfile {
  /** Where the profile came from (for messages and relative paths); "" when built in memory. */
  file: string;
  name: string;
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  /** JSON body template (POST/PUT); undefined for GET. */
  request?: unknown;
  response: { items?: string; scores?: string };
  idMap?: { file: string; modelColumn: string; serviceColumn: string };
  /** Real items in the catalogue (needed for AOW when there is no id map). */
  numItems?: number;
  /** Requests per second, retries included. */
  rateLimit: number;
  /** Requests in flight at once. */
  concurrency: number;
  timeoutMs: number;
  retries: { max: number; baseDelayMs: number; maxDelayMs: number };
  /** Most HTTP requests (retries included) one audit may send; null = no limit. */
  budget: number | null;
  /** Largest answer body read, in bytes after decompression; a longer one is cut off unread. */
  maxResponseBytes: number;
}

export const PROFILE_DEFAULTS = {
  method: 'POST' as const,
  rateLimit: 20,
  concurrency: 4,
  timeoutMs: 10_000,
  retries: { max: 4, baseDelayMs: 250, maxDelayMs: 8_000 },
  budget: 20_000,
  maxResponseBytes: 4 * 1024 * 1024,
};

/**
 * Bounds on the profile's numbers, checked when it is read (before any request). They keep every
 * timer within what setTimeout can hold (2^31 ms) and every wait and allocation sane; numItems
 * obeys the CLI's item limit (RECMARK_MAX_ITEMS).
 */
export const PROFILE_LIMITS = {
  rateLimit: { min: 0.01, max: 10_000 },
  timeoutMs: { min: 10, max: 600_000 },
  delayMs: { max: 600_000 },
  maxResponseBytes: { min: 1024, max: 256 * 1024 * 1024 },
};

/** A starting profile for "RecMark: New Endpoint Profile" (and the README). */
export function profileTemplate(name: string): Record<string, unknown> {
  return {
    name,
    description: 'How RecMark asks this recommendation service for a ranking. Holds no secrets.',
    url: 'http://127.0.0.1:8080/recommend',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ${secret:apiToken}' },
    request: { items: '${items}', k: '${k}' },
    response: { items: '$.items', scores: '$.scores' },
    numItems: 3650,
    rateLimit: PROFILE_DEFAULTS.rateLimit,
    concurrency: PROFILE_DEFAULTS.concurrency,
    timeoutMs: PROFILE_DEFAULTS.timeoutMs,
    retries: PROFILE_DEFAULTS.retries,
    budget: PROFILE_DEFAULTS.budget,
    maxResponseBytes: PROFILE_DEFAULTS.maxResponseBytes,
  };
}
