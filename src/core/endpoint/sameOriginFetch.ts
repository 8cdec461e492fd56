/**
 * One HTTP request to an endpoint, redirects followed by hand and only within the first URL's
 * origin (scheme, host, port): a redirect elsewhere is refused before anything is sent there, so
 * neither the secret headers nor the body ever leave the profile's origin.
 */
import { RecMarkError } from '../errors';
import { readCapped } from './body';
import type { PreparedRequest } from './profileRequest';

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed per request (same origin only); more is a loop or a maze. */
export const MAX_REDIRECTS = 5;

/** What one request got: a status and, for 2xx, the body (null when not UTF-8). */
export interface Reply {
  status: number;
  retryAfterMs: number;
  text: string | null;
}

/** What a request needs from its client. */
export interface FetchContext {
  /** The profile's name, for messages. */
  name: string;
  headers: Record<string, string>;
  maxResponseBytes: number;
  /** Blots secret values out of a message (a hostile service may echo one back). */
  redact(text: string): string;
  /** Called for each redirect followed: every hop counts as a request. */
  onRedirect(): void;
}

/** One request; each redirect hop counts as a request (see FetchContext.onRedirect). */
export async function fetchSameOrigin(
  request: PreparedRequest,
  signal: AbortSignal,
  ctx: FetchContext,
): Promise<Reply> {
  const origin = new URL(request.url).origin;
  let url = request.url;
  let method = request.method;
  let body = request.body;
  for (let hop = 0; ; hop++) {
    const res = await fetch(url, {
      method,
      headers:
        body === undefined ? ctx.headers : { 'Content-Type': 'application/json', ...ctx.headers },
      body,
      signal,
      redirect: 'manual',
    });
    const location = REDIRECT_STATUS.has(res.status) ? res.headers.get('location') : null;
    if (location === null) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      if (res.status < 200 || res.status >= 300) {
        // An error body is not needed, so none is read (nor buffered).
        await res.body?.cancel().catch(() => undefined);
        return { status: res.status, retryAfterMs, text: '' };
      }
      const text = await readCapped(res, ctx.maxResponseBytes);
      return { status: res.status, retryAfterMs, text };
    }
    await res.body?.cancel().catch(() => undefined);
    const next = redirectTarget(ctx, origin, url, location, res.status, hop);
    ctx.onRedirect();
    // As browsers do: 303, and 301/302 after a POST, become a GET without the body.
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    }
    url = next;
  }
}

/** Where a redirect leads, or the error refusing it (another origin, a loop, no address). */
function redirectTarget(
  ctx: FetchContext,
  origin: string,
  from: string,
  location: string,
  status: number,
  hop: number,
): string {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new RecMarkError(
      `${ctx.name}: the endpoint ${origin} answered HTTP ${status} with a Location that is not an address; check "url" in the profile.`,
      'endpoint-redirect',
    );
  }
  if (next.origin !== origin) {
    const to = next.origin === 'null' ? `a ${next.protocol} address` : next.origin;
    throw new RecMarkError(
      `${ctx.name}: the endpoint ${origin} redirected (HTTP ${status}) to ${ctx.redact(to)}, another origin; ` +
        "RecMark follows redirects only within the profile's origin, so nothing was sent there and the secret headers were not forwarded. " +
        'If the service has moved, point "url" at its new address.',
      'endpoint-redirect',
    );
  }
  if (hop >= MAX_REDIRECTS)
    throw new RecMarkError(
      `${ctx.name}: the endpoint ${origin} redirected more than ${MAX_REDIRECTS} times in a row (a loop?); point "url" at the final address.`,
      'endpoint-redirect',
    );
  return next.href;
}

/** Retry-After as seconds or an HTTP date; 0 when absent or unreadable. */
export function parseRetryAfter(value: string | null): number {
  if (value === null || value.trim() === '') return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
}
