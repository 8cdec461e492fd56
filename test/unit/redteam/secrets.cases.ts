/**
 * Red-team cases for issue 15's areas "secrets", "cache" and "identifiers": a hostile profile
 * that routes a secret into a URL or body, a secret hunted through every output, a cache edited
 * to forge PRESENT (changed ranks and ids, swapped lines, lines from another key's cache,
 * duplicate and out-of-range ids under a valid MAC, a truncated MAC, an old unauthenticated
 * line), and key ids hunted for the key material they must not carry.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cacheTrust, entryMac, type CachedAnswer } from '../../../src/core/endpoint/cache';
import { verifyEndpoint } from '../../../src/core/endpoint/verify';
import {
  greenFromClusters,
  keyIdOf,
  NOT_AN_ITEM,
  type GrewKey,
  type WatermarkKey,
} from '../../../src/core/watermark/key';
import { keyFileText } from '../../../src/core/watermark/keyFile';
import { keyFromJson } from '../../../src/core/watermark/keyJson';
import { hostileServer, type CaseFactory } from './harness';

const N = 200;
const TOKEN = 'sk-live-9f3c2e71b8d04a65';
const SEQUENCE = [137, 59, 181, 23, 98, 154];
/** Every way the AOW sequence could be printed. */
const SEQUENCE_FORMS = [
  SEQUENCE.join(','),
  SEQUENCE.join(', '),
  SEQUENCE.join('-'),
  SEQUENCE.join(' '),
  `seq-${SEQUENCE.join('-')}`,
];
const CLEAN = /^(ABSENT|INCONCLUSIVE) /m;
const REJECTED = /failed their integrity check/;

/** A permutation of 1..N fixed by the request (a service that knows no watermark). */
function cleanRanking(body: string): number[] {
  const score = (id: number) =>
    createHash('sha256').update(`${body}/${id}`).digest().readUInt32BE(0);
  return Array.from({ length: N }, (_, i) => i + 1).sort((a, b) => score(a) - score(b));
}

/** Answers every request with a clean ranking; counts what it got. */
const cleanServer = () =>
  hostileServer((_req, res, body) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: cleanRanking(body) }));
  });

function writeProfile(dir: string, url: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'svc.recmark-endpoint.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'svc',
      url,
      method: 'POST',
      headers: { Authorization: 'Bearer ${secret:apiToken}' },
      request: { items: '${items}' },
      response: { items: '$.items' },
      numItems: N,
      rateLimit: 5000,
      concurrency: 4,
      budget: 2000,
      ...extra,
    }),
  );
  return file;
}

/** A key file: a key RecMark made (with `version`), or raw JSON as a hostile file holds it. */
function writeKey(dir: string, name: string, key: WatermarkKey | Record<string, unknown>): string {
  const file = path.join(dir, `${name}.wmkey.json`);
  writeFileSync(file, 'version' in key ? keyFileText(key as WatermarkKey) : JSON.stringify(key));
  return file;
}

/** A GREW key over ids 1..N (id 0 is padding), its green split derived from `fill`. */
function grewKey(fill: number): GrewKey {
  const secret = Buffer.alloc(32, fill);
  const clusters = new Uint16Array(N + 1).map((_, id) => (id === 0 ? NOT_AN_ITEM : id % 4));
  const green = greenFromClusters(clusters, secret, 0.5);
  return {
    scheme: 'grew',
    version: 1,
    keyId: keyIdOf(secret),
    gamma: 0.5,
    delta: 2,
    kc: 4,
    protectHead: 0,
    topK: 10,
    scoreWidth: N + 1,
    numItems: N,
    numClusters: 4,
    clusters,
    green,
    secret,
  };
}

const minimalAow = (): WatermarkKey => keyFromJson({ scheme: 'aow', sequence: SEQUENCE });
const env = { RECMARK_SECRET_APITOKEN: TOKEN };
const grewArgs = ['--probes', '20', '--null-keys', '50'];

/** The one cache file under `cacheDir` and its parsed lines. */
function cacheLines(cacheDir: string): { file: string; lines: Record<string, unknown>[] } {
  const names = readdirSync(cacheDir).filter((n) => n.endsWith('.jsonl'));
  assert.equal(names.length, 1, `one cache file in ${cacheDir}`);
  const file = path.join(cacheDir, names[0]);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { file, lines };
}

const writeLines = (file: string, lines: unknown[]): void =>
  writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));

/**
 * A cache case: an honest audit against a clean service fills the cache, `edit` forges it, and
 * the CLI re-runs against the clean service: the edit is rejected, the probes asked again, and
 * the verdict is the clean one.
 */
function cacheCase(
  name: string,
  key: (dir: string) => WatermarkKey,
  edit: (file: string, lines: Record<string, unknown>[], key: WatermarkKey, dir: string) => void,
): CaseFactory {
  return {
    area: 'cache',
    name,
    make: async (dir) => {
      const server = await cleanServer();
      const profile = writeProfile(dir, server.url);
      const k = key(dir);
      const keyFile = writeKey(dir, 'owner', k);
      const cacheDir = path.join(dir, 'cache');
      const extra = k.scheme === 'grew' ? { probes: 20, nullKeys: 50 } : {};
      await verifyEndpoint({ profile, key: k, cacheDir, secrets: () => TOKEN, ...extra });
      const { file, lines } = cacheLines(cacheDir);
      edit(file, lines, k, dir);
      const honest = server.requests.length;
      return {
        args: ['verify', '--endpoint', profile, '--key', keyFile, '--cache', cacheDir].concat(
          k.scheme === 'grew' ? grewArgs : [],
        ),
        env,
        exit: 0,
        message: new RegExp(`${CLEAN.source}[\\s\\S]*${REJECTED.source}`, 'm'),
        secrets: [TOKEN],
        scan: [dir],
        cleanup: async () => {
          await server.close();
          assert.ok(server.requests.length >= 2 * honest, 'every probe was asked again');
          assert.ok(existsSync(`${file}.rejected`), 'the forged file was set aside');
        },
      };
    },
  };
}

/** Forge every AOW rank to 1 (the watermark's signature), keeping the MACs. */
const ranksToOne = (file: string, lines: Record<string, unknown>[]): void =>
  writeLines(
    file,
    lines.map((l) => ({ ...l, a: { rank: 1, censored: false } })),
  );

/** Re-sign a line as a key holder would (the validator, not the MAC, must refuse it). */
function signed(k: WatermarkKey, line: Record<string, unknown>, a: CachedAnswer) {
  const trust = cacheTrust(
    k,
    Int32Array.from({ length: N }, (_, i) => i + 1),
  );
  return { ...line, a, m: entryMac(trust.macKey, line.k as string, a) };
}

const secretCases: CaseFactory[] = (
  [
    ['the URL path', { url: 'http://127.0.0.1:9/${secret:apiToken}/rec' }],
    ['the URL query', { url: 'http://127.0.0.1:9/rec?token=${secret:apiToken}' }],
    ['the request body', { request: { items: '${items}', token: '${secret:apiToken}' } }],
  ] as const
).map(([where, extra]) => ({
  area: 'secrets' as const,
  name: `a profile naming a secret in ${where} is refused before anything is sent`,
  make: async (dir: string) => {
    const profile = writeProfile(dir, 'http://127.0.0.1:9/rec', extra);
    const keyFile = writeKey(dir, 'k', grewKey(1));
    return {
      args: [
        'verify',
        '--endpoint',
        profile,
        '--key',
        keyFile,
        '--cache',
        path.join(dir, 'c'),
        '--json',
      ],
      env,
      exit: 2,
      message: /may not use \$\{secret:apiToken\}: secrets go in "headers" only/,
      unchanged: [profile, keyFile],
      absent: [path.join(dir, 'c')],
      secrets: [TOKEN],
    };
  },
}));

/** An honest audit with the token: it reaches the service, and no output carries it. */
function tokenNeverShown(
  name: string,
  args: (dir: string) => string[],
  message: RegExp,
): CaseFactory {
  return {
    area: 'secrets',
    name,
    make: async (dir) => {
      const server = await cleanServer();
      const profile = writeProfile(dir, server.url);
      const keyFile = writeKey(dir, 'k', grewKey(2));
      return {
        args: [
          'verify',
          '--endpoint',
          profile,
          '--key',
          keyFile,
          '--cache',
          path.join(dir, 'cache'),
        ].concat(grewArgs, args(dir)),
        env,
        exit: 0,
        message,
        secrets: [TOKEN, Buffer.from(TOKEN).toString('base64')],
        scan: [dir],
        cleanup: async () => {
          await server.close();
          assert.ok(server.requests.length > 0);
          for (const r of server.requests) {
            assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, 'the header carries it');
            assert.ok(!r.url.includes(TOKEN) && !r.body.includes(TOKEN), 'never URL or body');
          }
        },
      };
    },
  };
}

secretCases.push(
  tokenNeverShown(
    'the token reaches the service in its header only, never stdout or the cache',
    () => [],
    CLEAN,
  ),
  tokenNeverShown(
    'the token is in no field of --json',
    () => ['--json'],
    /"verdict":"(absent|inconclusive)"/,
  ),
  tokenNeverShown(
    'the token is in no HTML report',
    (dir) => ['--report-html', path.join(dir, 'report.html')],
    CLEAN,
  ),
  {
    area: 'secrets',
    name: 'a missing secret is an error naming the variable, and nothing is sent',
    make: async (dir) => {
      const server = await cleanServer();
      const profile = writeProfile(dir, server.url);
      const keyFile = writeKey(dir, 'k', grewKey(3));
      return {
        args: ['verify', '--endpoint', profile, '--key', keyFile, '--no-cache', '--json'],
        env: { RECMARK_SECRET_APITOKEN: '' },
        exit: 2,
        message: /needs the secret "apiToken".*RECMARK_SECRET_APITOKEN/,
        cleanup: async () => {
          await server.close();
          assert.equal(server.requests.length, 0);
        },
      };
    },
  },
  {
    area: 'secrets',
    name: 'a credential written into a header is refused without echoing it',
    make: async (dir) => {
      const profile = writeProfile(dir, 'http://127.0.0.1:9/rec', {
        headers: { 'X-Api-Key': TOKEN },
      });
      const keyFile = writeKey(dir, 'k', grewKey(4));
      return {
        args: ['verify', '--endpoint', profile, '--key', keyFile, '--no-cache', '--json'],
        exit: 2,
        message: /headers\.X-Api-Key" looks like a credential/,
        secrets: [TOKEN],
        unchanged: [profile],
      };
    },
  },
);

const cacheCases: CaseFactory[] = [
  cacheCase(
    'AOW ranks edited to 1 (forging PRESENT) are rejected and asked again',
    minimalAow,
    ranksToOne,
  ),
  cacheCase(
    'GREW ranked ids replaced by green items are rejected and asked again',
    () => grewKey(5),
    (file, lines, k) => {
      const green = [...(k as GrewKey).green.keys()].filter((id) => (k as GrewKey).green[id]);
      writeLines(
        file,
        lines.map((l) => ({
          ...l,
          a: { ids: green.slice(0, (l.a as { ids: number[] }).ids.length), complete: false },
        })),
      );
    },
  ),
  cacheCase('answers swapped between entries are rejected', minimalAow, (file, lines) => {
    const answersOf = lines.map((l) => l.a).reverse();
    writeLines(
      file,
      lines.map((l, i) => ({ ...l, a: answersOf[i] })),
    );
  }),
  cacheCase("lines from another key's cache are rejected", minimalAow, (file, lines) => {
    // The thief's own key signs ranks of 1 for the owner's entry keys.
    const thief = keyFromJson({ scheme: 'aow', sequence: [1, 2, 3, 4, 5, 6] });
    writeLines(
      file,
      lines.map((l) => signed(thief, l, { rank: 1, censored: false })),
    );
  }),
  cacheCase(
    'duplicate ids under a valid MAC are rejected',
    () => grewKey(6),
    (file, lines, k) => {
      const ids = (lines[0].a as { ids: number[] }).ids;
      writeLines(file, [
        signed(k, lines[0], { ids: [ids[0], ...ids], complete: false }),
        ...lines.slice(1),
      ]);
    },
  ),
  cacheCase(
    'an id outside the catalogue under a valid MAC is rejected',
    () => grewKey(7),
    (file, lines, k) => {
      writeLines(file, [
        signed(k, lines[0], { ids: [N + 50, 1, 2], complete: false }),
        ...lines.slice(1),
      ]);
    },
  ),
  cacheCase(
    'a rank outside 1..numItems under a valid MAC is rejected',
    minimalAow,
    (file, lines, k) => {
      writeLines(file, [signed(k, lines[0], { rank: 0, censored: false }), ...lines.slice(1)]);
    },
  ),
  cacheCase('a truncated MAC is rejected', minimalAow, (file, lines) => {
    writeLines(
      file,
      lines.map((l) => ({ ...l, m: String(l.m).slice(0, 32), a: { rank: 1, censored: false } })),
    );
  }),
  cacheCase('an old unauthenticated line (no MAC) is rejected', minimalAow, (file, lines) => {
    writeLines(file, [...lines, { k: lines[0].k, a: { rank: 1, censored: false } }]);
  }),
];

/** Every 8-hex run of a secret: none may appear in an output. */
const hexRuns = (secret: Buffer): string[] => {
  const hex = secret.toString('hex');
  return Array.from({ length: hex.length - 7 }, (_, i) => hex.slice(i, i + 8));
};

function identifierCase(
  name: string,
  key: (dir: string) => { file: string; hidden: string[] },
  extra: (dir: string) => string[],
  message: RegExp,
): CaseFactory {
  return {
    area: 'identifiers',
    name,
    make: async (dir) => {
      const server = await cleanServer();
      const profile = writeProfile(dir, server.url);
      const { file, hidden } = key(dir);
      const grew = readFileSync(file, 'utf8').includes('"grew"');
      return {
        args: [
          'verify',
          '--endpoint',
          profile,
          '--key',
          file,
          '--cache',
          path.join(dir, 'cache'),
        ].concat(grew ? grewArgs : [], extra(dir)),
        env,
        exit: 0,
        message,
        secrets: hidden,
        scan: [dir],
        cleanup: () => server.close(),
      };
    },
  };
}

const minimalFile = (dir: string, extra: Record<string, unknown> = {}) => ({
  file: writeKey(dir, 'minimal', { scheme: 'aow', sequence: SEQUENCE, ...extra }),
  hidden: SEQUENCE_FORMS,
});
const KEY_ID_LINE = /^key id [0-9a-f]{16}$/m;

const identifierCases: CaseFactory[] = [
  identifierCase(
    'a minimal AOW key: its sequence is not on stdout, its id one-way',
    minimalFile,
    () => [],
    KEY_ID_LINE,
  ),
  identifierCase(
    'a minimal AOW key: its sequence is in no --json field',
    minimalFile,
    () => ['--json'],
    /"keyId":"[0-9a-f]{16}"/,
  ),
  identifierCase(
    'a minimal AOW key: its sequence is not in the HTML report nor the cache',
    minimalFile,
    (dir) => ['--report-html', path.join(dir, 'report.html')],
    KEY_ID_LINE,
  ),
  identifierCase(
    'an old seq-<ids> key id is replaced by a one-way id on load',
    (dir) => minimalFile(dir, { keyId: `seq-${SEQUENCE.join('-')}` }),
    () => [],
    KEY_ID_LINE,
  ),
  identifierCase(
    "a key id copied from the secret's hex is replaced by the secret's one-way id",
    (dir) => {
      const key = grewKey(8);
      const hex = Buffer.from(key.secret!).toString('hex');
      const json = JSON.parse(keyFileText(key)) as Record<string, unknown>;
      writeFileSync(
        path.join(dir, 'leaky.wmkey.json'),
        JSON.stringify({ ...json, keyId: hex.slice(8, 24) }),
      );
      return {
        file: path.join(dir, 'leaky.wmkey.json'),
        hidden: hexRuns(Buffer.from(key.secret!)),
      };
    },
    () => [],
    new RegExp(`^key id ${keyIdOf(Buffer.alloc(32, 8))}$`, 'm'),
  ),
  identifierCase(
    'a GREW key: no 8-hex run of its secret in any output',
    (dir) => ({ file: writeKey(dir, 'g', grewKey(9)), hidden: hexRuns(Buffer.alloc(32, 9)) }),
    (dir) => ['--json', '--report-html', path.join(dir, 'r.html')],
    /"keyId":"[0-9a-f]{16}"/,
  ),
  identifierCase(
    'an AOW key with a secret: the id is its one-way id, the sequence nowhere',
    (dir) => {
      const secret = Buffer.alloc(32, 10);
      writeKey(dir, 'a', { scheme: 'aow', sequence: SEQUENCE, secret: secret.toString('hex') });
      return {
        file: path.join(dir, 'a.wmkey.json'),
        hidden: [...SEQUENCE_FORMS, ...hexRuns(secret)],
      };
    },
    (dir) => ['--report-html', path.join(dir, 'r.html')],
    new RegExp(`^key id ${keyIdOf(Buffer.alloc(32, 10))}$`, 'm'),
  ),
];

export const cases: CaseFactory[] = [...secretCases, ...cacheCases, ...identifierCases];
