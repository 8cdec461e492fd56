/**
 * Child process for the fault tests: writes FILE's data to its partial file (synced, as an
 * atomic write does), reports the partial file's path, then waits to be killed before it can
 * rename it into place — the moment a SIGKILL or power cut is worst for an atomic write.
 */
import { prepareFileAtomic } from '../../../../../src/core/util/files';

async function run(): Promise<void> {
  const [file, bytes = '1048576', mode] = process.argv.slice(2);
  const data = new Uint8Array(Number(bytes)).fill(0x5a);
  const prepared = await prepareFileAtomic(file, data, mode ? { mode: Number(mode) } : {});
  process.stdout.write(`${JSON.stringify({ temp: prepared.temp, pid: process.pid })}\n`);
  // Hold the event loop open until killed.
  setInterval(() => undefined, 60_000);
}

void run();
