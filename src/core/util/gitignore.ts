/**
 * One line added to a folder's .gitignore, so exported key files stay out of commits. The file
 * is rewritten atomically (a crash never truncates the user's .gitignore), and a .gitignore
 * that is a symlink or not a regular file is left alone.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { writeFileAtomic } from './files';

/** The pattern that keeps RecMark key files out of a repository. */
export const KEY_FILE_PATTERN = '*.wmkey.json';

/** Adds `pattern` to `folder`/.gitignore unless a line already says it; true if it was added. */
export async function addGitignoreLine(folder: string, pattern: string): Promise<boolean> {
  const file = path.join(folder, '.gitignore');
  const stat = await fs.lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (stat && !stat.isFile())
    throw new RecMarkError(
      `${file} is not a regular file (a symlink or folder); add the line "${pattern}" yourself.`,
      'gitignore-unusual',
    );
  const text = stat ? await fs.readFile(file, 'utf8') : '';
  if (text.split(/\r?\n/).some((line) => line.trim() === pattern)) return false;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const sep = text === '' || text.endsWith('\n') ? '' : eol;
  const mode = stat ? stat.mode & 0o777 : undefined;
  await writeFileAtomic(file, `${text}${sep}${pattern}${eol}`, { replace: true, mode });
  return true;
}
