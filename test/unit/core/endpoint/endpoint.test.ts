/**
 * Endpoint audits, the parts that need no model: profile validation (every error names the field
 * and the fix), request templates, the JSONPath subset, the HTTP client's retries, Retry-After,
 * malformed bodies and budget against a scripted loopback server, the append-only cache, and
 * AOW statistics on censored ranks.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { AnswerCache, requestHash } from '../../../../src/core/endpoint/cache';
import {
  EndpointClient,
  percentile,
  type EndpointTask,
} from '../../../../src/core/endpoint/client';
import { parseRetryAfter } from '../../../../src/core/endpoint/sameOriginFetch';
import { formatBytes, jsonShapeProblem } from '../../../../src/core/endpoint/body';
import {
  evaluateJsonPath,
  parseJsonPath,
  type PathStep,
} from '../../../../src/core/endpoint/jsonPath';
import { profileTemplate, type EndpointProfile } from '../../../../src/core/endpoint/profile';
import { parseProfile, readProfile } from '../../../../src/core/endpoint/profileParser';
import { prepareRequest } from '../../../../src/core/endpoint/profileRequest';
import {
  resolveHeaders,
  resolveSecrets,
  secretNames,
} from '../../../../src/core/endpoint/profileSecrets';
import { RecMarkError } from '../../../../src/core/errors';
import { fisherCombination } from '../../../../src/core/stats/tests';
import { aowStatistics } from '../../../../src/core/watermark/aowStats';
import { fixture, tempDir, ROOT } from '../../../support/helpers';

const base = {
  url: 'http://127.0.0.1:9/recommend',
  request: { items: '${items}', k: '${k}' },
  response: { items: '$.items' },
};

test('profile errors name the field and the fix', () => {
  const cases: [unknown, RegExp][] = [
    [[], /a JSON object with at least "url" and "response"/],
    [{ ...base, rate_limit: 5 }, /"rate_limit" is not a profile field \(known: .*rateLimit/],
    [{ ...base, url: undefined }, /"url" is required/],
    [{ ...base, url: 'ftp://host/x' }, /"url" must be http:\/\/ or https:\/\//],
    [
      { ...base, url: 'http://h/x?token=${secret:apiToken}' },
      /"url" may not use \$\{secret:apiToken\}: secrets go in "headers" only/,
    ],
    [
      { ...base, headers: { Authorization: 'Bearer abc123' } },
      /"headers.Authorization" looks like a credential.*\$\{secret:apiToken\}.*RECMARK_SECRET_APITOKEN/,
    ],
    [{ ...base, headers: { 'X-Api-Key': 'k-123' } }, /"headers.X-Api-Key" looks like a credential/],
    [{ ...base, method: 'GET' }, /"request" is a body template, but GET requests have no body/],
    [{ ...base, request: undefined }, /"request" is required for POST/],
    [{ ...base, request: { seq: [1, 2] } }, /"request" must contain "\$\{items\}"/],
    [
      { ...base, request: { items: '${items}', user: '${user}' } },
      /"request.user" uses unknown placeholder \$\{user\}/,
    ],
    [{ ...base, response: {} }, /"response" needs "items" .* or "scores"/],
    [{ ...base, response: { items: 'items' } }, /"response.items" must start with "\$"/],
    [{ ...base, response: { items: '$.a[x]' } }, /"response.items" cannot read "\[x\]"/],
    [
      { ...base, rateLimit: 'fast' },
      /"rateLimit" must be a positive number \(requests per second\), got "fast"/,
    ],
    [{ ...base, numItems: -3 }, /"numItems" must be a positive integer/],
    [{ ...base, retries: { max: 99 } }, /"retries.max" must be an integer from 0 to 20/],
    [{ ...base, budget: 0 }, /"budget" must be a positive integer .*null for no limit/],
    [{ ...base, concurrency: 500 }, /"concurrency" must be at most 64/],
    // Bounds checked when the profile is read, before any request (issue 15).
    [{ ...base, timeoutMs: 1e12 }, /"timeoutMs" must be from 10 to 600000/],
    [{ ...base, timeoutMs: 1 }, /"timeoutMs" must be from 10 to 600000/],
    [{ ...base, rateLimit: 1e-9 }, /"rateLimit" must be from 0.01 to 10000/],
    [{ ...base, numItems: 1e12 }, /"numItems" is 1000000000000, more than .* RECMARK_MAX_ITEMS/],
    [{ ...base, retries: { baseDelayMs: 1e300 } }, /"retries.baseDelayMs" must be at most 600000/],
    [{ ...base, maxResponseBytes: 10 }, /"maxResponseBytes" must be from 1024 to 268435456/],
    [{ ...base, maxResponseBytes: 1.5e6 + 0.5 }, /"maxResponseBytes" must be a positive integer/],
    [
      { ...base, headers: { 'X-Trace': 'a\r\nX-Injected: 1' } },
      /"headers.X-Trace" holds a line break .* write the value on one line/,
    ],
    [
      { ...base, headers: { 'X-Shop': 'café—1' } },
      /"headers.X-Shop" holds a character outside Latin-1/,
    ],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => parseProfile(value, '/w/shop.recmark-endpoint.json'),
      (err: unknown) => {
        assert.ok(err instanceof RecMarkError, String(err));
        assert.equal(err.code, 'endpoint-profile');
        assert.match(err.message, /^shop\.recmark-endpoint\.json: /);
        assert.match(err.message, message);
        return true;
      },
      JSON.stringify(value),
    );
  }
});

test('the sample profile parses: defaults, id map beside it, the secret by name only', async () => {
  const p = await readProfile(fixture('local.recmark-endpoint.json'));
  assert.equal(p.method, 'POST');
  assert.equal(p.idMap!.file, fixture('item_map.csv'));
  assert.deepEqual(secretNames(p), ['apiToken']);
  assert.deepEqual(
    resolveHeaders(p, (n) => (n === 'apiToken' ? 's3cret' : undefined)),
    {
      Authorization: 'Bearer s3cret',
    },
  );
  assert.throws(() => resolveHeaders(p, () => undefined), /RECMARK_SECRET_APITOKEN/);
  // A minimal profile gets the documented defaults.
  const minimal = parseProfile(base);
  assert.equal(minimal.concurrency, 4);
  assert.equal(minimal.budget, 20_000);
  assert.equal(minimal.name, '127.0.0.1:9');
});

test('the JSON schema (settings UI) and the parser agree on the fields; the template parses', () => {
  const schema = JSON.parse(
    readFileSync(path.join(ROOT, 'media', 'recmark-endpoint.schema.json'), 'utf8'),
  ) as { properties: Record<string, unknown>; required: string[] };
  for (const field of Object.keys(schema.properties)) {
    try {
      parseProfile({ ...base, [field]: undefined });
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /is not a profile field/, field);
    }
  }
  assert.throws(() => parseProfile({ ...base, notInSchema: 1 }), /is not a profile field/);
  assert.deepEqual(schema.required, ['url', 'response']);
  const template = parseProfile(profileTemplate('shop'));
  assert.deepEqual(secretNames(template), ['apiToken']);
  for (const field of Object.keys(profileTemplate('shop')))
    assert.ok(field in schema.properties, `template field ${field} is in the schema`);
});

test('requests: ${items} becomes the array, ${k} the number; in a URL they are joined and encoded', () => {
  const post = parseProfile({
    ...base,
    request: { q: { items: '${items}', n: '${k}' }, note: 'k=${k}' },
  });
  const r = prepareRequest(post, [10, 'a b'], 25);
  assert.equal(r.body, JSON.stringify({ q: { items: [10, 'a b'], n: 25 }, note: 'k=25' }));
  const get = parseProfile({
    url: 'https://api.example/rec?seq=${items}&top=${k}',
    method: 'GET',
    response: { items: '$.items' },
  });
  const g = prepareRequest(get, [1, 'x&y'], 5);
  assert.equal(g.url, 'https://api.example/rec?seq=1,x%26y&top=5');
  assert.equal(g.body, undefined);
  // The cache key depends on the request, and on the salt.
  assert.notEqual(requestHash(r), requestHash(prepareRequest(post, [10, 'a b'], 26)));
  assert.notEqual(requestHash(r), requestHash(r, 'salt'));
});

test('the JSONPath subset', () => {
  const body = {
    data: { recs: [{ id: 3 }, { id: 1 }] },
    'item-ids': [7],
    a: [
      [1, 2],
      [3, 4],
    ],
  };
  const at = (p: string): unknown => {
    const steps = parseJsonPath(p);
    assert.ok(typeof steps !== 'string', String(steps));
    return evaluateJsonPath(body, steps);
  };
  assert.deepEqual(at('$.data.recs[*].id'), [3, 1]);
  assert.deepEqual(at("$['item-ids']"), [7]);
  assert.deepEqual(at('$.a[1]'), [3, 4]);
  assert.equal(at('$.missing'), undefined);
  assert.deepEqual(at('$.a[*][0]'), [1, 3]);
  // [*] over a list far longer than the call stack allows arguments (no push(...list)).
  const long = Array.from({ length: 500_000 }, (_, i) => ({ id: i }));
  const ids = evaluateJsonPath({ recs: long }, parseJsonPath('$.recs[*].id') as PathStep[]);
  assert.equal((ids as number[]).length, 500_000);
});

test('answers are bounded before parsing: depth, list length; sizes print readably', () => {
  assert.equal(jsonShapeProblem('{"items":[1,2,3],"s":"[[[[,,,,"}', 3, 3), null);
  assert.match(jsonShapeProblem('[[[[1]]]]', 3, 10)!, /nested deeper than 3 levels/);
  assert.match(jsonShapeProblem('{"a":[1,2,3,4]}', 10, 3)!, /a list of more than 3 values/);
  assert.equal(jsonShapeProblem('{"a":[1,2,3]}', 10, 3), null);
  assert.equal(jsonShapeProblem('["a\\"",1]', 10, 2), null, 'an escaped quote stays in the string');
  assert.equal(formatBytes(4 * 1024 * 1024), '4 MiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
});

test('secrets that cannot be header values are refused by name, never shown', () => {
  const p = parseProfile({ ...base, headers: { Authorization: 'Bearer ${secret:apiToken}' } });
  const resolved = resolveSecrets(p, () => 'good-token');
  assert.deepEqual(resolved.secretHeaders, ['Authorization']);
  assert.deepEqual(resolved.secretValues, ['good-token']);
  for (const bad of ['zq9\r\nX-Evil: 1', 'zq9\u0000', 'zq9\u20ac']) {
    assert.throws(
      () => resolveSecrets(p, () => bad),
      (err: unknown) => {
        assert.ok(err instanceof RecMarkError);
        assert.equal(err.code, 'endpoint-secret-invalid');
        assert.match(err.message, /The secret "apiToken" \(header Authorization\) holds/);
        assert.ok(!err.message.includes('zq9'), 'the value is not quoted');
        return true;
      },
    );
  }
});

test('percentiles and Retry-After', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter(null), 0);
  assert.ok(parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) > 3000);
});

/** A loopback server that answers each request by a script: status, headers, body. */
async function scripted(
  script: (
    n: number,
    req: IncomingMessage,
  ) => { status: number; body: string; headers?: Record<string, string> },
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const r = script(n++, req);
      res.writeHead(r.status, { 'Content-Type': 'application/json', ...r.headers });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/rec`,
    requests: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function clientFor(
  url: string,
  extra: Partial<EndpointProfile> = {},
  budget: number | null = null,
) {
  const profile = { ...parseProfile({ ...base, url, rateLimit: 1000 }), ...extra };
  return new EndpointClient(profile, {}, { budget, cache: null });
}

function tasks(count: number, url: string): EndpointTask[] {
  const profile = parseProfile({ ...base, url });
  return Array.from({ length: count }, (_, i) => {
    const request = prepareRequest(profile, [i + 1], 3);
    return {
      request,
      key: requestHash(request),
      decode: (body) => {
        const items = (body as { items?: unknown }).items;
        return Array.isArray(items) ? { ids: items as number[], complete: true } : null;
      },
    };
  });
}

test('client: 429 with Retry-After is honoured, 500 retried, malformed not retried, 400 not retried', async () => {
  const ok = JSON.stringify({ items: [1, 2, 3] });
  const server = await scripted((n) =>
    n === 0
      ? { status: 429, body: '{}', headers: { 'Retry-After': '1' } }
      : { status: 200, body: ok },
  );
  try {
    const client = clientFor(server.url);
    const t0 = performance.now();
    const [answer] = await client.runAll(tasks(1, server.url));
    assert.ok(performance.now() - t0 >= 950, 'waited for Retry-After');
    assert.deepEqual(answer, { ids: [1, 2, 3], complete: true });
    assert.equal(client.stats.retries, 1);
    assert.deepEqual(client.stats.failures.http, { '429': 1 });
  } finally {
    await server.close();
  }

  const flaky = await scripted((n) =>
    n % 2 === 0 ? { status: 500, body: '' } : { status: 200, body: 'not json' },
  );
  try {
    const client = clientFor(flaky.url, { retries: { max: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const answers = await client.runAll(tasks(1, flaky.url));
    assert.deepEqual(answers, [null]);
    assert.equal(flaky.requests(), 2, 'the 500 was retried, the malformed body was not');
    assert.equal(client.stats.lost.malformed, 1);
  } finally {
    await flaky.close();
  }

  const refusing = await scripted(() => ({ status: 400, body: '{}' }));
  try {
    const client = clientFor(refusing.url);
    assert.deepEqual(await client.runAll(tasks(2, refusing.url)), [null, null]);
    assert.equal(refusing.requests(), 2);
    assert.equal(client.stats.lost.httpError, 2);
  } finally {
    await refusing.close();
  }
});

test('client: retries run out; the budget stops requests; a dead port is a network failure', async () => {
  const failing = await scripted(() => ({ status: 503, body: '' }));
  try {
    const client = clientFor(failing.url, { retries: { max: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    assert.deepEqual(await client.runAll(tasks(1, failing.url)), [null]);
    assert.equal(failing.requests(), 3);
    assert.equal(client.stats.lost.retriesExhausted, 1);
  } finally {
    await failing.close();
  }

  const fine = await scripted(() => ({ status: 200, body: JSON.stringify({ items: [4] }) }));
  try {
    const client = clientFor(fine.url, {}, 5);
    const answers = await client.runAll(tasks(12, fine.url));
    assert.equal(fine.requests(), 5);
    assert.equal(answers.filter((a) => a !== null).length, 5);
    assert.equal(client.stats.lost.budget, 7);
    assert.ok(client.stats.budgetExhausted);
    // Four workers queued behind a slow rate limit must not all pass the check and overshoot.
    const pooled = clientFor(fine.url, { rateLimit: 40, concurrency: 4 }, 5);
    const before = fine.requests();
    await pooled.runAll(tasks(12, fine.url));
    assert.equal(fine.requests() - before, 5, 'requests beyond the budget');
    assert.equal(pooled.stats.spent, 5);
  } finally {
    await fine.close();
  }

  const closed = await scripted(() => ({ status: 200, body: '' }));
  await closed.close();
  const client = clientFor(closed.url, { retries: { max: 1, baseDelayMs: 1, maxDelayMs: 2 } });
  assert.deepEqual(await client.runAll(tasks(1, closed.url)), [null]);
  assert.equal(client.stats.failures.network, 2);
});

test('client: 401 stops the audit with an error about the credentials', async () => {
  const server = await scripted(() => ({ status: 401, body: '' }));
  try {
    await assert.rejects(clientFor(server.url).runAll(tasks(8, server.url)), (err: unknown) => {
      assert.ok(err instanceof RecMarkError);
      assert.equal(err.code, 'endpoint-auth');
      assert.match(err.message, /HTTP 401.*credentials/);
      return true;
    });
    assert.ok(server.requests() <= 4, 'no new requests after the refusal');
  } finally {
    await server.close();
  }
});

test('cache: append-only lines; a torn last line (a kill mid-write) is skipped, later lines still read', async () => {
  const dir = tempDir();
  const trust = { macKey: Buffer.alloc(32, 1), items: new Set([1, 2, 3, 9]) };
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(40));
  const first = await AnswerCache.open(dir, { url: 'x' }, trust);
  await first.put(a, { ids: [1, 2], complete: false });
  await first.put(b, { rank: 3, censored: false });
  await first.close();
  appendFileSync(first.file, `{"v":2,"k":"${c}","a":{"ids":[`);
  const second = await AnswerCache.open(dir, { url: 'x' }, trust);
  assert.equal(second.size, 2);
  assert.equal(second.skipped, 1);
  assert.equal(second.rejected, 0);
  await second.put(d, { ids: [9], complete: true });
  await second.close();
  const third = await AnswerCache.open(dir, { url: 'x' }, trust);
  assert.deepEqual(third.get(d), { ids: [9], complete: true });
  assert.deepEqual(third.get(b), { rank: 3, censored: false });
  await third.close();
  // Another endpoint configuration gets its own file.
  const other = await AnswerCache.open(dir, { url: 'y' }, trust);
  assert.equal(other.size, 0);
  assert.notEqual(path.basename(other.file), path.basename(first.file));
  await other.close();
  assert.equal(
    readFileSync(first.file, 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"k":"${d}"`)).length,
    1,
  );
});

test('AOW statistics on censored ranks: only K within the list, Fisher counts a censored step as p = 1', () => {
  const N = 3650;
  const exact = aowStatistics([1, 1, 1, 1], N);
  assert.equal(exact.evidence.censored, undefined);
  // An endpoint returning its top 20: two targets found, two beyond the list.
  const s = aowStatistics([1, 21, 3, 21], N, { censored: [false, true, false, true] });
  assert.deepEqual(s.evidence.ks, [1, 5, 10, 20]);
  assert.equal(s.evidence.recall['20'], 0.5);
  const fisher = fisherCombination([1 / N, 1, 3 / N, 1]);
  assert.ok(Math.abs(s.evidence.pFisher / fisher.pValue.value - 1) < 1e-9);
  assert.deepEqual(s.evidence.censored, [false, true, false, true]);
  assert.match(
    s.evidence.combination,
    /2 of 4 targets were not in the returned list \(rank > 20\)/,
  );
  // Censoring never makes evidence out of nothing: all censored → p = 1.
  const none = aowStatistics([21, 21, 21, 21], N, { censored: [true, true, true, true] });
  assert.equal(none.pValue.value, 1);
});
