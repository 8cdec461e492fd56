/**
 * The red-team corpus harness (issue 15): one hostile case is one real CLI process, run the way a
 * user runs `recmark`, under a heap limit and a time limit. Every case asserts the same five
 * things: the exit code, one line on stderr that names the cause (no stack trace), nothing
 * written or clobbered (inputs byte-identical, outputs absent), no secret in any output (stdout,
 * stderr and every file left in the case's folders), and peak RSS under a stated bound.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ROOT, tempDir } from '../../support/helpers';
import { cliNodeArgs } from '../../support/cli';

/** The ten areas of issue 15; the corpus must cover every one. */
export const AREAS = [
  'secrets',
  'redirects',
  'bounded',
  'cache',
  'identifiers',
  'terminal',
  'outputs',
  'options',
  'resources',
  'evidence',
] as const;
export type Area = (typeof AREAS)[number];

export interface RedTeamCase {
  area: Area;
  name: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Expected exit code (2 = refused input, 1 = failed run, 0 = ran with a verdict). */
  exit: number;
  /** The first stderr line (exit ≠ 0) or a line of stdout (exit 0) must match. */
  message: RegExp;
  /** Files whose bytes must be the same after the run. */
  unchanged?: string[];
  /** Paths that must not exist after the run. */
  absent?: string[];
  /** Strings that must appear in no output: stdout, stderr, nor any file under `scan`. */
  secrets?: string[];
  /** Folders whose files are searched for `secrets` (key files, which hold them, excepted). */
  scan?: string[];
  /** Peak RSS bound in MiB (the V8 heap is capped a little below it). */
  rssMiB?: number;
  timeoutMs?: number;
  /** Stdout and stderr hold no raw control, bidi or separator character (newline and tab aside). */
  noControls?: boolean;
}

/** What `noControls` forbids: what core/util/terminalSafe escapes. */
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- the check looks for control characters
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

export interface RedTeamResult {
  code: number;
  stdout: string;
  stderr: string;
  rssMiB: number;
}

const DEFAULT_RSS_MIB = 768;

/** Run the case's CLI process and assert the five properties; returns what it saw. */
export async function runRedTeam(c: RedTeamCase): Promise<RedTeamResult> {
  const before = new Map((c.unchanged ?? []).map((f) => [f, readFileSync(f)]));
  const rssFile = path.join(tempDir('recmark-rss-'), 'rss');
  const rssBound = c.rssMiB ?? DEFAULT_RSS_MIB;
  const heap = Math.max(64, Math.floor(rssBound * 0.6));
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [
        `--max-old-space-size=${heap}`,
        ...cliNodeArgs([path.join(__dirname, 'maxRss.mjs')]),
        ...c.args,
      ],
      {
        cwd: c.cwd ?? ROOT,
        env: { ...process.env, ...c.env, RECMARK_TEST_RSS_FILE: rssFile, NO_COLOR: '1' },
        timeout: c.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
  const label = `[${c.area}] ${c.name}`;
  const shown = `\n--- stdout\n${run.stdout.slice(0, 2000)}\n--- stderr\n${run.stderr.slice(0, 2000)}`;
  assert.equal(run.code, c.exit, `${label}: exit code${shown}`);
  if (c.exit !== 0) {
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${label}: one line on stderr${shown}`);
    assert.match(lines[0], c.message, `${label}: the message names the cause${shown}`);
    assert.doesNotMatch(run.stderr, /\n\s+at |node:internal/, `${label}: no stack trace`);
  } else {
    assert.match(run.stdout, c.message, `${label}: the output says why${shown}`);
  }
  if (c.noControls) {
    assert.doesNotMatch(run.stdout, RAW_CONTROL, `${label}: a raw control on stdout${shown}`);
    assert.doesNotMatch(run.stderr, RAW_CONTROL, `${label}: a raw control on stderr${shown}`);
  }
  for (const [file, bytes] of before)
    assert.ok(readFileSync(file).equals(bytes), `${label}: ${path.basename(file)} was changed`);
  for (const p of c.absent ?? []) assert.ok(!existsSync(p), `${label}: ${p} was written`);
  for (const secret of c.secrets ?? []) {
    assert.ok(!run.stdout.includes(secret), `${label}: a secret on stdout`);
    assert.ok(!run.stderr.includes(secret), `${label}: a secret on stderr`);
    for (const dir of c.scan ?? [])
      for (const file of filesUnder(dir)) {
        if (file.endsWith('.wmkey.json')) continue;
        assert.ok(
          !readFileSync(file).includes(secret),
          `${label}: a secret in ${path.relative(dir, file)}`,
        );
      }
  }
  assert.ok(existsSync(rssFile), `${label}: the process did not exit normally${shown}`);
  const rssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  assert.ok(rssMiB < rssBound, `${label}: peak RSS ${rssMiB.toFixed(0)} MiB ≥ ${rssBound} MiB`);
  return { ...run, rssMiB };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) out.push(...filesUnder(p));
    else if (s.isFile()) out.push(p);
  }
  return out;
}

/** A case as an area file declares it: `make` builds its inputs in a fresh folder. */
export interface CaseFactory {
  area: Area;
  name: string;
  make: (dir: string) => Promise<Omit<RedTeamCase, 'area' | 'name'> & Cleanup>;
}

interface Cleanup {
  /** Stops what `make` started (a server). */
  cleanup?: () => Promise<void>;
}

/** A hostile HTTP service on 127.0.0.1 (never another interface); `close` ends it. */
export async function hostileServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{
  url: string;
  origin: string;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/recommend`,
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
