/**
 * Atomic writes under faults (issue 8, part 3): what a SIGKILL between writing and renaming
 * leaves (a hidden, recognisable partial file that the next write removes), exact 0600 key
 * files, and a full disk injected at the file-system layer mid-write, in-process and through the
 * CLI's own error path (exit 2, one line naming the folder and the fix, nothing left behind).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RecMarkError } from '../../../../src/core/errors';
import {
  isPartialFileName,
  removeStalePartials,
  writeFailure,
  writeFileAtomic,
} from '../../../../src/core/util/files';
import { embedGrew } from '../../../../src/core/watermark/grew';
import { fillDiskWhileWriting } from './faults/fullDisk';
import { fixture, ROOT, tempDir } from '../../../support/helpers';
import { cliNodeArgs } from '../../../support/cli';

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const mode = (file: string): number => statSync(file).mode & 0o777;

/** Start the child that stops between write and rename; resolves once its partial is synced. */
function holdPartial(
  file: string,
  bytes: number,
  fileMode?: number,
): Promise<{ temp: string; kill: () => Promise<string | null> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, 'faults', 'holdPartial.ts'),
      file,
      String(bytes),
      ...(fileMode === undefined ? [] : [String(fileMode)]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      const { temp } = JSON.parse(out) as { temp: string };
      resolve({
        temp,
        kill: () => {
          child.kill('SIGKILL');
          return exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`child exited before writing: ${stderr}`)));
  });
}

test('SIGKILL between write and rename: the target is untouched, only a hidden partial is left, and the next write removes it', async () => {
  const dir = tempDir();
  const target = path.join(dir, 'model.onnx');
  writeFileSync(target, 'the previous model');
  const before = sha(target);

  const held = await holdPartial(target, 4 << 20);
  assert.equal(statSync(held.temp).size, 4 << 20, 'the partial file was fully written and synced');
  assert.equal(await held.kill(), 'SIGKILL');

  // What a user finds: the old target, byte-identical, and one dot-file marked as partial.
  assert.equal(sha(target), before);
  const left = readdirSync(dir).filter((n) => n !== 'model.onnx');
  assert.deepEqual(left, [path.basename(held.temp)]);
  assert.ok(left[0].startsWith('.model.onnx.recmark-'), left[0]);
  assert.ok(left[0].endsWith('.partial'), left[0]);
  assert.ok(isPartialFileName(left[0]));

  // The next RecMark write into that folder (any file) clears it.
  await writeFileAtomic(path.join(dir, 'report.json'), '{}\n');
  assert.deepEqual(readdirSync(dir).sort(), ['model.onnx', 'report.json']);
  assert.equal(sha(target), before);
});

test('a killed key-file write leaves a 0600 partial (never a world-readable secret), then nothing', async () => {
  const dir = tempDir();
  const key = path.join(dir, 'owner.wmkey.json');
  const held = await holdPartial(key, 4096, 0o600);
  await held.kill();
  assert.equal(mode(held.temp), 0o600);
  assert.deepEqual(await removeStalePartials(dir), [held.temp]);
  assert.deepEqual(readdirSync(dir), []);
});

test('only stale RecMark partial files are removed; live ones and look-alikes stay', async () => {
  const dir = tempDir();
  const hex = '0123456789ab';
  const live = `.out.onnx.recmark-${process.pid}-${hex}.partial`;
  const oldLive = `.old.onnx.recmark-${process.pid}-${hex}.partial`;
  // pid 2^22 + 1 is above Linux's pid_max ceiling, so certainly not a running process.
  const dead = `.out.onnx.recmark-${2 ** 22 + 1}-${hex}.partial`;
  const lookAlikes = [
    'out.onnx.partial',
    '.out.onnx.tmp',
    `.out.onnx.recmark-12-${hex}.partial.bak`,
    `out.onnx.recmark-${2 ** 22 + 1}-${hex}.partial`,
    'model.onnx',
  ];
  for (const name of [live, oldLive, dead, ...lookAlikes]) writeFileSync(path.join(dir, name), 'x');
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  utimesSync(path.join(dir, oldLive), twoDaysAgo, twoDaysAgo);

  const removed = (await removeStalePartials(dir)).map((f) => path.basename(f)).sort();
  assert.deepEqual(removed, [dead, oldLive].sort());
  assert.deepEqual(readdirSync(dir).sort(), [live, ...lookAlikes].sort());
  assert.deepEqual(await removeStalePartials(path.join(dir, 'missing')), []);
});

test('key files are exactly 0600, whatever the umask and whatever they replace', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'k.wmkey.json');
  writeFileSync(file, 'old', { mode: 0o644 });
  const previous = process.umask(0);
  try {
    await writeFileAtomic(file, '{"secret":"x"}\n', { mode: 0o600, replace: true });
  } finally {
    process.umask(previous);
  }
  assert.equal(mode(file), 0o600);
  assert.equal(readFileSync(file, 'utf8'), '{"secret":"x"}\n');
  assert.deepEqual(readdirSync(dir), ['k.wmkey.json']);
});

test('file-system failures become RecMarkErrors that name the folder and the fix', () => {
  const file = path.join('/data', 'models', 'out.onnx');
  const errno = (code: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: failure`), { code });
  const cases: [string, string, RegExp][] = [
    ['ENOSPC', 'disk-full', /No space left to write out\.onnx in \/data\/models; free some space/],
    ['EDQUOT', 'disk-full', /No space left/],
    [
      'EROFS',
      'folder-not-writable',
      /\/data\/models is on a read-only file system; choose a writable folder/,
    ],
    [
      'EACCES',
      'folder-not-writable',
      /\/data\/models is not writable by you; .*change its permissions/,
    ],
    ['EPERM', 'folder-not-writable', /not writable/],
    ['ENOENT', 'folder-missing', /\/data\/models does not exist/],
    ['EISDIR', 'output-is-folder', /is a folder/],
  ];
  for (const [code, expected, message] of cases) {
    const mapped = writeFailure(errno(code), file);
    assert.ok(mapped instanceof RecMarkError, code);
    assert.equal(mapped.code, expected, code);
    assert.match(mapped.message, message, code);
    assert.ok(!mapped.message.includes('\n'), 'one line');
  }
  const other = errno('EIO');
  assert.equal(writeFailure(other, file), other, 'anything else is not dressed up');
});

test('a disk that fills while the model is written: disk-full, no model, no key, no partials', async () => {
  const dir = tempDir();
  const model = path.join(dir, 'original.onnx');
  copyFileSync(fixture('sasrec_opset17.onnx'), model);
  const before = sha(model);
  const restore = fillDiskWhileWriting('marked.onnx');
  try {
    await assert.rejects(
      embedGrew({
        model,
        out: path.join(dir, 'marked.onnx'),
        keyOut: path.join(dir, 'marked.wmkey.json'),
        // The write is the same for both modes; a served head gets there in seconds.
        mode: 'serve',
      }),
      (err: unknown) => {
        assert.ok(err instanceof RecMarkError);
        assert.equal(err.code, 'disk-full');
        assert.ok(err.message.includes(dir), err.message);
        return true;
      },
    );
  } finally {
    restore();
  }
  // The key's partial had been written first; it went too.
  assert.deepEqual(readdirSync(dir), ['original.onnx']);
  assert.equal(sha(model), before);
});

test('the CLI reports a full disk as one line and exit 2, leaving nothing behind', async () => {
  const dir = tempDir();
  const model = path.join(dir, 'original.onnx');
  copyFileSync(fixture('sasrec_opset17.onnx'), model);
  const before = sha(model);
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        [
          ...cliNodeArgs([path.join(__dirname, 'faults', 'fullDisk.ts')]),
          ...['attack', 'prune', model, '--out', path.join(dir, 'pruned.onnx')],
          ...['--fraction', '0.5', '--json'],
        ],
        { cwd: ROOT, env: { ...process.env, RECMARK_TEST_FULL_DISK: 'pruned.onnx' } },
        (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
      );
    },
  );
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '', 'no JSON result for a failed run');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^recmark: No space left to write pruned\.onnx in .*; free some space/);
  assert.ok(lines[0].includes(dir), lines[0]);
  assert.doesNotMatch(lines[0], /\bat .*\.ts:\d+/, 'no stack trace');
  assert.deepEqual(readdirSync(dir), ['original.onnx']);
  assert.equal(sha(model), before);
});
