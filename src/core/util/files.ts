import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
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

/** A file written to its temp name and synced, waiting to be renamed into place. */
export interface PreparedFile {
  readonly file: string;
  readonly temp: string;
  /** Rename the temp file to the target (replacing it). On failure the temp file is removed. */
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
  options: { mode?: number } = {},
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
        await fs.rename(temp, file);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw writeFailure(err, file);
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
  options: { mode?: number } = {},
): Promise<void> {
  const prepared = await prepareFileAtomic(file, data, options);
  await prepared.commit();
}
