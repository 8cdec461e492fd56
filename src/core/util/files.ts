import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { RecMarkError } from '../errors';

/** sha256 of a file, streamed so large checkpoints do not sit in memory twice. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Outputs are first written to a temp file next to the target, named
 * `.<target name>.recmark-<pid>-<12 hex>.partial`: hidden, marked as RecMark's and as incomplete,
 * so nobody mistakes it for an output. Only a process killed outright (SIGKILL, power loss)
 * between writing and renaming leaves one behind; the next RecMark write into the same folder
 * removes every such file whose process is gone (or that is older than a day).
 */
const PARTIAL = /^\..+\.recmark-(\d+)-[0-9a-f]{12}\.partial$/;
const STALE_MS = 24 * 60 * 60 * 1000;

export function isPartialFileName(name: string): boolean {
  return PARTIAL.test(name);
}

function partialName(file: string): string {
  const hex = randomBytes(6).toString('hex');
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.recmark-${process.pid}-${hex}.partial`,
  );
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the partial files a killed RecMark run left in `dir`. Never fails: a folder that cannot
 * be read or written is reported by the write that follows, with a clear message.
 */
export async function removeStalePartials(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = PARTIAL.exec(name);
    if (!match) continue;
    const file = path.join(dir, name);
    try {
      const stat = await fs.lstat(file);
      if (!stat.isFile()) continue;
      if (processAlive(Number(match[1])) && Date.now() - stat.mtimeMs < STALE_MS) continue;
      await fs.rm(file, { force: true });
      removed.push(file);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

/**
 * A file-system failure while writing `file`, as the error a user can act on: a full disk or a
 * folder that cannot be written names the folder and the fix. Other errors pass through.
 */
export function writeFailure(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const dir = path.dirname(path.resolve(file));
  const name = path.basename(file);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new RecMarkError(
      `No space left to write ${name} in ${dir}; free some space on that disk or choose another folder. Nothing was written.`,
      'disk-full',
    );
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable by you';
    return new RecMarkError(
      `Cannot write ${name}: the folder ${dir} ${why}; choose a writable folder${code === 'EROFS' ? '' : ' or change its permissions'}. Nothing was written.`,
      'folder-not-writable',
    );
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new RecMarkError(
      `Cannot write ${name}: the folder ${dir} does not exist; create it or choose another folder.`,
      'folder-missing',
    );
  }
  if (code === 'EISDIR') {
    return new RecMarkError(
      `Cannot write ${path.resolve(file)}: it is a folder; choose a file name.`,
      'output-is-folder',
    );
  }
  return err;
}

/**
 * Check, before a long operation, that `file` could be created: the folder exists and accepts a
 * new file (a real probe file, so read-only mounts, permissions and ACLs all count, even for
 * root). Also clears partial files a killed run left there.
 */
export async function assertWritableFolder(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await removeStalePartials(dir);
  const probe = partialName(file);
  try {
    const handle = await fs.open(probe, 'wx', 0o600);
    await handle.close();
  } catch (err) {
    throw writeFailure(err, file);
  }
  await fs.rm(probe, { force: true });
}

export interface WriteOptions {
  mode?: number;
  /** Replace an existing target; default: only if `allowReplace` was called for it. */
  replace?: boolean;
}

/**
 * Targets the user agreed to replace: `--force` on the command line, or a save dialog that
 * asked before overwriting. Every other output is created, never replaced, so a file that
 * appears while a long run works is kept.
 */
const replaceable = new Set<string>();

export function allowReplace(file: string): void {
  replaceable.add(path.resolve(file));
}

/** File systems without hard links (FAT, some network mounts) answer link() with these. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/**
 * rename() replaces silently; link() fails with EEXIST when the target exists, so link the temp
 * file to the target and drop the temp name. Without hard links: check, then rename (a window
 * of microseconds instead of the whole run).
 */
async function moveNoReplace(temp: string, file: string): Promise<void> {
  try {
    await fs.link(temp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw appeared(file);
    if (!NO_LINKS.has(code)) throw err;
    if ((await lstatOrNull(file)) !== null) throw appeared(file);
    await fs.rename(temp, file);
    return;
  }
  await fs.rm(temp, { force: true });
}

function appeared(file: string): RecMarkError {
  return new RecMarkError(
    `${path.resolve(file)} appeared while RecMark was working and was left as it is; choose another output or pass --force to replace it.`,
    'output-exists',
  );
}

/** A file written to its temp name and synced, waiting to be renamed into place. */
export interface PreparedFile {
  readonly file: string;
  readonly temp: string;
  /**
   * Move the temp file to the target. The target is replaced only if the user agreed to that
   * (`replace`, or `allowReplace`); otherwise a file that appeared there meanwhile is kept and
   * the write fails with "output-exists". On failure the temp file is removed.
   */
  commit(): Promise<void>;
  /** Remove the temp file; the target is untouched. */
  discard(): Promise<void>;
}

/**
 * First half of an atomic write: the data goes to a partial file in the target's folder and is
 * fsynced; nothing a user would call an output exists until `commit`.
 */
export async function prepareFileAtomic(
  file: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): Promise<PreparedFile> {
  await removeStalePartials(path.dirname(path.resolve(file)));
  const temp = partialName(file);
  const mode = options.mode ?? 0o644;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(temp, 'wx', mode);
  } catch (err) {
    throw writeFailure(err, file);
  }
  try {
    // The umask may only have taken bits away; make the mode exact (key files must be 0600).
    if (options.mode !== undefined) await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw writeFailure(err, file);
  }
  return {
    file,
    temp,
    async commit() {
      try {
        if (options.replace ?? replaceable.has(path.resolve(file))) await fs.rename(temp, file);
        else await moveNoReplace(temp, file);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw err instanceof RecMarkError ? err : writeFailure(err, file);
      }
    },
    async discard() {
      await fs.rm(temp, { force: true });
    },
  };
}

/**
 * Write a file atomically: a partial file in the same folder, fsync, then rename, so a crash or
 * cancel never leaves a half-written output and never touches an existing file until the end.
 * A full disk or an unwritable folder is a RecMarkError ("disk-full", "folder-not-writable").
 */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): Promise<void> {
  const prepared = await prepareFileAtomic(file, data, options);
  await prepared.commit();
}

/** What a path that is not a regular file is, in a user's words. */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface OutputPathOptions {
  /** How the user named the output, for messages ("--out", "--report-html"). */
  flag: string;
  /** Files the run reads; the output may be none of them, under any name or link. */
  inputs: readonly string[];
  /** Replace an existing file (--force). */
  force: boolean;
}

/**
 * Check an output path before any work starts: never an input (same path, symlink or hard
 * link: same device and inode), never a folder, an existing file only with --force, and a
 * folder that exists and takes a new file. With force, the final write may replace the file.
 */
export async function checkOutputPath(file: string, options: OutputPathOptions): Promise<void> {
  const abs = path.resolve(file);
  const { flag } = options;
  const target = await statOrNull(abs);
  for (const input of options.inputs) {
    const same =
      path.resolve(input) === abs || (target !== null && sameFile(target, await statOrNull(input)));
    if (same)
      throw new RecMarkError(
        `${flag} ${file} is the input ${input}; RecMark never writes over its inputs, choose a new path.`,
        'output-is-input',
      );
  }
  if (target?.isDirectory())
    throw new RecMarkError(`${flag} ${file} is a folder; name a file in it.`, 'output-is-folder');
  const exists = target !== null || (await lstatOrNull(abs)) !== null;
  if (exists && !options.force)
    throw new RecMarkError(
      `${flag} ${file} already exists; pass --force to replace it, or choose a new path.`,
      'output-exists',
    );
  const dir = path.dirname(abs);
  const folder = await statOrNull(dir);
  if (!folder?.isDirectory())
    throw new RecMarkError(
      `${flag} ${file}: the folder ${dir} does not exist; create it or choose another folder.`,
      'folder-missing',
    );
  // Fail now, not after minutes of work, if the folder cannot take a new file.
  await assertWritableFolder(abs);
  if (options.force) allowReplace(abs);
}

function sameFile(a: Stats, b: Stats | null): boolean {
  return b !== null && a.dev === b.dev && a.ino === b.ino;
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.stat(file);
  } catch {
    return null;
  }
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch {
    return null;
  }
}

export interface InputFileOptions {
  /** What the file is, for messages: "Model file", "Key file". */
  what: string;
  /** Error code for a path that is not a regular file or is too large. */
  code: string;
  maxBytes: number;
  /** The error for a file above maxBytes (it names the limit and how to raise it). */
  tooLarge: (bytes: number) => RecMarkError;
}

/**
 * Open an input for reading, refusing anything that is not a regular file before a byte is read:
 * /dev/zero never ends, a FIFO blocks forever, a folder is a mistake. O_NONBLOCK keeps the open
 * itself from waiting for a FIFO's writer. Errors from open (ENOENT, EACCES) are thrown as they
 * are, for the caller to word.
 */
export async function openInputFile(
  file: string,
  options: Pick<InputFileOptions, 'what' | 'code'>,
): Promise<{ handle: fs.FileHandle; size: number }> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new RecMarkError(
        `${options.what} ${file} is ${kindOf(stat)}; pass a regular file.`,
        options.code,
      );
    return { handle, size: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Read a whole input, at most `maxBytes`: the size is checked before reading, and the read
 * itself stops one byte past the limit, so a file that grows while it is read cannot exceed it.
 */
export async function readInputFile(file: string, options: InputFileOptions): Promise<Buffer> {
  const { handle, size } = await openInputFile(file, options);
  try {
    if (size > options.maxBytes) throw options.tooLarge(size);
    let buf = Buffer.alloc(Math.min(size, options.maxBytes) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        // Only a file that grew since fstat gets here; grow with it, up to one byte past the limit.
        if (total > options.maxBytes) throw options.tooLarge(total);
        const bigger = Buffer.alloc(Math.min(options.maxBytes + 1, 2 * buf.length));
        buf.copy(bigger);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return buf.subarray(0, total);
  } finally {
    await handle.close();
  }
}

/**
 * Where JSON.parse failed, as " at line L, column C". V8's own message quotes the text around
 * the fault, which for a mistyped path may be any file's secret; this says where, never what.
 */
export function jsonFaultWhere(err: unknown, text: string): string {
  const at = /at position (\d+)/.exec((err as Error | null)?.message ?? '');
  if (!at) return '';
  const before = text.slice(0, Number(at[1])).split('\n');
  return ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}
