/**
 * Reading an endpoint profile: every field is checked, in file order, before any request, and
 * every problem names the field and how to fix it.
 */
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { limits, PROFILE_MAX_BYTES, raiseHint } from '../limits';
import { jsonFaultWhere, readInputFile } from '../util/files';
import { formatBytes } from './body';
import { insideFolder } from '../data/idMap';
import { parseJsonPath } from './jsonPath';
import { PROFILE_DEFAULTS, PROFILE_LIMITS, type EndpointProfile } from './profile';
import {
  checkPlaceholders,
  fail,
  isObject,
  PLACEHOLDER_RE,
  positive,
  walkStrings,
} from './profileChecks';
import { headerValueProblem, secretEnvName } from './profileSecrets';

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

/** Header names whose literal values would be credentials in the file. */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|cookie|secret|password/i;

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

/** Validate a parsed profile; every problem names the field and how to fix it. */
export function parseProfile(value: unknown, file = ''): EndpointProfile {
  const label = file ? path.basename(file) : 'endpoint profile';
  const v = knownFields(label, value);
  const { url, host } = parseUrl(label, v);
  const method = parseMethod(label, v);
  const headers = parseHeaders(label, v);
  const request = parseRequest(label, v, method, url);
  const response = parseResponse(label, v);
  const idMap = parseIdMap(label, v, file);
  const numItems = parseNumItems(label, v);
  const retries = parseRetries(label, v);
  const budget = parseBudget(label, v);
  const concurrency = parseConcurrency(label, v);
  return {
    file,
    name: typeof v.name === 'string' && v.name.trim() !== '' ? v.name.trim() : host,
    url,
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

/** The profile is a JSON object of known fields only. */
function knownFields(label: string, value: unknown): Record<string, unknown> {
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
  return value;
}

/** The service's address; all requests go to its one origin. */
function parseUrl(label: string, v: Record<string, unknown>): { url: string; host: string } {
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
  return { url, host: parsedUrl.host };
}

/** GET, POST (the default) or PUT. */
function parseMethod(label: string, v: Record<string, unknown>): EndpointProfile['method'] {
  const method = v.method === undefined ? PROFILE_DEFAULTS.method : v.method;
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT')
    fail(label, 'method', `must be "GET", "POST" or "PUT", got ${JSON.stringify(method)}.`);
  return method;
}

/** Header values, each on one line; credentials only as ${secret:NAME} references. */
function parseHeaders(label: string, v: Record<string, unknown>): Record<string, string> {
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
  return headers;
}

/** The JSON body template (none for GET); the URL or the body must carry ${items}. */
function parseRequest(
  label: string,
  v: Record<string, unknown>,
  method: EndpointProfile['method'],
  url: string,
): unknown {
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
    url.includes('${items}') ||
    (request !== undefined && JSON.stringify(request).includes('${items}'));
  if (!carriesItems)
    fail(
      label,
      method === 'GET' ? 'url' : 'request',
      'must contain "${items}", where the item sequence goes.',
    );
  return request;
}

/** JSON paths to the ranked ids and/or the scores. */
function parseResponse(label: string, v: Record<string, unknown>): EndpointProfile['response'] {
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
  return response;
}

/** The id map file, resolved inside the profile's folder. */
function parseIdMap(
  label: string,
  v: Record<string, unknown>,
  file: string,
): EndpointProfile['idMap'] {
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
  return idMap;
}

/** Real items in the catalogue, within the item limit. */
function parseNumItems(label: string, v: Record<string, unknown>): number | undefined {
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
  return numItems;
}

/** Retry count and back-off delays. */
function parseRetries(label: string, v: Record<string, unknown>): EndpointProfile['retries'] {
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
  return retries;
}

/** Most requests per audit; null for no limit. */
function parseBudget(label: string, v: Record<string, unknown>): number | null {
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
  return budget;
}

/** Requests in flight at once, at most 64. */
function parseConcurrency(label: string, v: Record<string, unknown>): number {
  const concurrency = positive(
    label,
    'concurrency',
    v.concurrency,
    PROFILE_DEFAULTS.concurrency,
    true,
    'requests in flight at once',
  );
  if (concurrency > 64) fail(label, 'concurrency', `must be at most 64, got ${concurrency}.`);
  return concurrency;
}
