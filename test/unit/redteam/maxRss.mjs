// Preloaded into red-team CLI runs: record the process's peak RSS (KiB) when it exits normally.
// A process killed by V8 (heap limit) or a signal never writes it, and the case fails.
import { writeFileSync } from 'node:fs';

const file = process.env.RECMARK_TEST_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
