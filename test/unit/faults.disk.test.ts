/**
 * Real file-system faults (issue 8, part 3): a full disk (a 1 MiB tmpfs), a read-only mount, a
 * folder remounted read-only while an embed or attack runs, and a chmod 0555 folder. Each gives a
 * RecMarkError with a stable code (CLI: exit 2, one line naming the folder and the fix) and
 * leaves nothing in the folder; the original stays byte-identical.
 *
 * Mounting needs root; without it the mount cases are skipped (the same write path is covered by
 * the injected ENOSPC in files.faults.test.ts). Root ignores permission bits, so the chmod case
 * runs the CLI as the unprivileged user "nobody" when the tests run as root.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { noiseAttack } from '../../src/core/attack/perturb';
import { RecMarkError } from '../../src/core/errors';
import { embedGrew } from '../../src/core/watermark/grew';
import { fixture, ROOT, tempDir } from '../support/helpers';
import { cliNodeArgs } from '../support/cli';

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const mounted: string[] = [];
function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
  mounted.splice(mounted.indexOf(dir), 1);
}
after(() => [...mounted].forEach(unmount));
process.on('exit', () => {
  for (const dir of mounted) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // Nothing more to do on the way out.
    }
  }
});

/** A fresh tmpfs with mount options `options`, or null where mounting is not allowed. */
function tmpfs(options: string): string | null {
  if (!isRoot) return null;
  const dir = path.join(tempDir(), 'mnt');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'recmark-test', dir], { stdio: 'pipe' });
  } catch {
    return null;
  }
  mounted.push(dir);
  return dir;
}

const canMount = ((): boolean => {
  const probe = tmpfs('size=64k');
  if (!probe) return false;
  unmount(probe);
  return true;
})();
const needsMount = canMount ? false : 'mounting a tmpfs needs root (covered by injected faults)';

/** The original model in its own (writable, world-readable) folder. */
function original(): { model: string; hash: string } {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const model = path.join(dir, 'original.onnx');
  copyFileSync(fixture('sasrec_opset17.onnx'), model);
  chmodSync(model, 0o644);
  return { model, hash: sha(model) };
}

function cli(
  args: string[],
  options: { uid?: number; gid?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliNodeArgs(), ...args],
      { cwd: ROOT, ...options },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The one line the CLI prints for a user error (progress lines start with "…"). */
function errorLine(stderr: string): string {
  const lines = stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('… '));
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(lines[0], /\bat .*:\d+:\d+/, 'no stack trace');
  return lines[0];
}

test(
  'a full disk while embedding GREW: exit 2, one line naming the folder, nothing left',
  { skip: needsMount },
  async () => {
    const { model, hash } = original();
    const full = tmpfs('size=1m')!;
    // A served head: the write is the same for both modes, and this one gets there in seconds.
    const r = await cli([
      'embed',
      'grew',
      model,
      '--mode',
      'serve',
      '--out',
      path.join(full, 'marked.onnx'),
      '--key-out',
      path.join(full, 'marked.wmkey.json'),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /… Writing the watermarked model/, 'it failed while writing');
    const line = errorLine(r.stderr);
    assert.equal(
      line,
      `recmark: No space left to write marked.onnx in ${full}; free some space on that disk or choose another folder. Nothing was written.`,
    );
    assert.equal(r.stdout, '');
    // The key (10 KB) fitted and was written to its partial file first; it is gone with the model.
    assert.deepEqual(readdirSync(full), []);
    assert.equal(sha(model), hash);
  },
);

test(
  'a read-only mount: refused before any work, exit 2, nothing left',
  { skip: needsMount },
  async () => {
    const { model, hash } = original();
    const ro = tmpfs('size=8m,ro')!;
    for (const args of [
      [
        'embed',
        'aow',
        model,
        '--out',
        path.join(ro, 'm.onnx'),
        '--key-out',
        path.join(ro, 'k.json'),
      ],
      ['attack', 'noise', model, '--out', path.join(ro, 'noisy.onnx'), '--scale', '0.1'],
      [
        'verify',
        model,
        '--key',
        fixture('../unit/missing.json'),
        '--report-html',
        path.join(ro, 'r.html'),
      ],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /^… /m, 'no work was started');
      assert.match(
        errorLine(r.stderr),
        new RegExp(
          `^recmark: Cannot write \\S+: the folder ${ro} is on a read-only file system; choose a writable folder\\. Nothing was written\\.$`,
        ),
      );
    }
    assert.deepEqual(readdirSync(ro), []);
    assert.equal(sha(model), hash);
  },
);

test(
  'the folder turns read-only while a GREW embed and a noise attack run: clear error, nothing left',
  { skip: needsMount },
  async () => {
    const { model, hash } = original();
    const dir = tmpfs('size=16m')!;
    const remountReadOnly = (): void => {
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    };
    const expectReadOnly = (err: unknown): boolean => {
      assert.ok(err instanceof RecMarkError, String(err));
      assert.equal(err.code, 'folder-not-writable');
      assert.ok(err.message.includes(dir), err.message);
      return true;
    };
    await assert.rejects(
      embedGrew({
        model,
        out: path.join(dir, 'marked.onnx'),
        keyOut: path.join(dir, 'marked.wmkey.json'),
        mode: 'serve',
        progress: ({ message }) => {
          if (message.startsWith('Writing')) remountReadOnly();
        },
      }),
      expectReadOnly,
    );
    assert.deepEqual(readdirSync(dir), []);
    execFileSync('mount', ['-o', 'remount,rw', dir]);
    await assert.rejects(
      noiseAttack({
        model,
        out: path.join(dir, 'noisy.onnx'),
        scale: 0.1,
        progress: ({ message }) => {
          if (message.startsWith('Writing')) remountReadOnly();
        },
      }),
      expectReadOnly,
    );
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(sha(model), hash);
  },
);

test('a chmod 0555 folder: refused before any work, exit 2, the fix named', async (t) => {
  const { model, hash } = original();
  const parent = tempDir();
  chmodSync(parent, 0o755);
  const locked = path.join(parent, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  // Root writes anywhere: run as "nobody" to meet the permission bits a user would.
  const as = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
  if (isRoot && (await cli(['--version'], as)).code !== 0) {
    t.skip('user "nobody" cannot run the CLI from this checkout (its folders are not readable)');
    return;
  }
  const r = await cli(
    [
      'embed',
      'grew',
      model,
      '--mode',
      'serve',
      '--out',
      path.join(locked, 'm.onnx'),
      '--key-out',
      path.join(locked, 'k.wmkey.json'),
    ],
    as,
  );
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /^… /m, 'no work was started');
  assert.equal(
    errorLine(r.stderr),
    `recmark: Cannot write m.onnx: the folder ${locked} is not writable by you; choose a writable folder or change its permissions. Nothing was written.`,
  );
  assert.deepEqual(readdirSync(locked), []);
  assert.equal(sha(model), hash);
});
