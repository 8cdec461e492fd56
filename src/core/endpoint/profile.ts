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
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { limits, PROFILE_MAX_BYTES, raiseHint } from '../limits';
import { jsonFaultWhere, readInputFile } from '../util/files';
import { formatBytes } from './body';
import { parseJsonPath, type PathStep } from './jsonPath';
import { insideFolder, readIdMap, type IdMap, type ServiceId } from './idMap';

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

const TOP_LEVEL = [
  '$schema',
  'description',
  'name',
  'url',
  'method',
  'headers',
  'request',
  'response',
  'idMap',
  'numItems',
  'rateLimit',
  'concurrency',
  'timeoutMs',
  'retries',
  'budget',
  'maxResponseBytes',
];

const SECRET_RE = /\$\{secret:([A-Za-z][A-Za-z0-9_]*)\}/g;
const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;
/** Header names whose literal values would be credentials in the file. */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|cookie|secret|password/i;

/** The environment variable the CLI reads secret NAME from: RECMARK_SECRET_<NAME uppercased>. */
export function secretEnvName(name: string): string {
  return `RECMARK_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function fail(label: string, field: string, message: string): never {
  throw new RecMarkError(`${label}: "${field}" ${message}`, 'endpoint-profile');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every placeholder in a string must be one this field allows. */
function checkPlaceholders(label: string, field: string, text: string, allowed: string[]): void {
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    const name = m[1];
    if (name.startsWith('secret:')) {
      if (!allowed.includes('secret'))
        fail(
          label,
          field,
          `may not use ${m[0]}: secrets go in "headers" only, so they never reach the URL, the cache or a report.`,
        );
      if (!/^secret:[A-Za-z][A-Za-z0-9_]*$/.test(name))
        fail(
          label,
          field,
          `has a bad secret reference ${m[0]}; write \${secret:NAME} with NAME made of letters, digits and _.`,
        );
    } else if (!allowed.includes(name)) {
      fail(
        label,
        field,
        `uses unknown placeholder ${m[0]}; allowed here: ${allowed
          .filter((a) => a !== 'secret')
          .map((a) => `\${${a}}`)
          .join(', ')}${allowed.includes('secret') ? ', ${secret:NAME}' : ''}.`,
      );
    }
  }
}

function positive(
  label: string,
  field: string,
  v: unknown,
  fallback: number,
  integer: boolean,
  hint: string,
  range: { min?: number; max?: number } = {},
): number {
  if (v === undefined) return fallback;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v <= 0 ||
    (integer && !Number.isSafeInteger(v))
  )
    fail(
      label,
      field,
      `must be a positive ${integer ? 'integer' : 'number'} (${hint}), got ${JSON.stringify(v)}.`,
    );
  const { min = 0, max = Infinity } = range;
  if (v < min || v > max)
    fail(
      label,
      field,
      `must be ${max === Infinity ? `at least ${min}` : min === 0 ? `at most ${max}` : `from ${min} to ${max}`} (${hint}), got ${v}.`,
    );
  return v;
}

/**
 * Why a header value cannot be sent (without quoting it: it may hold a secret), or null. A line
 * break or another control character (tab aside) would end the header line early and inject
 * headers; HTTP/1.1 header values are bytes, so fetch refuses characters beyond Latin-1.
 */
function headerValueProblem(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f)
      return 'holds a line break or another control character';
    if (c > 0xff) return 'holds a character outside Latin-1';
  }
  return null;
}

/** Validate a parsed profile; every problem names the field and how to fix it. */
export function parseProfile(value: unknown, file = ''): EndpointProfile {
  const label = file ? path.basename(file) : 'endpoint profile';
  if (!isObject(value))
    throw new RecMarkError(
      `${label}: an endpoint profile is a JSON object with at least "url" and "response".`,
      'endpoint-profile',
    );
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL.includes(key))
      fail(
        label,
        key,
        `is not a profile field (known: ${TOP_LEVEL.filter((k) => k !== '$schema').join(', ')}).`,
      );
  }
  const v = value;

  if (typeof v.url !== 'string' || v.url === '')
    fail(
      label,
      'url',
      'is required: the address of the recommendation endpoint, e.g. "http://127.0.0.1:8080/recommend".',
    );
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(v.url.replace(PLACEHOLDER_RE, '0'));
  } catch {
    fail(label, 'url', `is not a valid URL: "${v.url}".`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')
    fail(label, 'url', `must be http:// or https://, got "${parsedUrl.protocol}".`);
  checkPlaceholders(label, 'url', v.url, ['items', 'k']);
  // Every request must go to one origin: redirects, secrets and the cache are bound to it.
  const url = v.url;
  const originWith = (fill: string): string | null => {
    try {
      return new URL(url.replace(PLACEHOLDER_RE, fill)).origin;
    } catch {
      return null;
    }
  };
  if (originWith('1') !== parsedUrl.origin)
    fail(
      label,
      'url',
      'has ${items} or ${k} in its scheme, host or port; keep them in the path or the query, so every request goes to one origin.',
    );

  const method = v.method === undefined ? PROFILE_DEFAULTS.method : v.method;
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT')
    fail(label, 'method', `must be "GET", "POST" or "PUT", got ${JSON.stringify(method)}.`);

  const headers: Record<string, string> = {};
  if (v.headers !== undefined) {
    if (!isObject(v.headers)) fail(label, 'headers', 'must be an object of header name → value.');
    for (const [name, text] of Object.entries(v.headers)) {
      if (typeof text !== 'string') fail(label, `headers.${name}`, 'must be a string.');
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
        fail(label, `headers.${name}`, 'is not a valid header name.');
      checkPlaceholders(label, `headers.${name}`, text, ['secret']);
      const problem = headerValueProblem(text);
      if (problem) fail(label, `headers.${name}`, `${problem}; write the value on one line.`);
      if (CREDENTIAL_HEADER.test(name) && text.trim() !== '' && !text.includes('${secret:')) {
        fail(
          label,
          `headers.${name}`,
          `looks like a credential written into the file; reference it instead, e.g. "Bearer \${secret:apiToken}" (VS Code asks for it once and keeps it in SecretStorage; the CLI reads ${secretEnvName('apiToken')}).`,
        );
      }
      headers[name] = text;
    }
  }

  let request: unknown;
  if (method === 'GET') {
    if (v.request !== undefined)
      fail(
        label,
        'request',
        'is a body template, but GET requests have no body: put ${items} in the URL, or use "method": "POST".',
      );
  } else {
    if (v.request === undefined)
      fail(
        label,
        'request',
        `is required for ${method}: the JSON body, with "\${items}" where the item sequence goes, e.g. {"items": "\${items}", "k": "\${k}"}.`,
      );
    walkStrings(v.request, (s, where) =>
      checkPlaceholders(label, `request${where}`, s, ['items', 'k']),
    );
    request = v.request;
  }
  const carriesItems =
    v.url.includes('${items}') ||
    (request !== undefined && JSON.stringify(request).includes('${items}'));
  if (!carriesItems)
    fail(
      label,
      method === 'GET' ? 'url' : 'request',
      'must contain "${items}", where the item sequence goes.',
    );

  if (!isObject(v.response))
    fail(
      label,
      'response',
      'is required: {"items": "$.items"} (JSON path to the ranked item ids) and/or {"scores": "$.scores"}.',
    );
  const response: { items?: string; scores?: string } = {};
  for (const field of ['items', 'scores'] as const) {
    const p = v.response[field];
    if (p === undefined) continue;
    if (typeof p !== 'string')
      fail(label, `response.${field}`, 'must be a JSON path string such as "$.items".');
    const parsed = parseJsonPath(p);
    if (typeof parsed === 'string') fail(label, `response.${field}`, parsed);
    response[field] = p;
  }
  for (const key of Object.keys(v.response))
    if (key !== 'items' && key !== 'scores')
      fail(label, `response.${key}`, 'is not known; use "items" and/or "scores".');
  if (!response.items && !response.scores)
    fail(
      label,
      'response',
      'needs "items" (path to the ranked ids) or "scores" (path to the scores), or both.',
    );

  let idMap: EndpointProfile['idMap'];
  if (v.idMap !== undefined) {
    const m = v.idMap;
    if (!isObject(m) || typeof m.file !== 'string' || m.file === '')
      fail(
        label,
        'idMap',
        'must be {"file": "item_map.csv", "modelColumn": "index", "serviceColumn": "movieId"}.',
      );
    const modelColumn = m.modelColumn === undefined ? 'index' : m.modelColumn;
    const serviceColumn = m.serviceColumn === undefined ? 'serviceId' : m.serviceColumn;
    if (typeof modelColumn !== 'string' || typeof serviceColumn !== 'string')
      fail(label, 'idMap', 'column names must be strings.');
    if (file && !insideFolder(path.dirname(file), path.resolve(path.dirname(file), m.file)))
      fail(
        label,
        'idMap',
        '"file" must be a path relative to the profile, in its folder or below (no "..", no absolute path).',
      );
    idMap = {
      file: file ? path.resolve(path.dirname(file), m.file) : path.resolve(m.file),
      modelColumn,
      serviceColumn,
    };
  }

  let numItems: number | undefined;
  if (v.numItems !== undefined) {
    numItems = positive(label, 'numItems', v.numItems, 0, true, 'real items in the catalogue');
    const most = limits().items;
    if (numItems > most)
      fail(
        label,
        'numItems',
        `is ${numItems}, more than the ${most} items allowed; ${raiseHint('items')}.`,
      );
  }
  const delay = { max: PROFILE_LIMITS.delayMs.max };

  let retries = PROFILE_DEFAULTS.retries;
  if (v.retries !== undefined) {
    if (!isObject(v.retries))
      fail(label, 'retries', 'must be {"max": 4, "baseDelayMs": 250, "maxDelayMs": 8000}.');
    const r = v.retries;
    const max = r.max === undefined ? retries.max : r.max;
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0 || max > 20)
      fail(label, 'retries.max', `must be an integer from 0 to 20, got ${JSON.stringify(max)}.`);
    retries = {
      max,
      baseDelayMs: positive(
        label,
        'retries.baseDelayMs',
        r.baseDelayMs,
        retries.baseDelayMs,
        false,
        'first back-off delay in ms',
        delay,
      ),
      maxDelayMs: positive(
        label,
        'retries.maxDelayMs',
        r.maxDelayMs,
        retries.maxDelayMs,
        false,
        'longest back-off delay in ms',
        delay,
      ),
    };
  }

  let budget: number | null = PROFILE_DEFAULTS.budget;
  if (v.budget === null) budget = null;
  else if (v.budget !== undefined)
    budget = positive(
      label,
      'budget',
      v.budget,
      0,
      true,
      'most HTTP requests one audit may send; null for no limit',
    );

  const concurrency = positive(
    label,
    'concurrency',
    v.concurrency,
    PROFILE_DEFAULTS.concurrency,
    true,
    'requests in flight at once',
  );
  if (concurrency > 64) fail(label, 'concurrency', `must be at most 64, got ${concurrency}.`);

  return {
    file,
    name: typeof v.name === 'string' && v.name.trim() !== '' ? v.name.trim() : parsedUrl.host,
    url: v.url,
    method,
    headers,
    request,
    response,
    idMap,
    numItems,
    rateLimit: positive(
      label,
      'rateLimit',
      v.rateLimit,
      PROFILE_DEFAULTS.rateLimit,
      false,
      'requests per second',
      PROFILE_LIMITS.rateLimit,
    ),
    concurrency,
    timeoutMs: positive(
      label,
      'timeoutMs',
      v.timeoutMs,
      PROFILE_DEFAULTS.timeoutMs,
      false,
      'per-request timeout in ms',
      PROFILE_LIMITS.timeoutMs,
    ),
    retries,
    budget,
    maxResponseBytes: positive(
      label,
      'maxResponseBytes',
      v.maxResponseBytes,
      PROFILE_DEFAULTS.maxResponseBytes,
      true,
      `largest answer in bytes, after decompression; default ${formatBytes(PROFILE_DEFAULTS.maxResponseBytes)}`,
      PROFILE_LIMITS.maxResponseBytes,
    ),
  };
}

function walkStrings(value: unknown, visit: (s: string, where: string) => void, where = ''): void {
  if (typeof value === 'string') visit(value, where);
  else if (Array.isArray(value)) value.forEach((x, i) => walkStrings(x, visit, `${where}[${i}]`));
  else if (isObject(value))
    for (const [k, x] of Object.entries(value)) walkStrings(x, visit, `${where}.${k}`);
}

export async function readProfile(file: string): Promise<EndpointProfile> {
  let text: string;
  try {
    const bytes = await readInputFile(file, {
      what: 'The endpoint profile',
      code: 'endpoint-profile',
      maxBytes: PROFILE_MAX_BYTES,
      tooLarge: (size) =>
        new RecMarkError(
          `The endpoint profile ${file} is ${size.toLocaleString('en-US')} bytes, so it is not a profile (at most ${PROFILE_MAX_BYTES.toLocaleString('en-US')}); pass a *.recmark-endpoint.json file.`,
          'endpoint-profile',
        ),
    });
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    throw new RecMarkError(`Cannot read the endpoint profile ${file}.`, 'endpoint-profile');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RecMarkError(
      `${path.basename(file)} is not valid JSON${jsonFaultWhere(err, text)}.`,
      'endpoint-profile',
    );
  }
  return parseProfile(json, path.resolve(file));
}

/** The secret names a profile's headers reference, in order of first use. */
export function secretNames(profile: EndpointProfile): string[] {
  const names = new Set<string>();
  for (const text of Object.values(profile.headers))
    for (const m of text.matchAll(SECRET_RE)) names.add(m[1]);
  return [...names];
}

export type SecretResolver = (name: string) => string | undefined;

/** The CLI's resolver: RECMARK_SECRET_<NAME>. */
export const envSecrets: SecretResolver = (name) => process.env[secretEnvName(name)];

/** Headers with secrets filled in; a missing secret is an error naming where to set it. */
export function resolveHeaders(
  profile: EndpointProfile,
  secrets: SecretResolver,
): Record<string, string> {
  return resolveSecrets(profile, secrets).headers;
}

export interface ResolvedHeaders {
  headers: Record<string, string>;
  /** Names of the headers that carry a secret: sent to the profile's origin only. */
  secretHeaders: string[];
  /** The secret values, to scrub from any message built from what a service sent. */
  secretValues: string[];
}

/**
 * Headers with secrets filled in, and which ones carry them. A missing secret, or one that cannot
 * be a header value (a line break would inject headers), is an error naming the secret and where
 * to set it, never its value.
 */
export function resolveSecrets(profile: EndpointProfile, secrets: SecretResolver): ResolvedHeaders {
  const headers: Record<string, string> = {};
  const secretHeaders: string[] = [];
  const secretValues = new Set<string>();
  for (const [name, text] of Object.entries(profile.headers)) {
    headers[name] = text.replace(SECRET_RE, (_m, secret: string) => {
      const value = secrets(secret);
      if (value === undefined || value === '')
        throw new RecMarkError(
          `The endpoint profile needs the secret "${secret}" (header ${name}); set the environment variable ${secretEnvName(secret)} (in VS Code you are asked for it).`,
          'endpoint-secret-missing',
        );
      const problem = headerValueProblem(value);
      if (problem)
        throw new RecMarkError(
          `The secret "${secret}" (header ${name}) ${problem}, so it cannot be sent as a header; set ${secretEnvName(secret)} to the bare token (in VS Code, enter it again).`,
          'endpoint-secret-invalid',
        );
      secretValues.add(value);
      return value;
    });
    if (text.includes('${secret:')) secretHeaders.push(name);
  }
  return { headers, secretHeaders, secretValues: [...secretValues] };
}

export interface PreparedRequest {
  url: string;
  method: string;
  /** JSON text, or undefined for GET. */
  body?: string;
}

function fill(text: string, items: readonly ServiceId[], k: number, encode: boolean): string {
  const enc = (s: string): string => (encode ? encodeURIComponent(s) : s);
  return text
    .replaceAll('${items}', items.map((i) => enc(String(i))).join(','))
    .replaceAll('${k}', String(k));
}

function fillBody(value: unknown, items: readonly ServiceId[], k: number): unknown {
  if (value === '${items}') return [...items];
  if (value === '${k}') return k;
  if (typeof value === 'string') return fill(value, items, k, false);
  if (Array.isArray(value)) return value.map((x) => fillBody(x, items, k));
  if (isObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([key, x]) => [key, fillBody(x, items, k)]),
    );
  return value;
}

/** The request for one item sequence (service ids) and list length k. Holds no secret. */
export function prepareRequest(
  profile: EndpointProfile,
  items: readonly ServiceId[],
  k: number,
): PreparedRequest {
  return {
    url: fill(profile.url, items, k, true),
    method: profile.method,
    body:
      profile.method === 'GET' ? undefined : JSON.stringify(fillBody(profile.request, items, k)),
  };
}

/** Whether the service can be told how many items to return. */
export function asksForK(profile: EndpointProfile): boolean {
  return profile.url.includes('${k}') || JSON.stringify(profile.request ?? null).includes('${k}');
}

export interface ResponsePaths {
  items?: PathStep[];
  scores?: PathStep[];
}

export function responsePaths(profile: EndpointProfile): ResponsePaths {
  const parse = (p: string | undefined): PathStep[] | undefined => {
    if (p === undefined) return undefined;
    const steps = parseJsonPath(p);
    if (typeof steps === 'string') throw new RecMarkError(steps, 'endpoint-profile');
    return steps;
  };
  return { items: parse(profile.response.items), scores: parse(profile.response.scores) };
}

export async function loadIdMap(profile: EndpointProfile): Promise<IdMap | null> {
  if (!profile.idMap) return null;
  return readIdMap(
    profile.idMap.file,
    { model: profile.idMap.modelColumn, service: profile.idMap.serviceColumn },
    path.basename(profile.file || 'endpoint profile'),
    profile.file ? path.dirname(profile.file) : undefined,
  );
}

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
