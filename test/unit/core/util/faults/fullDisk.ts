/**
 * A disk that fills up mid-write, injected at the file-system layer: every handle opened on a
 * partial file of the output named `victim` accepts half the data, then fails with ENOSPC, as a
 * full disk does. Used in-process by the fault tests, and as a preload for a CLI child
 * (`node --import tsx --import .../fullDisk.ts src/cli/main.ts ...` with RECMARK_TEST_FULL_DISK=name).
 */
import * as nodeFs from 'node:fs';
import * as path from 'node:path';

export function fillDiskWhileWriting(victim: string): () => void {
  const promises = nodeFs.promises;
  const open = promises.open;
  promises.open = async function (...args: Parameters<typeof open>) {
    const handle = await open.apply(promises, args);
    const name = path.basename(String(args[0]));
    if (!name.startsWith(`.${victim}.recmark-`)) return handle;
    const write = handle.writeFile.bind(handle);
    handle.writeFile = async (data: Parameters<typeof write>[0]) => {
      const bytes = typeof data === 'string' ? Buffer.from(data) : (data as Uint8Array);
      await write(bytes.subarray(0, bytes.length >> 1));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
    };
    return handle;
  } as typeof open;
  return () => {
    promises.open = open;
  };
}

const victim = process.env.RECMARK_TEST_FULL_DISK;
if (victim) fillDiskWhileWriting(victim);
