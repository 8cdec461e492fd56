/**
 * Hostile recommendation services (issue 15, "redirects" and "bounded"): an AOW audit through the
 * CLI against a service on 127.0.0.1 that redirects elsewhere, answers with bombs, mazes or
 * nothing, or is set up with numbers and secrets that must be refused before any request.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { hostileServer, type CaseFactory, type RecordedRequest } from './harness';

type Area = CaseFactory['area'];
type Made = Awaited<ReturnType<CaseFactory['make']>>;
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** The token every case's profile references; it must show up in no output. */
const SECRET = 'tok-7Qx9-RedTeam-never-shown';
const ENV = { RECMARK_SECRET_APITOKEN: SECRET };
const SEQUENCE = [3, 7, 11, 19, 23];
const ANSWER = JSON.stringify({ items: [3, 7, 11, 19, 23, 1, 2, 4, 5, 6] });

/** A hand-written AOW key (5 items of a 50-item catalogue): 4 requests per audit. */
function keyFile(dir: string): string {
  const file = path.join(dir, 'shop.wmkey.json');
  writeFileSync(file, JSON.stringify({ scheme: 'aow', sequence: SEQUENCE, L: SEQUENCE.length }));
  return file;
}

function profileFile(dir: string, url: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'shop.recmark-endpoint.json');
  const profile = {
    name: 'shop',
    url,
    headers: { Authorization: 'Bearer ${secret:apiToken}' },
    request: { items: '${items}', k: '${k}' },
    response: { items: '$.items' },
    numItems: 50,
    rateLimit: 1000,
    concurrency: 1,
    timeoutMs: 2000,
    retries: { max: 0 },
    budget: null,
    ...extra,
  };
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

const ok = (res: ServerResponse, body = ANSWER): void => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(body);
};

const redirect = (res: ServerResponse, status: number, location: string): void => {
  res.writeHead(status, { Location: location });
  res.end();
};

/** Writes `chunk` (from `next`) until the client goes away; never ends on its own. */
function endless(res: ServerResponse, next: () => Buffer | string, everyMs = 0): void {
  let closed = false;
  res.on('close', () => (closed = true));
  res.on('error', () => undefined);
  const pump = (): void => {
    while (!closed) {
      if (everyMs > 0) {
        res.write(next());
        setTimeout(pump, everyMs);
        return;
      }
      if (!res.write(next())) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

interface Audit {
  service: Handler;
  profile?: Record<string, unknown>;
  env?: Record<string, string>;
  exit: number;
  message: RegExp;
  rssMiB?: number;
  /** Checks on what the service (and a second server, if any) received, after the run. */
  check?: (requests: RecordedRequest[], other: RecordedRequest[]) => void;
  /** The service redirects to this second server (its origin is passed to `service`). */
  other?: Handler;
}

/** One audit case: the service (and maybe a second server), the profile, the key, the run. */
function audit(area: Area, name: string, build: (other: string) => Audit): CaseFactory {
  return {
    area,
    name,
    make: async (dir): Promise<Made> => {
      const second = await hostileServer((_req, res) => ok(res));
      const spec = build(second.origin);
      const server = await hostileServer((req, res, body) => spec.service(req, res, body));
      const profile = profileFile(dir, server.url, spec.profile);
      const key = keyFile(dir);
      return {
        args: ['verify', '--endpoint', profile, '--key', key, '--no-cache', '--json'],
        env: { ...ENV, ...spec.env },
        exit: spec.exit,
        message: spec.message,
        unchanged: [profile, key],
        secrets: [SECRET],
        scan: [dir],
        rssMiB: spec.rssMiB ?? 400,
        timeoutMs: 15_000,
        cleanup: async () => {
          try {
            if (spec.check) spec.check(server.requests, second.requests);
            // Unless the case sends it there on purpose, the second server hears nothing.
            else assert.equal(second.requests.length, 0, `${name}: the other server was reached`);
          } finally {
            await server.close();
            await second.close();
          }
        },
      };
    },
  };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** "…redirected (HTTP 307) to <other>, another origin; … secret headers were not forwarded" */
const crossOrigin = (status: number, to: string): RegExp =>
  new RegExp(
    `endpoint http://127\\.0\\.0\\.1:\\d+ redirected \\(HTTP ${status}\\) to ${escape(to)}, another origin.*secret headers were not forwarded`,
  );
const answered = /"verdict":"(present|absent|inconclusive)"/;

const redirects: CaseFactory[] = [
  audit(
    'redirects',
    'a 307 to another port (with Authorization and a body) is refused',
    (other) => ({
      service: (_req, res) => redirect(res, 307, `${other}/steal`),
      exit: 2,
      message: crossOrigin(307, other),
    }),
  ),
  audit('redirects', 'a 302 to another host name (localhost for 127.0.0.1) is refused', (other) => {
    const to = other.replace('127.0.0.1', 'localhost');
    return {
      service: (_req, res) => redirect(res, 302, `${to}/recommend`),
      exit: 2,
      message: crossOrigin(302, to),
    };
  }),
  audit('redirects', 'a 308 from http to https on the same host and port is refused', () => ({
    service: (req, res) => redirect(res, 308, `https://${req.headers.host}/recommend`),
    exit: 2,
    message: /redirected \(HTTP 308\) to https:\/\/127\.0\.0\.1:\d+, another origin/,
  })),
  audit('redirects', 'a redirect loop stops after 5 hops', () => ({
    service: (_req, res) => redirect(res, 307, '/recommend'),
    exit: 2,
    message: /redirected more than 5 times in a row \(a loop\?\); point "url" at the final address/,
    check: (requests) => assert.equal(requests.length, 6, 'the first request and 5 redirects'),
  })),
  audit(
    'redirects',
    'a chain of 3 same-origin redirects is followed, secret and body kept',
    () => ({
      service: (req, res) => {
        const hop = Number(/\/hop(\d)$/.exec(req.url ?? '')?.[1] ?? 0);
        if (hop < 3) redirect(res, 307, `/hop${hop + 1}`);
        else ok(res);
      },
      exit: 0,
      message: answered,
      check: (requests, other) => {
        assert.equal(other.length, 0);
        const final = requests.filter((r) => r.url === '/hop3');
        assert.equal(final.length, SEQUENCE.length - 1, 'one answer per watermark prefix');
        for (const r of final) {
          assert.equal(r.method, 'POST');
          assert.equal(r.headers.authorization, `Bearer ${SECRET}`);
          assert.match(r.body, /"items":\[/);
        }
      },
    }),
  ),
  audit('redirects', 'a 303 becomes a GET without the body (same origin)', () => ({
    service: (req, res) => {
      if (req.url === '/recommend') redirect(res, 303, '/result');
      else ok(res);
    },
    exit: 0,
    message: answered,
    check: (requests) => {
      const results = requests.filter((r) => r.url === '/result');
      assert.ok(results.length > 0);
      for (const r of results) {
        assert.equal(r.method, 'GET');
        assert.equal(r.body, '');
      }
    },
  })),
  audit('redirects', 'a redirect to a file: address is refused', () => ({
    service: (_req, res) => redirect(res, 302, 'file:///etc/passwd'),
    exit: 2,
    message: /redirected \(HTTP 302\) to a file: address, another origin/,
  })),
  audit('redirects', 'a redirect to a host named after the secret does not print it', () => ({
    // The service knows the token (it was sent to it) and tries to get it into the logs.
    service: (_req, res) => redirect(res, 307, `http://${SECRET}.invalid:81/x`),
    exit: 2,
    message: /redirected \(HTTP 307\) to http:\/\/\[secret\]\.invalid:81, another origin/,
  })),
  audit('redirects', 'a cross-origin 301 after two good answers still stops the audit', (other) => {
    let n = 0;
    return {
      service: (_req, res) => (n++ < 2 ? ok(res) : redirect(res, 301, `${other}/recommend`)),
      exit: 2,
      message: crossOrigin(301, other),
    };
  }),
];

/** 1 KiB of gzip that inflates to 1 MiB of zeros; 1024 of them in a row make 1 GiB. */
const GZIP_MEMBER = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });

/** A profile field out of range: refused when the profile is read, before any request. */
function badNumber(field: string, value: unknown, message: RegExp): CaseFactory {
  const [top, sub] = field.split('.');
  return audit('bounded', `profile ${field} = ${JSON.stringify(value)} is refused`, () => ({
    service: (_req, res) => ok(res),
    profile: { [top]: sub ? { [sub]: value } : value },
    exit: 2,
    message,
    check: (requests) => assert.equal(requests.length, 0, 'no request before the check'),
  }));
}

const bounded: CaseFactory[] = [
  audit('bounded', 'an endless body is cut off at maxResponseBytes', () => {
    const chunk = Buffer.from('1,'.repeat(32 * 1024));
    return {
      service: (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"items":[');
        endless(res, () => chunk);
      },
      exit: 2,
      message:
        /None of the 4 probes was answered by shop: every answer was larger than maxResponseBytes \(4 MiB\); raise "maxResponseBytes"/,
      rssMiB: 300,
    };
  }),
  audit('bounded', 'a gzip bomb (1 MiB → 1 GiB) is stopped at the cap, RSS stays small', () => ({
    service: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      let sent = 0;
      let closed = false;
      res.on('close', () => (closed = true));
      res.on('error', () => undefined);
      const pump = (): void => {
        while (!closed && sent < 1024) {
          sent++;
          if (!res.write(GZIP_MEMBER)) return void res.once('drain', pump);
        }
        if (!closed) res.end();
      };
      pump();
    },
    profile: { maxResponseBytes: 1024 * 1024 },
    exit: 2,
    message: /every answer was larger than maxResponseBytes \(1 MiB\)/,
    rssMiB: 300,
  })),
  audit(
    'secrets',
    'a profile whose host is built from ${items} is refused before any request',
    () => ({
      service: (_req, res) => ok(res),
      profile: { url: 'http://${items}.attacker.example/recommend', method: 'GET' },
      exit: 2,
      message: /"url" has \$\{items\} or \$\{k\} in its scheme, host or port/,
      check: (requests) => assert.equal(requests.length, 0),
    }),
  ),
  audit(
    'bounded',
    'oversized answers that use up the budget: the error names the size, not the budget',
    () => ({
      service: (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`{"items":[${'1,'.repeat(4096)}1]}`);
      },
      profile: { maxResponseBytes: 1024, budget: 2, retries: { max: 0 } },
      exit: 2,
      message:
        /budget \(2 requests\) was spent .*every answer was larger than maxResponseBytes \(1 KiB\)/,
    }),
  ),
  audit('bounded', 'a slow endless body times out', () => ({
    service: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"items":[');
      endless(res, () => '1,', 50);
    },
    profile: { timeoutMs: 300 },
    exit: 2,
    message: /every answer timed out \(timeoutMs 300\)/,
  })),
  audit('bounded', 'JSON nested 100,000 deep is refused before parsing', () => ({
    service: (_req, res) => ok(res, `{"items":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    exit: 2,
    message: /every answer was malformed: JSON nested deeper than 64 levels/,
  })),
  audit('bounded', 'a list of 200,000 ids is refused', () => ({
    service: (_req, res) => ok(res, JSON.stringify({ items: new Array(200_000).fill(1) })),
    exit: 2,
    message: /every answer was malformed: a list of more than 10000 values/,
  })),
  audit('bounded', 'ids of the wrong type make the answer malformed', () => ({
    service: (_req, res) => ok(res, JSON.stringify({ items: [{ id: 3 }, { id: 7 }] })),
    exit: 2,
    message: /every answer was malformed: an id that is neither a number nor a string/,
  })),
  audit('bounded', 'empty lists are not evidence of absence', () => ({
    service: (_req, res) => ok(res, '{"items":[]}'),
    exit: 2,
    message: /None of the 4 probes was answered by shop: every answer was malformed: an empty list/,
  })),
  audit('bounded', 'lists of ids outside the catalogue are not evidence of absence', () => ({
    service: (_req, res) => ok(res, JSON.stringify({ items: [900, 901, 902] })),
    exit: 2,
    message: /every answer was malformed: a list of 3 ids, none in the catalogue/,
  })),
  audit('bounded', 'a body that is not UTF-8 is malformed, not a crash', () => ({
    service: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    },
    exit: 2,
    message: /every answer was malformed: not UTF-8 text/,
  })),
  audit(
    'bounded',
    'a secret holding CR/LF (header injection) is refused before any request',
    () => ({
      service: (_req, res) => ok(res),
      env: { RECMARK_SECRET_APITOKEN: `${SECRET}\r\nX-Injected: 1` },
      exit: 2,
      message:
        /The secret "apiToken" \(header Authorization\) holds a line break or another control character.*RECMARK_SECRET_APITOKEN/,
      check: (requests) => assert.equal(requests.length, 0),
    }),
  ),
  audit('bounded', 'a Retry-After storm stops at 10 timeouts of waiting in all', () => ({
    service: (_req, res) => {
      res.writeHead(429, { 'Retry-After': '1' });
      res.end();
    },
    profile: { timeoutMs: 200, retries: { max: 20, baseDelayMs: 1, maxDelayMs: 2 } },
    exit: 2,
    message:
      /shop kept asking RecMark to wait \(HTTP 429 with Retry-After\): 3 s in all, more than the 2 s one audit waits/,
    check: (requests) => assert.equal(requests.length, 3),
  })),
  audit('bounded', 'a one-hour Retry-After is refused at once, not waited for', () => ({
    service: (_req, res) => {
      res.writeHead(503, { 'Retry-After': '3600' });
      res.end();
    },
    profile: { retries: { max: 3 } },
    exit: 2,
    message: /kept asking RecMark to wait \(HTTP 503 with Retry-After\).*lower "rateLimit"/,
    check: (requests) => assert.equal(requests.length, 1),
  })),
  audit('bounded', 'a 3 MiB answer (under the default cap) is read', () => ({
    service: (_req, res) =>
      ok(res, JSON.stringify({ items: [3, 7, 11], padding: 'x'.repeat(3 * 1024 * 1024) })),
    exit: 0,
    message: answered,
  })),
  badNumber('timeoutMs', 1e12, /"timeoutMs" must be from 10 to 600000 \(per-request timeout/),
  badNumber(
    'numItems',
    1e12,
    /"numItems" is 1000000000000, more than the 10000000 items allowed; set RECMARK_MAX_ITEMS/,
  ),
  badNumber('rateLimit', -5, /"rateLimit" must be a positive number \(requests per second\)/),
  badNumber('maxResponseBytes', 2 ** 40, /"maxResponseBytes" must be from 1024 to 268435456/),
];

export const cases: CaseFactory[] = [...redirects, ...bounded];
